/**
 * Reads a Python pickle of one str without executing anything: LiveCodeBench stores some private tests as
 * base64(zlib(pickle(JSON text))). Only the opcodes `pickle.dumps(str)` writes, in protocols 0 to 5, are known;
 * any other (a global, a call, a container) is refused by name, so no pickle can make this code do more than
 * read text.
 */
import { InputError } from "../../engine/errors.ts";

const OPS: Record<number, string> = {
  0x80: "PROTO",
  0x95: "FRAME",
  0x8c: "SHORT_BINUNICODE",
  0x58: "BINUNICODE",
  0x8d: "BINUNICODE8",
  0x56: "UNICODE",
  0x94: "MEMOIZE",
  0x71: "BINPUT",
  0x72: "LONG_BINPUT",
  0x70: "PUT",
  0x2e: "STOP",
};

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The str a pickle holds. `where` names the record field in errors (`FILE:LINE: field "private_test_cases"`).
 * Bytes after STOP are ignored, as pickle.loads ignores them.
 */
export function unpickleString(bytes: Uint8Array, where: string): string {
  const fail = (what: string): never => {
    throw new InputError(`${where}: not a pickled string (${what})`);
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: string[] = [];
  let at = 0;
  const take = (n: number, op: string): number => {
    if (n > bytes.length - at) fail(`${op} runs past the end`);
    const start = at;
    at += n;
    return start;
  };
  const text = (n: number, op: string): string => {
    const start = take(n, op);
    try {
      return utf8.decode(bytes.subarray(start, at));
    } catch {
      return fail(`${op} is not UTF-8`);
    }
  };
  const line = (op: string): Uint8Array => {
    const end = bytes.indexOf(0x0a, at);
    if (end < 0) fail(`${op} has no end of line`);
    const start = at;
    at = end + 1;
    return bytes.subarray(start, end);
  };
  while (at < bytes.length) {
    const code = bytes[at++];
    const op = OPS[code] ?? fail(`opcode 0x${code.toString(16).padStart(2, "0")} at byte ${at - 1}`);
    if (op === "STOP") {
      if (stack.length !== 1) fail(`STOP with ${stack.length} values, expected one string`);
      return stack[0];
    }
    if (op === "PROTO") {
      const p = bytes[take(1, op)];
      if (p > 5) fail(`protocol ${p}`);
    } else if (op === "FRAME") take(8, op); // a frame only announces the length of what follows
    else if (op === "SHORT_BINUNICODE") stack.push(text(bytes[take(1, op)], op));
    else if (op === "BINUNICODE") stack.push(text(view.getUint32(take(4, op), true), op));
    else if (op === "BINUNICODE8") {
      const n = view.getBigUint64(take(8, op), true);
      stack.push(text(n > BigInt(bytes.length) ? bytes.length + 1 : Number(n), op));
    } else if (op === "UNICODE") stack.push(rawUnicodeEscape(line(op), fail));
    else {
      // The memo is for objects met again; one string is never met again, so its slot is only checked.
      if (stack.length === 0) fail(`${op} with nothing to remember`);
      if (op === "BINPUT") take(1, op);
      else if (op === "LONG_BINPUT") take(4, op);
      else if (op === "PUT" && !/^\d+$/.test(latin1(line(op)))) fail("PUT without a number");
    }
  }
  return fail("no STOP");
}

/**
 * Python's raw-unicode-escape decoding (protocol 0's UNICODE argument): bytes are Latin-1 characters, except
 * that \uXXXX and \UXXXXXXXX escape a code point when an odd number of backslashes comes before the u.
 */
function rawUnicodeEscape(b: Uint8Array, fail: (what: string) => never): string {
  const out: string[] = [];
  let i = 0;
  while (i < b.length) {
    let j = i;
    while (j < b.length && b[j] !== 0x5c) j++;
    out.push(latin1(b.subarray(i, j)));
    if (j === b.length) break;
    let k = j;
    while (k < b.length && b[k] === 0x5c) k++;
    const escaped = (k - j) % 2 === 1 && (b[k] === 0x75 || b[k] === 0x55);
    out.push("\\".repeat(k - j - (escaped ? 1 : 0)));
    i = k;
    if (!escaped) continue;
    const n = b[k] === 0x75 ? 4 : 8;
    const hex = latin1(b.subarray(k + 1, k + 1 + n));
    if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) fail("UNICODE holds a truncated \\u escape");
    const cp = parseInt(hex, 16);
    if (cp > 0x10ffff) fail("UNICODE holds a \\U escape out of range");
    out.push(String.fromCodePoint(cp));
    i = k + 1 + n;
  }
  return out.join("");
}

/** Bytes as Latin-1 characters (TextDecoder's "latin1" is windows-1252, which differs at 0x80-0x9f). */
function latin1(b: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < b.length; i += 8192) parts.push(String.fromCharCode(...b.subarray(i, i + 8192)));
  return parts.join("");
}
