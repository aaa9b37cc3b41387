#!/bin/sh
# Fuzz/run.sh SECONDS: runs every fuzz target (Fuzz/.build/debug/fuzz-*) for SECONDS on a copy of
# its seed corpus (Fuzz/Corpus/TARGET). Exits 1 when any target crashes, naming the reproducer.
# Built and called by `make fuzz` and `make fuzz-ci`.
set -eu
# Swift's own crash handler would race AddressSanitizer's report.
export SWIFT_BACKTRACE=enable=no
seconds=${1:?usage: Fuzz/run.sh SECONDS}
here=$(cd "$(dirname "$0")" && pwd)
bin=$here/.build/debug
work=$here/.build/runs
rm -rf "$work"
mkdir -p "$work"
# The renderers and fuzz-host-text's .link case need a PF: the X710 fixture, with a stand-in
# for the binary the systemd unit runs.
"$here/../.build/debug/sriovctl-fixture" x710 "$work/host" >/dev/null
mkdir -p "$work/host/usr/local/bin"
: > "$work/host/usr/local/bin/sriovctl"
failed=""
for corpus in "$here"/Corpus/*/; do
  target=$(basename "$corpus")
  mkdir -p "$work/$target/corpus" "$work/$target/crashes"
  cp "$corpus"* "$work/$target/corpus/"
  start=$(date +%s)
  if FUZZ_HOST_ROOT="$work/host" "$bin/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
    -artifact_prefix="$work/$target/crashes/" "$work/$target/corpus" >"$work/$target/log" 2>&1; then
    runs=$(sed -n 's/^#\([0-9]*\).*DONE.*/\1/p' "$work/$target/log" | tail -n 1)
    echo "$target: no crash in $(($(date +%s) - start)) s (${runs:-?} inputs)"
  else
    reproducer=$(ls "$work/$target/crashes/"* 2>/dev/null | head -n 1 || true)
    echo "$target: CRASH after $(($(date +%s) - start)) s"
    { grep -m 2 -E "property violated|Fatal error|runtime failure|ERROR: " "$work/$target/log"
      grep -m 2 "Sources/SRIOVKit/" "$work/$target/log"; } | cut -c 1-300 | sed 's/^/  /' || true
    echo "  reproducer: ${reproducer:-none written} (log: $work/$target/log)"
    echo "  rerun: FUZZ_HOST_ROOT=$work/host $bin/$target ${reproducer:-}"
    failed="$failed $target"
  fi
done
if [ -n "$failed" ]; then
  echo "fuzz: crashes in:$failed"
  exit 1
fi
