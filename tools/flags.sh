# The shell scripts' flags, with the Deno commands' convention (engine/errors.ts parseFlags), sourced by
# every script under tools/ before it does anything:
#   source "$(dirname "$0")/flags.sh" "$@"            (from tools/demo-model: "$(dirname "$0")/../flags.sh")
# --help or -h anywhere prints the script's usage on stdout (its header: the comment lines after the shebang)
# and exits 0. The scripts take no flags of their own (their settings are environment variables), so any
# other argument that starts with "-" is an unknown flag, and any other argument at all unless the script
# sets HW_ARGS (what it takes, for the usage) before sourcing: one line on stderr naming it, with the
# usage's first line, and exit code 2. Not a script itself: it has no shebang (tests/cli/help_test.ts).
hw_usage() { awk 'NR == 1 && /^#!/ { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; }
hw_refuse() {
  echo "error: $1; $(hw_usage | head -1) (--help for more)" >&2
  exit 2
}
for hw_arg in "$@"; do
  case $hw_arg in --help | -h) hw_usage; exit 0 ;; esac
done
for hw_arg in "$@"; do
  case $hw_arg in
    -*) hw_refuse "unknown flag $hw_arg" ;;
    *) [[ -n ${HW_ARGS:-} ]] || hw_refuse "unexpected argument \"$hw_arg\"" ;;
  esac
done
unset hw_arg
