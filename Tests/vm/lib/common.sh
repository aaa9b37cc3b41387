# shellcheck shell=bash
# lib/common.sh: messages, exit codes in errors, temporary directories and clean-up.
# Sourced by Tests/vm/testbed.sh (which sets `set -euo pipefail`, the constants and the globals of
# `run`); not run on its own.

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }

# die CODE MESSAGE...: print an error and exit with CODE (the EXIT trap cleans up).
die() {
  local code=$1
  shift
  printf '%s: error: %s\n' "$PROG" "$*" >&2
  exit "$code"
}

usage_error() {
  printf '%s: %s\n' "$PROG" "$*" >&2
  printf "Try '%s help'.\n" "$PROG" >&2
  exit "$EX_USAGE"
}

# Temporary directories to remove and a QEMU (timeout) process to stop on exit.
TEMP_DIRS=()
QEMU_PID=
KEEP_TEMP=0

cleanup() {
  local status=$?
  if [[ -n $QEMU_PID ]] && kill -0 "$QEMU_PID" 2>/dev/null; then
    kill -TERM "$QEMU_PID" 2>/dev/null || true
    wait "$QEMU_PID" 2>/dev/null || true
  fi
  local dir
  for dir in "${TEMP_DIRS[@]}"; do
    if ((KEEP_TEMP)); then
      log "kept $dir"
    else
      rm -rf -- "$dir"
    fi
  done
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# make_temp_dir VAR [PARENT]: a new temporary directory, removed on exit.
make_temp_dir() {
  local -n _dir=$1
  _dir=$(mktemp -d "${2:-${TMPDIR:-/tmp}}/sriovctl-vm.XXXXXX")
  TEMP_DIRS+=("$_dir")
}

need_root() {
  [[ $(id -u) -eq 0 ]] || die "$EX_TESTBED" "$1 needs root (run it with sudo)"
}
