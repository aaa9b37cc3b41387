#!/bin/sh
# check.sh: a test bed scenario (busybox sh in the guest, see ../testbed.sh). Runs `sriovctl list`
# and `sriovctl check` against the real kernel and keeps their output and exit statuses in
# $TESTBED_OUT for the host-side test (Tests/sriovctlTests/VMTests.swift) to assert.
set -u
OUT=${TESTBED_OUT:?not running in the test bed}
BIN=${TESTBED_BINARY:-/bin/sriovctl}

"$BIN" list -o json >"$OUT/list.json" 2>"$OUT/list.stderr"
echo $? >"$OUT/list.status"
"$BIN" check -o json >"$OUT/check.json" 2>"$OUT/check.stderr"
echo $? >"$OUT/check.status"
"$BIN" check >"$OUT/check.txt" 2>>"$OUT/check.stderr"
cat /proc/cmdline >"$OUT/cmdline"
# Every function the kernel set SR-IOV up for, whatever its class: "ADDRESS CLASS TOTALVFS".
for dev in /sys/bus/pci/devices/*; do
  [ -f "$dev/sriov_totalvfs" ] || continue
  echo "${dev##*/} $(cat "$dev/class") $(cat "$dev/sriov_totalvfs")"
done >"$OUT/sriov-functions.txt"
# The kernel's own IOMMU truth, to hold check's verdict against: the IOMMUs it registered
# (/sys/class/iommu) and each IOMMU group's domain type ("iommu-truth.txt": "iommu NAME" lines,
# then "group N TYPE" lines; empty when there is no IOMMU).
{
  for iommu in /sys/class/iommu/*; do
    [ -e "$iommu" ] && echo "iommu ${iommu##*/}"
  done
  for group in /sys/kernel/iommu_groups/*; do
    [ -e "$group" ] || continue
    echo "group ${group##*/} $(cat "$group/type" 2>/dev/null || echo -)"
  done
} >"$OUT/iommu-truth.txt"
# The kernel's huge pages and the device nodes the new checks look at, as the guest sees them.
grep '^HugePages_Total' /proc/meminfo >"$OUT/hugepages.txt"
for node in /dev/vfio/vfio /dev/vhost-net /dev/net/tun; do
  if [ -c "$node" ]; then echo "$node char"; else echo "$node missing"; fi
done >"$OUT/devices.txt"
exit 0
