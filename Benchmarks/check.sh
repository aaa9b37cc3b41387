#!/usr/bin/env bash
# Benchmark: `sriovctl check -o json` on each fixture host (x710, connectx5-disabled, no-sriov),
# without --kubeconfig: every host check, the four of issue 14 included. Target: under 50 ms
# (median) on each.
#
# Usage: Benchmarks/check.sh [SRIOVCTL_BINARY]
# Needs hyperfine (installed with apt-get when missing). Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${1:-.build/release/sriovctl}
fixture_tool=$(dirname "$bin")/sriovctl-fixture
[ -x "$bin" ] || { echo "no sriovctl binary at $bin (run 'make release')" >&2; exit 1; }
[ -x "$fixture_tool" ] || { echo "no sriovctl-fixture beside $bin" >&2; exit 1; }
if ! command -v hyperfine >/dev/null; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q hyperfine >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
hosts=(x710 connectx5-disabled no-sriov)
args=()
for host in "${hosts[@]}"; do
  "$fixture_tool" "$host" "$work/$host" >/dev/null
  # Every check ran (ten ids, nic.sriov once per PF or once for no PF).
  ids=$("$bin" --root "$work/$host" check -o json | grep -c '"id": ' || true)
  [ "$ids" -ge 10 ] || { echo "check on $host gave $ids checks, expected at least 10" >&2; exit 1; }
  args+=(-n "$host" "$bin --root $work/$host check -o json")
done
# check exits 1 on a host that is not ready: that is its answer, not a failure of the run.
hyperfine --style none --warmup 3 --min-runs 30 -i --export-json "$work/times.json" "${args[@]}" >/dev/null

python3 - "$work/times.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
print("| host | median | mean ± stddev |")
print("|---|---|---|")
worst = 0.0
for r in results:
    worst = max(worst, r["median"])
    print(f"| {r['command']} | {r['median']*1000:.1f} ms | {r['mean']*1000:.1f} ± {r['stddev']*1000:.1f} ms |")
print()
print(f"slowest median: {worst*1000:.1f} ms (target < 50 ms)")
print("targets: met" if worst < 0.050 else "targets: NOT met")
sys.exit(0 if worst < 0.050 else 1)
PY
