#!/usr/bin/env bash
# capture-fixture.sh: captures a fixture host from a real kernel. Boots the test bed
# (testbed.sh) with scenarios/capture-igb.sh, which enables VFs on QEMU's emulated Intel 82576
# and snapshots sysfs, procfs and the kernel log, then writes
#
#   Tests/Fixtures/hosts/NAME.tar.gz      the host-root tree (sys/, proc/, dev/kmsg), as a
#                                         reproducible tar (sorted, owner 0, mtime 0, gzip -n)
#   Tests/Fixtures/hosts/NAME.list.json   `sriovctl list -o json` as the guest printed it
#
# and checks the result: no link in the tree points outside it or nowhere, and
# `sriovctl --root TREE list -o json` on this machine prints what the guest printed.
#
# Usage: capture-fixture.sh [--name NAME] [--vfs N] [--binary PATH] [--no-check]
#                           [-- TESTBED_RUN_OPTIONS...]
#   --name NAME     fixture name (default qemu-igb)
#   --vfs N         VFs to create (default 3)
#   --binary PATH   the sriovctl binary used in the guest and for the check (default
#                   .build/debug/sriovctl)
#   --no-check      skip the comparison with the host's sriovctl
#   after --        options for `testbed.sh run`; the default is
#                   --viommu --cmdline "intel_iommu=on iommu=pt" (an SR-IOV host with its IOMMU on)
#
# Exits non-zero when the capture fails or the check finds a difference (the files are written
# all the same, so the difference can be examined).

set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
FIXTURES=$REPO_ROOT/Tests/Fixtures/hosts
PROG=${0##*/}

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
  printf '%s: error: %s\n' "$PROG" "$*" >&2
  exit 1
}

name=qemu-igb
vfs=3
binary=$REPO_ROOT/.build/debug/sriovctl
check=1
testbed_options=(--viommu --cmdline "intel_iommu=on iommu=pt")
while (($#)); do
  case $1 in
    --name) name=${2:?--name needs a name}; shift 2 ;;
    --vfs) vfs=${2:?--vfs needs a number}; shift 2 ;;
    --binary) binary=${2:?--binary needs a path}; shift 2 ;;
    --no-check) check=0; shift ;;
    --) shift; testbed_options=("$@"); break ;;
    -h | --help) sed -n '2,/^$/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
[[ $name =~ ^[A-Za-z0-9._-]+$ ]] || die "--name must be a plain file name"
[[ $vfs =~ ^[1-7]$ ]] || die "--vfs must be 1 to 7 (the igb driver allows 7)"
[[ -x $binary ]] || die "$binary does not exist: run 'swift build' first"

work=$(mktemp -d "${TMPDIR:-/tmp}/sriovctl-capture.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

# 1. The capture. GNU dd goes into the guest for its non-blocking /dev/kmsg read.
status=0
"$SCRIPT_DIR/testbed.sh" run --binary "$binary" --out "$work/run" --include /usr/bin/dd \
  "${testbed_options[@]}" -- "$SCRIPT_DIR/scenarios/capture-igb.sh" "$vfs" || status=$?
if ((status != 0)); then
  [[ -f $work/run/capture.log ]] && sed 's/^/  | /' "$work/run/capture.log" >&2
  [[ -s $work/run/sriovctl.stderr ]] && sed 's/^/  sriovctl: /' "$work/run/sriovctl.stderr" >&2
  die "the capture failed (status $status); console: see above"
fi
[[ -d $work/run/root/sys && -s $work/run/list.json ]] ||
  die "the guest delivered no tree or no list.json"
if [[ -s $work/run/sriovctl.stderr ]]; then
  log "sriovctl in the guest wrote to stderr:"
  sed 's/^/  | /' "$work/run/sriovctl.stderr" >&2
fi

# 2. The fixture files: a reproducible archive of the tree (links and empty directories kept).
mkdir -p "$FIXTURES"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --format=gnu \
  -C "$work/run/root" -cf - . | gzip -9n >"$work/$name.tar.gz"
cp -- "$work/run/list.json" "$work/$name.list.json"
mv -- "$work/$name.tar.gz" "$FIXTURES/$name.tar.gz"
mv -- "$work/$name.list.json" "$FIXTURES/$name.list.json"
log "wrote $FIXTURES/$name.tar.gz ($(du -k "$FIXTURES/$name.tar.gz" | cut -f1) KiB) and $name.list.json"
grep -E 'kernel_package|qemu:|kernel_cmdline|vm_seconds' "$work/run/testbed.txt" | sed 's/^/  /' >&2

((check)) || exit 0

# 3. The check, on a fresh extraction of the archive just written.
tree=$work/extracted
mkdir -p "$tree"
tar -xzf "$FIXTURES/$name.tar.gz" -C "$tree"
broken=$(cd "$tree" && find . -type l | while IFS= read -r link; do
  target=$(readlink "$link")
  [[ $target == /* ]] && { echo "$link -> $target (absolute)"; continue; }
  resolved=$(realpath -m "$(dirname "$link")/$target")
  [[ $resolved == "$tree"/* || $resolved == "$tree" ]] || { echo "$link -> $target (leaves the tree)"; continue; }
  [[ -e $link ]] || echo "$link -> $target (dangling)"
done)
if [[ -n $broken ]]; then
  log "links that do not resolve inside the tree:"
  printf '  %s\n' "$broken" >&2
  check_failed=1
else
  check_failed=0
fi

host_status=0
"$binary" --root "$tree" list -o json >"$work/host.list.json" 2>"$work/host.stderr" || host_status=$?
if ((host_status != 0)); then
  sed 's/^/  | /' "$work/host.stderr" >&2
  log "sriovctl --root on the fixture failed with status $host_status"
  check_failed=1
elif ! cmp -s "$work/host.list.json" "$FIXTURES/$name.list.json"; then
  log "sriovctl --root on the fixture prints something else than sriovctl in the guest:"
  diff -u --label guest "$FIXTURES/$name.list.json" --label "host --root" "$work/host.list.json" >&2 || true
  check_failed=1
else
  log "check: sriovctl --root on the fixture prints the same as in the guest"
fi
exit "$check_failed"
