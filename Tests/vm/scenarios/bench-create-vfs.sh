#!/bin/sh
# bench-create-vfs.sh: a test bed scenario (busybox sh in the guest, see ../testbed.sh) for
# Benchmarks/create-vfs.sh. Times, in one boot, the two ways of getting COUNT VFs with their netdevs
# on the igb PF (0000:01:00.0, eth0), from 0 VFs, ROUNDS times each, alternating which goes first:
#   raw       `echo COUNT > sriov_numvfs`, then poll until COUNT VF netdevs exist
#   sriovctl  `sriovctl create-vfs eth0 --count COUNT`, then the same poll (it should find them at once)
# Each is timed from its start to the moment the poll sees all COUNT netdevs, then undone (`echo 0`,
# `create-vfs --count 0`; not timed). Timestamps come from $EPOCHREALTIME, so taking one starts no
# process.
#
# The PF (eth0) is down when the guest starts, and create-vfs brings it up (VFs pass no traffic
# through a PF that is down), which the raw path does not do. So round 0 runs each path once with
# the PF down (raw first: sriovctl leaves the PF up), recorded as raw-pfdown and sriovctl-pfdown,
# which shows what bringing the PF up costs; rounds 1..ROUNDS, the ones compared, then all start
# from the same state: PF up, no VFs.
#
# After each timed sriovctl run, the same command again (nothing to do) is timed too, as
# METHOD-noop: the command's fixed cost.
#
# Results in $TESTBED_OUT/bench.tsv, a line per run:
#   METHOD ROUND READY_MS FIRST_MS
# where FIRST_MS is the time until the write returned (raw) or the command exited (sriovctl).
#
# Usage: bench-create-vfs.sh [ROUNDS] [COUNT] [TIMEOUT]   (defaults 5, 4, 120 s)
# Exits 1 when a run fails or its netdevs do not appear within TIMEOUT seconds.
set -u
OUT=${TESTBED_OUT:?not running in the test bed}
BIN=${TESTBED_BINARY:-/bin/sriovctl}
ROUNDS=${1:-5}
COUNT=${2:-4}
TIMEOUT=${3:-120}
PF=/sys/bus/pci/devices/0000:01:00.0
RESULTS=$OUT/bench.tsv

say() { echo "bench-create-vfs.sh: $*"; }
fail() {
  say "FAILED: $*"
  echo "$*" >"$OUT/failure"
  dmesg >"$OUT/dmesg.txt"
  exit 1
}

# stamp: STAMP = microseconds since the epoch ($EPOCHREALTIME is "S.UUUUUU"), without a fork.
stamp() {
  # shellcheck disable=SC3028 # busybox ash has it
  t=$EPOCHREALTIME
  STAMP=${t%.*}${t#*.}
}

# wait_netdevs N: spins until exactly N VF netdevs exist (shell globbing only: no process per
# check); fails after TIMEOUT seconds.
wait_netdevs() {
  stamp
  deadline=$((STAMP + TIMEOUT * 1000000))
  while :; do
    set -- "$PF"/virtfn*/net/*
    if [ -e "$1" ] && [ $# -eq "$COUNT" ]; then
      return 0
    fi
    stamp
    [ "$STAMP" -lt "$deadline" ] || fail "$COUNT VF netdevs did not appear within ${TIMEOUT}s (have: $*)"
  done
}

# expect_none: there are no VFs (the state each timed run starts from).
expect_none() {
  [ "$(cat "$PF/sriov_numvfs")" = 0 ] || fail "sriov_numvfs is $(cat "$PF/sriov_numvfs"), not 0, before $1"
  set -- "$PF"/virtfn*
  [ ! -e "$1" ] || fail "VFs left before $1: $*"
}

# timed_raw ROUND [METHOD]
timed_raw() {
  expect_none "raw round $1"
  stamp
  start=$STAMP
  echo "$COUNT" >"$PF/sriov_numvfs" || fail "echo $COUNT > sriov_numvfs failed"
  stamp
  written=$STAMP
  wait_netdevs
  stamp
  echo "${2:-raw} $1 $(((STAMP - start) / 1000)) $(((written - start) / 1000))" >>"$RESULTS"
  echo 0 >"$PF/sriov_numvfs" || fail "echo 0 > sriov_numvfs failed"
}

# timed_sriovctl ROUND [METHOD]
timed_sriovctl() {
  expect_none "sriovctl round $1"
  stamp
  start=$STAMP
  "$BIN" create-vfs eth0 --count "$COUNT" --timeout "$TIMEOUT" >>"$OUT/sriovctl.stdout" 2>>"$OUT/sriovctl.stderr" ||
    fail "sriovctl create-vfs eth0 --count $COUNT exited with $? (see sriovctl.stderr)"
  stamp
  exited=$STAMP
  wait_netdevs
  stamp
  echo "${2:-sriovctl} $1 $(((STAMP - start) / 1000)) $(((exited - start) / 1000))" >>"$RESULTS"
  # The same again, nothing to do: the command's fixed cost (start-up, reading the PF, the lock).
  stamp
  start=$STAMP
  "$BIN" create-vfs eth0 --count "$COUNT" --timeout "$TIMEOUT" >>"$OUT/sriovctl.stdout" 2>>"$OUT/sriovctl.stderr" ||
    fail "sriovctl create-vfs eth0 --count $COUNT (again) exited with $?"
  stamp
  echo "${2:-sriovctl}-noop $1 $(((STAMP - start) / 1000)) $(((STAMP - start) / 1000))" >>"$RESULTS"
  "$BIN" create-vfs eth0 --count 0 --timeout "$TIMEOUT" >>"$OUT/sriovctl.stdout" 2>>"$OUT/sriovctl.stderr" ||
    fail "sriovctl create-vfs eth0 --count 0 exited with $?"
}

: >"$RESULTS"
cat /proc/cmdline >"$OUT/cmdline"
grep -m1 '^model name' /proc/cpuinfo >"$OUT/cpu"
# Warm-up: the binary's pages and libraries are read once before anything is timed.
"$BIN" list >/dev/null 2>&1
# Round 0: the PF down, as the guest boots.
[ "$(cat /sys/class/net/eth0/operstate)" = down ] || fail "eth0 is not down at the start"
timed_raw 0 raw-pfdown
timed_sriovctl 0 sriovctl-pfdown
say "round 0 (PF down): $(tr '\n' ';' <"$RESULTS")"
# From here on the PF is up (sriovctl brought it up); make sure, and let its link settle.
ip link set eth0 up || fail "ip link set eth0 up failed"
sleep 2
round=1
while [ "$round" -le "$ROUNDS" ]; do
  if [ $((round % 2)) = 1 ]; then
    timed_raw "$round"
    timed_sriovctl "$round"
  else
    timed_sriovctl "$round"
    timed_raw "$round"
  fi
  say "round $round: $(grep " $round " "$RESULTS" | tr '\n' ';')"
  round=$((round + 1))
done
dmesg >"$OUT/dmesg.txt"
exit 0
