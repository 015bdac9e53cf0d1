"""The in-sandbox half of code execution: runs one model-written program on a problem's test inputs.

The host (tasks/code/runner.ts) writes JSON lines on stdin and reads JSON lines back; expected outputs never come
here, the host compares. First the request:
  {"mode": "stdin"|"functional", "code": str, "func_name"?: str, "tests": int, "output_cap": int,
   "line_cap": int, "test_seconds": number, "limits": {"memory", "cpu", "processes", "file", "files"}}
then, one at a time, each test's input as a JSON string: the host sends test i's once it has test i - 1's result
(or the "loaded" line), and times the test itself from then to the result line, so that a program that stops this
process's clock or delays its lines gains no time. Lines back (each flushed at once):
  {"ready": true}                                               the driver stands, the program loads next: what
                                                                ends the sandbox before this line is no verdict
  {"compile": "syntax_error"|"runtime_error"|"timeout", "error": str}  the program did not load; nothing follows
  {"loaded": true}                                              the program loaded: the host sends input 0
  {"start": i}                                                  test i's input was read, the test begins
  {"i": i, "status": "ok"|"runtime_error"|"memory"|"output_limit"|"timeout", "out": str, "error"?: str}
  {"fatal": str}                                                a fault of the driver itself

Semantics follow LiveCodeBench's lcb_runner/evaluation/testing_util.py (grade_stdio, grade_call_based): the same
import prelude; stdin programs have a final `if __name__ == '__main__':` unwrapped and every top-level statement
but imports moved into one function called once per test, SystemExit being no error; functional programs are loaded
as a module and `Solution().<func_name>` (or the module's function) is called with one JSON argument per input
line, a tuple result counting as a list. Each test, and the load before them, is timed by this process's own clock,
as LiveCodeBench's alarm does (ITIMER_REAL, test_seconds), and by the host's (which the program cannot reach: it
decides where the two differ, and stops a program that blocks the alarm). Departure: a test or load that ran past
its time is a timeout even when the program swallowed the alarm's exception (a bare `except:`) or disarmed it and
then returned, as a judge's verdict would be (LiveCodeBench takes the output). Ints convert to and from text up to 50000 digits, the cap LiveCodeBench's evaluation sets. Its
mocked stdin is followed, as it is since its commit 16de2a1 of 2025-05-23 (MockStdinWithBuffer; before it a plain
StringIO whose read() gave what was left): read() gives the whole input on every call, readlines() the lines without
newlines, sys.stdin.readline() (and input()) the next line with its newline, as the StringIO behind it does,
while a `stdin` bound at load (`from sys import stdin`, the prelude's `from sys import *`) gives it without, as
LiveCodeBench's patched real stdin does. Departures, each where LiveCodeBench's mocks fail a program a real
judge accepts: both views of stdin share one position; readline() past the end gives "" (not StopIteration); `for
line in sys.stdin` and sys.stdin.buffer.readline() walk the lines with their newlines; open(0) reads the test's
input; sys.stdout.buffer is captured too, and so is the `stdout` the prelude binds; sys.stdout.close() (and its
buffer's) does nothing, as LiveCodeBench's capture means it to (its stand-in, `lambda x: 1`, takes an argument that
close() does not pass: a TypeError, failing the test); quit() ends a program as exit() does (LiveCodeBench's guard
sets it to None, failing the test); the prelude and the program are compiled apart (so `from __future__` works); os,
shutil and subprocess are left whole, and help (the sandbox, not LiveCodeBench's reliability_guard, is what confines
a program: its guard sets os.getcwd, os.remove, os.kill, shutil.rmtree, subprocess.Popen, help… to None). The
modules its guard removes (resource, psutil, joblib, ipdb, tkinter) cannot be imported here either: no departure.
"""

import ast
import builtins
import ctypes
import errno
import io
import json
import math
import os
import platform
import resource
import signal
import sys
import time
import traceback

PRELUDE_MODULES = ["string", "re", "datetime", "collections", "heapq", "bisect", "copy", "math", "random",
                   "statistics", "itertools", "functools", "operator", "io", "sys", "json", "builtins", "typing"]
# Star imports first (later ones win, `builtins` restoring names like `open`), then the modules by name.
PRELUDE = "".join(f"from {m} import *\n" for m in PRELUDE_MODULES) + "".join(
    f"import {m}\n" for m in PRELUDE_MODULES if m not in ("builtins", "typing")) + "sys.setrecursionlimit(50000)\n"

# The modules LiveCodeBench's reliability_guard removes from sys.modules (set to None): importing one fails there with
# "import of resource halted; None in sys.modules", and here too (a program raising its stack limit with resource,
# a judge's idiom, fails as there). The driver took its own `resource` before.
GUARDED_MODULES = ["ipdb", "joblib", "resource", "psutil", "tkinter"]

ERROR_CHARS = 300
SAFE_INT = 2**53
PR_SET_PDEATHSIG = 1
# keyctl(2)'s syscall number by machine (the generic table's for aarch64 and riscv64), and the calls used
KEYCTL = {"x86_64": 250, "aarch64": 219, "riscv64": 219}
KEYCTL_GET_KEYRING_ID, KEYCTL_JOIN_SESSION_KEYRING, KEY_SPEC_SESSION_KEYRING = 0, 1, -3
# LiveCodeBench's evaluation raises Python's cap on an int's decimal digits to this (compute_code_generation_metrics)
INT_DIGITS = 50000

USAGE = """usage: driver.py < REQUEST.json

Runs one model-written program on its test inputs: the request (one JSON object) on stdin, one JSON line per
event on stdout, as this file's docstring tells. tasks/code/runner.ts starts it, sandboxed (tasks/code/sandbox.ts)."""

DRIVER_PID = os.getpid()
# the host's pipe (sys.stdin is the program's view of a test's input): the request, then each test's input
REQUESTS = sys.stdin.buffer
PROTOCOL_FD = 1
_write, _dumps, _exit, _getpid, _monotonic = os.write, json.dumps, os._exit, os.getpid, time.monotonic
line_cap = 1 << 20


def take_descriptors():
    """The protocol gets its own descriptor, fd 1 and 2 go to /dev/null (a program writing to them directly cannot
    garble the protocol by accident), and descriptors the host inherited without close-on-exec, which pass
    through bubblewrap, are closed before any program runs."""
    global PROTOCOL_FD
    for fd in os.listdir("/proc/self/fd"):
        if int(fd) > 2:
            try:
                os.close(int(fd))
            except OSError:
                pass  # the listing's own, closed already
    PROTOCOL_FD = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)


def emit(message):
    """One protocol line. A process the program forked never speaks: it leaves here at once."""
    if _getpid() != DRIVER_PID:
        _exit(0)
    # A lone surrogate (inside a JSON string, the only place one can be) becomes its JSON escape: the host reads
    # the same string back, where "replace" would have made it a "?" that a "?" expected equals.
    data = (_dumps(message, ensure_ascii=False) + "\n").encode("utf-8", "backslashreplace")
    if len(data) > line_cap:
        # Only an output full of escaped characters gets here; the host would refuse the line anyway.
        data = (_dumps({"i": message["i"], "status": "output_limit", "out": ""}) + "\n").encode()
    view = memoryview(data)
    while view:
        view = view[_write(PROTOCOL_FD, view):]


def last_line(error):
    """The last line of an exception's traceback, as short as the host keeps it."""
    text = "".join(traceback.format_exception_only(type(error), error)).strip().splitlines()
    line = text[-1] if text else type(error).__name__
    return line if len(line) <= ERROR_CHARS else line[:ERROR_CHARS - 3] + "..."


def utf8_size(text):
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))




class CapturedBytes:
    """sys.stdout.buffer: bytes written there join the captured text."""

    def __init__(self, owner):
        self._owner = owner

    def write(self, data):
        self._owner.write(bytes(data).decode("utf-8", "replace"))
        return len(data)

    def flush(self):
        pass

    def close(self):
        """A no-op, as Capture.close is."""


class Capture(io.TextIOBase):
    """sys.stdout for the whole run: keeps what a stdin test writes, within its cap; discards the rest uncounted (a
    functional test's prints and the load's, which LiveCodeBench does not capture either)."""

    def __init__(self):
        super().__init__()
        self.buffer = CapturedBytes(self)
        self.reset(None)

    def reset(self, test, cap=0):
        """Keeps test `test`'s output up to `cap` bytes; None: discards."""
        self.parts, self.size, self.test, self.cap = [], 0, test, cap

    @property
    def encoding(self):
        return "utf-8"

    def writable(self):
        return True

    def close(self):
        """A no-op, as LiveCodeBench's capture means closing to be (its `lambda x: 1` raises a TypeError instead, a
        departure): what is printed after it counts, and a later test never finds the stream closed."""

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if self.test is None:
            return len(text)
        self.size += utf8_size(text)
        if self.size > self.cap:
            # the run stops at this test anyway: say so and exit
            self.parts = []
            emit({"i": self.test, "status": "output_limit", "out": ""})
            _exit(0)
        self.parts.append(text)
        return len(text)

    def text(self):
        return "".join(self.parts)


class StdinBytes:
    """sys.stdin.buffer: read() gives all the input's bytes (LiveCodeBench's MockBuffer), readline() the next line
    with its newline."""

    def __init__(self, data):
        self._data, self._stream = data, io.BytesIO(data)

    def read(self, *args):
        return self._data

    def __iter__(self):
        return iter(self._stream)

    def __getattr__(self, name):
        return getattr(self._stream, name)


class TestInput:
    """A test's input and how far reading has got: the position both views of stdin share."""

    def __init__(self):
        self.reset("")

    def reset(self, text):
        self.text, self.stream, self.buffer = text, io.StringIO(text), StdinBytes(text.encode("utf-8"))


class Stdin:
    """A view of the test's input with the reading methods LiveCodeBench's mocks give: read() and readlines() the
    whole input, readline() the next line, with its newline (sys.stdin while a test runs, MockStdinWithBuffer there)
    or without (what the program bound at load, LiveCodeBench's patched real stdin)."""

    def __init__(self, source, newline):
        self._source, self._newline = source, newline

    @property
    def buffer(self):
        return self._source.buffer

    def read(self, *args):
        return self._source.text

    def readline(self, *args):
        line = self._source.stream.readline(*args)
        return line if self._newline or not line.endswith("\n") else line[:-1]

    def readlines(self, *args):
        return self._source.text.split("\n")

    def fileno(self):
        raise io.UnsupportedOperation("fileno")

    def __iter__(self):
        return iter(self._source.stream)

    def __getattr__(self, name):
        return getattr(self._source.stream, name)


test_input, stdout = TestInput(), Capture()
# sys.stdin while a test runs; and at load, what `from sys import stdin` and the prelude's `from sys import *` bind
stdin, loaded_stdin = Stdin(test_input, True), Stdin(test_input, False)
_open = builtins.open


def open_stdin_aware(file, mode="r", *args, **kwargs):
    """open(0) and open('/dev/stdin') read the test's input (LiveCodeBench's prelude binds the real open: nothing)."""
    if file in (0, "/dev/stdin", "/proc/self/fd/0") and not any(c in mode for c in "wax+"):
        return io.BytesIO(test_input.text.encode("utf-8")) if "b" in mode else io.StringIO(test_input.text)
    return _open(file, mode, *args, **kwargs)


def first_to_go():
    """The host's out-of-memory killer takes this process (and what it forks) before the bench beside it: RLIMIT_AS
    bounds each process, not the machine. Memory held outside any address space (memfd files, detached System V
    shared memory) counts for no process: there the killer may pick the bench (docs/tasks-and-grading.md)."""
    try:
        with _open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")
    except OSError:
        pass  # no /proc: the limits alone


def own_session_keyring():
    """The program gets an empty session keyring of its own. The kernel's keyrings are not namespaced: the session
    keyring the host was started with passes through bubblewrap (and the change of uid) to every sandbox, so a
    program could read or overwrite the host's keys (a token a login left there) and leave keys for the next
    program. Joining a new anonymous one cuts it off; a kernel without keyrings, or that refuses them to this
    process altogether (a seccomp filter), has none to share. Anything else stops the driver before the program
    loads: the host reports it as the sandbox's failure, never a verdict."""
    machine = platform.machine()
    number = KEYCTL.get(machine)
    if number is None:
        raise RuntimeError(f"keyctl's number on {machine!r} is unknown, so the host's session keyring cannot be "
                           "replaced (add it to driver.py's KEYCTL table)")
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long

    def keyctl(*args):
        ctypes.set_errno(0)
        result = libc.syscall(ctypes.c_long(number), *(ctypes.c_long(a) for a in args))
        return result, ctypes.get_errno()

    joined, error = keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0)
    now, _ = keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0)
    if joined < 0 and now < 0:
        return  # no keyrings reachable at all (ENOSYS, or EPERM from a seccomp filter)
    if joined < 0 or now != joined:
        why = errno.errorcode.get(error, error) if joined < 0 else f"still in keyring {now}, not {joined}"
        raise RuntimeError(f"could not join a session keyring of its own ({why}): the host's would be the program's")


def die_with_host():
    """The kernel kills the driver when the host goes (Ctrl-C, a crash): sandboxed, bubblewrap's --die-with-parent
    does as much; unsafe, nothing else would end a program still running."""
    try:
        import ctypes
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # no prctl here: the host's own kill remains


def set_limits(limits):
    """The program's rlimits, soft = hard so it cannot raise them (CPU: hard a second later, to see SIGXCPU)."""
    wanted = [
        (resource.RLIMIT_AS, limits["memory"], limits["memory"]),
        (resource.RLIMIT_CPU, limits["cpu"], limits["cpu"] + 1),
        (resource.RLIMIT_NPROC, limits["processes"], limits["processes"]),
        (resource.RLIMIT_FSIZE, limits["file"], limits["file"]),
        (resource.RLIMIT_CORE, 0, 0),
        (resource.RLIMIT_NOFILE, limits["files"], limits["files"]),
    ]
    for which, soft, hard in wanted:
        _, current = resource.getrlimit(which)
        if current != resource.RLIM_INFINITY:
            soft, hard = min(soft, current), min(hard, current)
        resource.setrlimit(which, (soft, hard))


def unwrap_main(tree):
    """A final `if __name__ == '__main__':` gives way to its body (LiveCodeBench's clean_if_name)."""
    last = tree.body[-1] if tree.body else None
    if isinstance(last, ast.If) and ast.unparse(last.test).strip() == "__name__ == '__main__'":
        tree.body[-1:] = last.body


def wrap_stdin_program(tree):
    """Top-level imports stay; every other statement becomes the body of wrapped_function()."""
    unwrap_main(tree)
    imports = [s for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom))]
    rest = [s for s in tree.body if not isinstance(s, (ast.Import, ast.ImportFrom))] or [ast.Pass()]
    fields = {"type_params": []} if "type_params" in ast.FunctionDef._fields else {}
    function = ast.FunctionDef(name="wrapped_function", args=ast.arguments(
        posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]),
        body=rest, decorator_list=[], returns=None, lineno=1, col_offset=0, **fields)
    tree.body = imports + [function]
    return ast.fix_missing_locations(tree)


def encode(value, top=True):
    """A functional result as JSON the host can compare with Python's == (see runner.ts for the table)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value) if -SAFE_INT < value < SAFE_INT else {"int": str(int(value))}
    if isinstance(value, float):
        if math.isnan(value):
            return {"float": "nan"}
        if math.isinf(value):
            return {"float": "inf" if value > 0 else "-inf"}
        return float(value)
    if isinstance(value, list) or (top and isinstance(value, tuple)):
        return [encode(v, False) for v in value]
    if isinstance(value, dict):
        return {"dict": [[encode(k, False), encode(v, False)] for k, v in value.items()]}
    if type(value).__module__ in ("fractions", "decimal"):
        # Fraction and Decimal equal numbers by exact value (Fraction(1, 4) == 0.25): sent as a reduced ratio
        if type(value).__module__ == "decimal" and not value.is_finite():
            return {"float": "nan" if value.is_nan() else "inf" if value > 0 else "-inf"}
        n, d = value.as_integer_ratio()
        return {"ratio": [str(n), str(d)]}
    if isinstance(value, complex) and value.imag == 0:
        return encode(value.real, top)  # complex(2, 0) == 2
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        # A numpy scalar as its Python number, its exact value: as == decides, but for a float32/float16 under numpy
        # 2, which == compares in its own precision (a departure: docs/tasks-and-grading.md)
        plain = value.item()
        if type(plain) in (bool, int, float):
            return encode(plain, top)
    return {"repr": type(value).__name__}


def load(request):
    """Compiles and loads the program, under the alarm for a test's time as LiveCodeBench's compile_code is;
    returns the callable a test runs, or None once a compile line is out."""
    code, functional = request["code"], request["mode"] == "functional"
    try:
        tree = ast.parse(code, "<solution>")
        program = compile(tree if functional else wrap_stdin_program(tree), "<solution>", "exec")
    except (SyntaxError, ValueError) as e:
        emit({"compile": "syntax_error", "error": last_line(e)})
        return None
    namespace = {"__name__": "solution", "__builtins__": builtins}

    def run():
        try:
            exec(compile(PRELUDE, "<prelude>", "exec"), namespace)
            exec(program, namespace)
            if not functional:
                return namespace["wrapped_function"], None
            name = request.get("func_name") or ""
            target = namespace["Solution"]() if "class Solution" in code else None
            if target is not None and not hasattr(target, name):
                raise AttributeError(f"Solution has no method {name!r}")
            if target is None and name not in namespace:
                raise NameError(f"the program defines no function {name!r}")
            return (getattr(target, name) if target is not None else namespace[name]), None
        except BaseException as e:  # noqa: BLE001 — the program's error while loading (the alarm's: timed() says)
            return None, last_line(e)

    loaded = timed(request["test_seconds"], run)
    if loaded is None:
        emit({"compile": "timeout", "error": "TestTimeout: time limit exceeded while loading"})
        return None
    method, error = loaded
    if error is not None:
        emit({"compile": "runtime_error", "error": error})
    return method


class TestTimeout(BaseException):
    """The test's time is up (a BaseException, so that a program's `except Exception` does not swallow it)."""


class Alarm:
    """ITIMER_REAL, as LiveCodeBench's alarm. Its firing is kept as well as raised: a program's bare `except:` may
    swallow the exception, and only while armed does it raise (never in the driver's own code after the disarm)."""
    armed = fired = False


alarm = Alarm()


def on_alarm(signum, frame):
    alarm.fired = True
    if alarm.armed:
        raise TestTimeout("time limit exceeded")


def timed(seconds, run):
    """run() under the alarm: its result, or None when the time ran out, whatever the program did meanwhile (a
    swallowed alarm, or one it ignored or disarmed, then finishing late: by the driver's clock)."""
    alarm.fired, alarm.armed, t0 = False, True, _monotonic()
    try:
        try:
            signal.setitimer(signal.ITIMER_REAL, seconds)
            result = run()
        finally:
            alarm.armed = False
            signal.setitimer(signal.ITIMER_REAL, 0)
    except TestTimeout:  # raised between the program's return and the disarm
        return None
    return None if alarm.fired or _monotonic() - t0 > seconds else result


def run_test(i, method, functional, text, cap, seconds):
    """Test `i`, timed by its own clock as LiveCodeBench's alarm does: (status, out, error)."""
    outcome = timed(seconds, lambda: run_timed(i, method, functional, text, cap))
    stdout.reset(None)  # what a thread of the program prints between tests is no test's
    return outcome or ("timeout", "", "TestTimeout: time limit exceeded")


def run_timed(i, method, functional, text, cap):
    test_input.reset(text)
    stdout.reset(None if functional else i, cap)
    sys.stdin, sys.stdout = stdin, stdout  # again: a program may have replaced them in an earlier test
    try:
        if functional:
            args = [json.loads(line) for line in text.split("\n")]
            result = method(*args)
        else:
            try:
                method()
            except SystemExit:
                pass
    except MemoryError as e:
        return "memory", "", last_line(e)
    except BaseException as e:  # noqa: BLE001 — the program's own failure (the alarm's: timed() says timeout)
        return "runtime_error", "", last_line(e)
    if not functional:
        return "ok", stdout.text(), None
    # Python's cap on an int's decimal digits (3.11, and late 3.9/3.10 releases) is lifted while encoding.
    digits = getattr(sys, "get_int_max_str_digits", lambda: None)()
    if digits is not None:
        sys.set_int_max_str_digits(0)
    try:
        out = json.dumps(encode(result), ensure_ascii=False, allow_nan=False)
    except MemoryError as e:
        return "memory", "", last_line(e)
    except BaseException as e:  # noqa: BLE001 — a result too deep (or cyclic) to encode
        return "runtime_error", "", "the result could not be encoded: " + last_line(e)
    finally:
        if digits is not None:
            sys.set_int_max_str_digits(digits)
    return ("output_limit", "", None) if utf8_size(out) > cap else ("ok", out, None)


def main():
    global line_cap
    request = json.loads(REQUESTS.readline())
    line_cap = request["line_cap"]
    first_to_go()
    own_session_keyring()
    set_limits(request["limits"])
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(INT_DIGITS)
    sys.stdin, sys.stdout = loaded_stdin, stdout
    builtins.open = open_stdin_aware
    for name in GUARDED_MODULES:
        sys.modules[name] = None
    signal.signal(signal.SIGALRM, on_alarm)
    emit({"ready": True})
    method = load(request)
    if method is None:
        return
    emit({"loaded": True})
    functional = request["mode"] == "functional"
    for i in range(request["tests"]):
        line = REQUESTS.readline()
        if not line:
            return  # the host stopped the run
        text = json.loads(line)
        emit({"start": i})
        status, out, error = run_test(i, method, functional, text, request["output_cap"], request["test_seconds"])
        emit({"i": i, "status": status, "out": out, **({"error": error} if error else {})})


if __name__ == "__main__":
    if sys.argv[1:]:
        if sys.argv[1:] in (["--help"], ["-h"]):
            print(USAGE)
            sys.exit(0)
        print(f"driver.py: unknown argument {sys.argv[1]}; {USAGE.splitlines()[0]} (--help for more)", file=sys.stderr)
        sys.exit(2)
    die_with_host()  # first: until it runs, a host that goes leaves the driver running
    take_descriptors()
    try:
        main()
    except BaseException as e:  # noqa: BLE001 — the host learns of a fault here as one line, not a silent exit
        try:
            emit({"fatal": "driver: " + last_line(e)})
        except BaseException:  # noqa: BLE001 — the protocol itself is gone; the exit status tells the host
            pass
        _exit(1)
    _exit(0)
