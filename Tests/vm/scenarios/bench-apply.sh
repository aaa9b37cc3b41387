#!/bin/sh
# bench-apply.sh: a test bed scenario (busybox sh in the guest, booted with --igb2) for
# Benchmarks/apply.sh. Times, in one boot, two ways of getting COUNT VFs with their netdevs on
# each of the two igb PFs (0000:01:00.0 and 0000:02:00.0), from 0, ROUNDS times each, alternating
# which goes first:
#   raw    `echo COUNT > sriov_numvfs` on both PFs at once (two background writes, then wait),
#          then poll until 2 x COUNT VF netdevs exist
#   apply  `sriovctl apply -f FILE` with one policy selecting both PFs, then the same poll
# Both PFs are brought up first (apply would do it; the raw path does not), so every timed run
# starts from the same state. Each run is undone with `echo 0` (not timed). Timestamps come from
# $EPOCHREALTIME: taking one starts no process.
#
# Results in $TESTBED_OUT/bench.tsv, a line per run: METHOD ROUND MS
# Usage: bench-apply.sh [ROUNDS] [COUNT] [TIMEOUT]   (defaults 5, 3, 120 s)
set -u
OUT=${TESTBED_OUT:?not running in the test bed}
BIN=${TESTBED_BINARY:-/bin/sriovctl}
ROUNDS=${1:-5}
COUNT=${2:-3}
TIMEOUT=${3:-120}
PF1=/sys/bus/pci/devices/0000:01:00.0
PF2=/sys/bus/pci/devices/0000:02:00.0
RESULTS=$OUT/bench.tsv

fail() {
  echo "bench-apply.sh: FAILED: $*"
  echo "$*" >"$OUT/failure"
  dmesg >"$OUT/dmesg.txt"
  exit 1
}

stamp() {
  # shellcheck disable=SC3028 # busybox ash has it
  t=$EPOCHREALTIME
  STAMP=${t%.*}${t#*.}
}

# wait_netdevs: spins until 2 x COUNT VF netdevs exist (globbing only, no process per check).
wait_netdevs() {
  stamp
  deadline=$((STAMP + TIMEOUT * 1000000))
  while :; do
    set -- "$PF1"/virtfn*/net/* "$PF2"/virtfn*/net/*
    n=0
    for dev in "$@"; do [ -e "$dev" ] && n=$((n + 1)); done
    [ "$n" -eq $((COUNT * 2)) ] && return 0
    stamp
    [ "$STAMP" -lt "$deadline" ] || fail "$((COUNT * 2)) VF netdevs did not appear within ${TIMEOUT}s"
  done
}

undo() {
  echo 0 >"$PF1/sriov_numvfs" || fail "echo 0 to PF 1"
  echo 0 >"$PF2/sriov_numvfs" || fail "echo 0 to PF 2"
}

raw() {
  stamp
  start=$STAMP
  echo "$COUNT" >"$PF1/sriov_numvfs" &
  a=$!
  echo "$COUNT" >"$PF2/sriov_numvfs" &
  b=$!
  wait "$a" || fail "raw write to PF 1"
  wait "$b" || fail "raw write to PF 2"
  wait_netdevs
  echo "raw $1 $(((STAMP - start) / 1000))" >>"$RESULTS"
  undo
}

apply() {
  stamp
  start=$STAMP
  "$BIN" apply -f /tmp/node.yaml --timeout "$TIMEOUT" >"$OUT/apply.stdout" 2>"$OUT/apply.stderr" ||
    fail "sriovctl apply: $(cat "$OUT/apply.stderr")"
  wait_netdevs
  echo "apply $1 $(((STAMP - start) / 1000))" >>"$RESULTS"
  undo
}

cat >/tmp/node.yaml <<YAML
version: 1
policies:
  - name: both
    nicSelector: {rootDevices: ["0000:01:00.0", "0000:02:00.0"]}
    numVfs: $COUNT
YAML
: >"$RESULTS"
for dev in "$PF1"/net/* "$PF2"/net/*; do ip link set "${dev##*/}" up || fail "ip link set ${dev##*/} up"; done
round=1
while [ "$round" -le "$ROUNDS" ]; do
  if [ $((round % 2)) -eq 1 ]; then raw "$round"; apply "$round"; else apply "$round"; raw "$round"; fi
  round=$((round + 1))
done
dmesg >"$OUT/dmesg.txt"
exit 0
