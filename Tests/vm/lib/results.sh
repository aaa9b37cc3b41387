# shellcheck shell=bash
# lib/results.sh: what a boot leaves: the record of how the VM was run (OUT/testbed.txt), the
# diagnosis of a boot that went wrong, and the scenario's output and exit status unpacked from the
# results disk into OUT.
# Sourced by Tests/vm/testbed.sh (which sets `set -euo pipefail`, the constants and the globals of
# `run`); not run on its own.

# write_run_record VERSION: OUT/testbed.txt (kernel package, QEMU, scenario, guest, command lines).
write_run_record() {
  local version=$1
  {
    printf 'kernel_package: %s\n' "$(<"$KERNEL_DIR/package")"
    printf 'kernel_version: %s\n' "$version"
    printf 'qemu: %s\n' "$("$QEMU" --version | head -n1)"
    printf 'scenario: %s' "${SCENARIO##*/}"
    ((${#SCENARIO_ARGS[@]} == 0)) || printf ' %q' "${SCENARIO_ARGS[@]}"
    printf '\nbinary: %s\n' "$BINARY"
    if [[ -n $DEBIAN_IMAGE ]]; then
      printf 'guest: debian\nimage: %s\ndisk: %s\ninstall_binary: %s\n' "$DEBIAN_IMAGE" \
        "${DISK_COPY:-(a throw-away copy)}" "$INSTALL_BINARY"
    else
      printf 'guest: busybox\n'
    fi
    printf 'kernel_cmdline: %s\n' "$KERNEL_APPEND"
    printf 'qemu_command:'
    printf ' %q' "$QEMU" "${QEMU_ARGS[@]}"
    printf '\n'
  } >"$OUT/testbed.txt"
}

# collect_results WORK: fails with the clearest cause when the VM timed out, the Debian guest did
# not start, the kernel panicked or QEMU failed; otherwise unpacks the results disk into OUT and
# sets SCENARIO_STATUS (also written to OUT/exit-status).
collect_results() {
  local work=$1
  # What went wrong, if anything, from the clearest cause to the vaguest.
  if ((QEMU_STATUS == 124 || QEMU_STATUS == 137)); then
    show_console_tail
    die "$EX_TIMEOUT" "the VM ran longer than --timeout ${TIMEOUT}s and was stopped (console: $OUT/console.log)"
  fi
  if grep -q 'testbed-initramfs: FATAL' "$OUT/console.log" 2>/dev/null; then
    show_console_tail
    die "$EX_TESTBED" "the Debian guest did not start: $(grep -m1 -o 'testbed-initramfs: FATAL.*' "$OUT/console.log") (console: $OUT/console.log)"
  fi
  if grep -q 'Kernel panic - not syncing' "$OUT/console.log" 2>/dev/null; then
    show_console_tail
    die "$EX_TESTBED" "the guest kernel panicked: $(grep -m1 -o 'Kernel panic - not syncing.*' "$OUT/console.log") (console: $OUT/console.log)"
  fi
  if ((QEMU_STATUS != 0)); then
    [[ -s $work/qemu.err ]] && sed 's/^/  qemu: /' "$work/qemu.err" >&2
    show_console_tail
    die "$EX_TESTBED" "QEMU failed with status $QEMU_STATUS"
  fi
  # QEMU's one expected warning: the NIC has no network backend, on purpose.
  sed -i '/warning: nic igb.0 has no peer/d' "$work/qemu.err"
  [[ -s $work/qemu.err ]] && sed 's/^/  qemu: /' "$work/qemu.err" >&2

  mkdir -p "$work/results"
  if ! tar -x -f "$work/results.img" -C "$work/results" 2>"$work/tar.err" ||
    [[ ! -f $work/results/testbed/status/exit-status ]]; then
    sed 's/^/  tar: /' "$work/tar.err" >&2
    show_console_tail
    die "$EX_TESTBED" "the guest delivered no results (console: $OUT/console.log)"
  fi
  SCENARIO_STATUS=$(<"$work/results/testbed/status/exit-status")
  [[ $SCENARIO_STATUS =~ ^[0-9]+$ ]] ||
    die "$EX_TESTBED" "the guest reported a malformed exit status '$SCENARIO_STATUS'"

  local name
  for name in console.log exit-status testbed.txt; do
    [[ ! -e $work/results/out/$name && ! -L $work/results/out/$name ]] ||
      die "$EX_TESTBED" "the scenario wrote $name, a name the test bed reserves"
  done
  local produced=("$work/results/out"/* "$work/results/out"/.[!.]*)
  ((${#produced[@]} == 0)) || mv -- "${produced[@]}" "$OUT/"
  printf '%s\n' "$SCENARIO_STATUS" >"$OUT/exit-status"

}

show_console_tail() {
  [[ -s $OUT/console.log ]] || return 0
  printf '%s: last lines of the console:\n' "$PROG" >&2
  tail -n 30 "$OUT/console.log" | sed 's/^/  | /' >&2
}

# kernel-dir: makes the kernel cache usable (as run does) and prints its directory, for
