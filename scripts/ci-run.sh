#!/usr/bin/env bash
# Runs one relman command for a GitHub Action step. Inputs arrive only as environment variables
# (RELMAN_*), set by the action's `env:`; nothing here is evaluated by the shell.
#   RELMAN_BIN        the binary (from install.sh)
#   RELMAN_COMMAND    changelog | gate | promote | rollback | config
#   RELMAN_ARGS       extra arguments, one per line (no shell splitting or expansion)
#   RELMAN_DIRECTORY, RELMAN_CONFIG, RELMAN_VERBOSE   common flags
#   RELMAN_<COMMAND>_<FLAG>  concern flags, read by relman itself (e.g. RELMAN_CHANGELOG_TAG for
#                     --tag; every name: docs/reference/env.md)
#   RELMAN_INPUT_BASE the gate's --base (a flag: RELMAN_GATE_BASE would make the run a rehearsal)
# Empty RELMAN_* variables, and boolean ones set to "false", are unset first: an input left at
# its default means "not given" (clap would otherwise count it as given, e.g. for conflicts).
set -euo pipefail

bin="${RELMAN_BIN:-relman}"
cmd="${RELMAN_COMMAND:-}"
case "$cmd" in
  changelog|gate|promote|rollback|config) ;;
  *) echo "::error title=relman::the command input must be one of changelog, gate, promote, rollback, config"; exit 2;;
esac
args=()
if [ -n "${RELMAN_DIRECTORY:-}" ]; then args+=(--directory "$RELMAN_DIRECTORY"); fi
if [ -n "${RELMAN_CONFIG:-}" ]; then args+=(--config "$RELMAN_CONFIG"); fi
case "${RELMAN_VERBOSE:-0}" in
  0|'') ;; 1) args+=(-v);; 2|3|4|5|6|7|8|9) args+=(-vv);;
  *) echo "::error title=relman::the verbose input must be a number 0-2"; exit 2;;
esac
args+=("$cmd")
# Flags relman takes only from its command line (from the environment they would make the gate a
# rehearsal): the actions pass them as RELMAN_INPUT_<FLAG>.
if [ "$cmd" = gate ] && [ -n "${RELMAN_INPUT_BASE:-}" ]; then args+=(--base "$RELMAN_INPUT_BASE"); fi
unset RELMAN_INPUT_BASE
if [ -n "${RELMAN_ARGS:-}" ]; then
  while IFS= read -r line || [ -n "$line" ]; do
    line="${line%$'\r'}"
    [ -z "$line" ] || args+=("$line")
  done <<<"$RELMAN_ARGS"
fi
unset RELMAN_BIN RELMAN_COMMAND RELMAN_ARGS RELMAN_DIRECTORY RELMAN_CONFIG RELMAN_VERBOSE
while IFS= read -r name; do
  case "${!name}" in ''|false) unset "$name";; esac
done < <(compgen -e | grep '^RELMAN_' || true)
exec "$bin" "${args[@]}"
