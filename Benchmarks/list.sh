#!/usr/bin/env bash
# Benchmark: `sriovctl list -o json` against `lspci -vvv` on the same large fixture host
# (8 PFs x 128 VFs with VF netdevs, by default), both reading sysfs beneath the fixture root.
#
# Usage: Benchmarks/list.sh [SRIOVCTL_BINARY] [--pfs N] [--vfs M]
# Needs hyperfine and GNU time (installed with apt-get when missing). Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${1:-.build/release/sriovctl}
shift || true
pfs=8 vfs=128
while [ $# -gt 0 ]; do
  case "$1" in
    --pfs) pfs=$2; shift 2 ;;
    --vfs) vfs=$2; shift 2 ;;
    *) echo "unknown option: $1" >&2; exit 64 ;;
  esac
done
fixture_tool=$(dirname "$bin")/sriovctl-fixture
[ -x "$bin" ] || { echo "no sriovctl binary at $bin (run 'make release')" >&2; exit 1; }
[ -x "$fixture_tool" ] || { echo "no sriovctl-fixture beside $bin" >&2; exit 1; }

missing=""
command -v hyperfine >/dev/null || missing="$missing hyperfine"
[ -x /usr/bin/time ] || missing="$missing time"
command -v lspci >/dev/null || missing="$missing pciutils"
if [ -n "$missing" ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q $missing >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
host="$work/host"
"$fixture_tool" large "$host" --pfs "$pfs" --vfs "$vfs"
functions=$(ls "$host/sys/bus/pci/devices" | wc -l)

# Both must see the same PFs before they are compared.
listed=$("$bin" --root "$host" list -o json | grep -c '"vf_device_id"')
[ "$listed" = "$pfs" ] || { echo "sriovctl listed $listed PFs, expected $pfs" >&2; exit 1; }

lspci_cmd="lspci -A linux-sysfs -O sysfs.path=$host/sys/bus/pci -vvv"
list_cmd="$bin --root $host list -o json"
hyperfine --style none --warmup 3 --min-runs 20 --export-json "$work/times.json" \
  -n lspci "$lspci_cmd" -n sriovctl "$list_cmd" >/dev/null

rss() { # peak RSS in kB, the largest of five runs
  local max=0 kb
  for _ in 1 2 3 4 5; do
    kb=$( { /usr/bin/time -f '%M' "$@" >/dev/null; } 2>&1 | tail -n 1)
    [ "$kb" -gt "$max" ] && max=$kb
  done
  echo "$max"
}
lspci_rss=$(rss $lspci_cmd)
list_rss=$(rss $list_cmd)

python3 - "$work/times.json" "$lspci_rss" "$list_rss" "$pfs" "$vfs" "$functions" <<'PY'
import json, sys
times = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
lspci_rss, list_rss, pfs, vfs, functions = map(int, sys.argv[2:7])
l, s = times["lspci"], times["sriovctl"]
ratio = s["median"] / l["median"]
print(f"Host: {pfs} PFs x {vfs} VFs ({functions} PCI functions), {len(s['times'])}+ runs each")
print()
print("| command | median | mean ± stddev | peak RSS |")
print("|---|---|---|---|")
print(f"| lspci -vvv | {l['median']*1000:.1f} ms | {l['mean']*1000:.1f} ± {l['stddev']*1000:.1f} ms | {lspci_rss/1024:.1f} MiB |")
print(f"| sriovctl list -o json | {s['median']*1000:.1f} ms | {s['mean']*1000:.1f} ± {s['stddev']*1000:.1f} ms | {list_rss/1024:.1f} MiB |")
print()
print(f"sriovctl/lspci time: {ratio:.2f} (target <= 0.50); peak RSS {list_rss/1024:.1f} MiB (target < 30 MiB)")
ok = ratio <= 0.5 and list_rss < 30 * 1024
print("targets: met" if ok else "targets: NOT met")
sys.exit(0 if ok else 1)
PY
