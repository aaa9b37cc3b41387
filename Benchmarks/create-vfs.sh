#!/usr/bin/env bash
# Benchmark: `sriovctl create-vfs PF --count N` against the raw `echo N > sriov_numvfs` plus polling
# for the N VF netdevs, on a real kernel: one boot of the VM test bed (Tests/vm/testbed.sh: Debian's
# 6.1 kernel under QEMU TCG, emulated Intel 82576 igb PF, VFs on igbvf), alternating the two paths
# (Tests/vm/scenarios/bench-create-vfs.sh). Each is timed in the guest from its start until all N
# netdevs exist. Target: sriovctl's median at most 10% over the raw path's. A first run of each
# path with the PF down as booted (create-vfs brings it up; the raw path does not) is reported
# apart; the rounds compared start with the PF up and no VFs.
#
# Usage: Benchmarks/create-vfs.sh [SRIOVCTL_BINARY] [--rounds R] [--count N]
#   SRIOVCTL_BINARY  default .build/release/sriovctl (swift build -c release --static-swift-stdlib)
#   --rounds R       runs of each path (default 5)
#   --count N        VFs to create, 1 to 7 (default 4; each igbvf probe takes ~2 s under QEMU)
# Needs the test bed (`sudo Tests/vm/testbed.sh prepare`) and python3. Prints a Markdown table and
# exits 1 when the ratio exceeds 1.10 (or a run failed).
set -euo pipefail
cd "$(dirname "$0")/.."

bin=.build/release/sriovctl
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  bin=$1
  shift
fi
rounds=5 count=4
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=${2:?--rounds needs a number}; shift 2 ;;
    --count) count=${2:?--count needs a number}; shift 2 ;;
    *) echo "unknown option: $1" >&2; exit 64 ;;
  esac
done
case "$rounds$count" in *[!0-9]*) echo "--rounds and --count take numbers" >&2; exit 64 ;; esac
if [ "$rounds" -lt 1 ] || [ "$count" -lt 1 ] || [ "$count" -gt 7 ]; then
  echo "--rounds must be at least 1 and --count 1 to 7 (igb's sriov_totalvfs)" >&2
  exit 64
fi
[ -x "$bin" ] || { echo "no sriovctl binary at $bin (run 'make release')" >&2; exit 1; }
if ! "$bin" create-vfs --help 2>&1 | grep -q -- '--count'; then
  echo "$bin has no working create-vfs (a stale build? run 'make release')" >&2
  exit 1
fi
command -v python3 >/dev/null || { echo "python3 is needed" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# About (2 s x count + 4 s) x 2 paths + undoing them, per round, plus the boot.
timeout=$((90 + (rounds + 1) * (count * 10 + 30)))
# The guest's clock runs with the host's CPU: other busy processes (another QEMU) slow both paths,
# unevenly. The host's load is reported with the results.
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
others=$(pgrep -c qemu-system || true)
if ! Tests/vm/testbed.sh run --binary "$bin" --cpu max,vendor=GenuineIntel --timeout "$timeout" \
  --out "$work/run" -- Tests/vm/scenarios/bench-create-vfs.sh "$rounds" "$count" 120 >"$work/testbed.log" 2>&1; then
  echo "the benchmark boot failed:" >&2
  cat "$work/testbed.log" >&2
  for file in failure sriovctl.stderr; do
    [ -s "$work/run/$file" ] && { echo "--- $file" >&2; cat "$work/run/$file" >&2; }
  done
  [ -f "$work/run/console.log" ] && { echo "--- console (end)" >&2; tail -n 40 "$work/run/console.log" >&2; }
  exit 1
fi

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$work/run" "$rounds" "$count" "$(realpath "$bin")" "$load_before" "$load_after" "$others" <<'PY'
import statistics, sys, pathlib
run, rounds, count, binary = pathlib.Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
load_before, load_after, others = sys.argv[5], sys.argv[6], int(sys.argv[7] or 0)
methods = ("raw", "sriovctl", "raw-pfdown", "sriovctl-pfdown", "sriovctl-noop", "sriovctl-pfdown-noop")
ready, first = {m: [] for m in methods}, {m: [] for m in methods}
by_round = {}
for line in (run / "bench.tsv").read_text().split("\n"):
    if line.strip():
        method, round_, ready_ms, first_ms = line.split()
        ready[method].append(int(ready_ms))
        first[method].append(int(first_ms))
        by_round.setdefault(int(round_), {})[method] = int(ready_ms)
for method, expected in (("raw", rounds), ("sriovctl", rounds), ("raw-pfdown", 1), ("sriovctl-pfdown", 1)):
    if len(ready[method]) != expected:
        sys.exit(f"expected {expected} {method} runs, got {len(ready[method])}")
testbed = dict(l.split(": ", 1) for l in (run / "testbed.txt").read_text().splitlines() if ": " in l)
cpu = (run / "cpu").read_text().split(":", 1)[-1].strip()
med = {m: statistics.median(v) for m, v in ready.items() if v}
ratio = med["sriovctl"] / med["raw"]
print(f"Test bed: {testbed.get('qemu', 'QEMU').strip()}, TCG, guest CPU {cpu}, "
      f"kernel {testbed.get('kernel_package', '?').strip()}; {count} VFs, {rounds} runs of each path, alternating; "
      f"binary {binary}")
print()
print("| path | median | min | max | all runs (ms) |")
print("|---|---|---|---|---|")
rows = {"raw": f"echo {count} > sriov_numvfs, poll for {count} netdevs",
        "sriovctl": f"sriovctl create-vfs eth0 --count {count}"}
for m in ("raw", "sriovctl"):
    v = ready[m]
    print(f"| {rows[m]} | {med[m]:.0f} ms | {min(v)} ms | {max(v)} ms | {', '.join(map(str, v))} |")
print()
print(f"First run, PF (eth0) down as booted (not in the medians): raw {ready['raw-pfdown'][0]} ms; "
      f"sriovctl {ready['sriovctl-pfdown'][0]} ms, which includes bringing eth0 up "
      f"({ready['sriovctl-pfdown'][0] - ready['raw-pfdown'][0]:+d} ms). The rounds compared start with the PF up.")
print(f"raw write alone (until echo returned): median {statistics.median(first['raw']):.0f} ms; "
      f"sriovctl until it exited: median {statistics.median(first['sriovctl']):.0f} ms")
print(f"sriovctl with nothing to do (the same command again): median {med['sriovctl-noop']:.0f} ms")
paired = [r["sriovctl"] / r["raw"] for n, r in sorted(by_round.items()) if n > 0]
print(f"per-round ratios (each round's two runs are adjacent in time): {', '.join(f'{x:.2f}' for x in paired)}; "
      f"median {statistics.median(paired):.3f}")
print(f"host load average before/after: {load_before} / {load_after}; other QEMU processes at the start: {others}")
print(f"sriovctl overhead: {med['sriovctl'] - med['raw']:+.0f} ms; ratio sriovctl/raw {ratio:.3f} (target <= 1.10)")
ok = ratio <= 1.10
print("target: met" if ok else "target: NOT met")
sys.exit(0 if ok else 1)
PY
