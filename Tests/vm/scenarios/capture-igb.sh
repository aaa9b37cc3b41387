#!/bin/sh
# capture-igb.sh: a test bed scenario (runs in the guest with busybox sh, see ../testbed.sh) that
# enables VFs on the emulated Intel 82576 (igb) and snapshots the parts of sysfs, procfs and the
# kernel log that sriovctl reads, as a host-root tree, for use as a fixture host (--root).
#
# Usage (in the guest): capture-igb.sh [NUMVFS]      (default 3)
#
# Writes into $TESTBED_OUT:
#   root/        the tree: /sys/devices/... under the devices' real paths, the /sys/bus, /sys/class,
#                /sys/kernel/iommu_groups and /sys/module links and directories, /proc files,
#                /dev/kmsg as a file of kmsg records
#   list.json    `sriovctl list -o json` as run on the real kernel (stdout only)
#   list.txt     `sriovctl list` likewise
#   sriovctl.stderr, capture.log   diagnostics
#
# What is copied: regular attribute files on a whitelist, read once each with cat, with the mode
# the kernel gives them. Never read: write-only and side-effect files (remove, rescan, reset,
# bind/unbind/new_id/remove_id, which are created empty), ROM and VPD, and the resourceN BAR files
# (mmap only). Symbolic links are recreated with the kernel's own (relative) targets.
#
# Steps before the snapshot: IPv6 is switched off (so nothing is ever transmitted), the PF is set
# up (as on a host that uses it; it has carrier, with nothing on the other end), NUMVFS VFs are
# created through sriov_numvfs and the script waits (at most 60 s) for every VF to have an igbvf
# netdev. With QEMU's igb each VF probe takes ~2 s ("PF still in reset state", "PF still
# resetting"), so the write takes ~6 s for 3 VFs. VFs stay down and keep the random MACs igbvf
# gives them (igb assigns none), so two captures differ there, as do kernel log timestamps.

set -u
OUT=${TESTBED_OUT:?not running in the test bed}
ROOT=$OUT/root
NUMVFS=${1:-3}
LOG=$OUT/capture.log

log() { echo "capture: $*" | tee -a "$LOG"; }
# phase NAME: a progress line with the time since boot.
phase() { log "[$(cut -d' ' -f1 /proc/uptime) s] $*"; }
fail() {
  log "FAILED: $*"
  exit 1
}

# Attributes of a PCI function that are copied when present and readable (sysfs-bus-pci). Not
# here on purpose: remove rescan reset (write-only), rom vpd (reads touch the device), resourceN
# and resourceN_wc (BAR mappings), and everything else not named.
PCI_ATTRS="vendor device class subsystem_vendor subsystem_device revision config resource irq
numa_node local_cpus local_cpulist enable modalias msi_bus uevent driver_override label index
acpi_index boot_vga broken_parity_status consistent_dma_mask_bits dma_mask_bits d3cold_allowed
power_state reset_method ari_enabled current_link_speed current_link_width max_link_speed
max_link_width secondary_bus_number subordinate_bus_number aer_dev_correctable aer_dev_fatal
aer_dev_nonfatal aer_rootport_total_err_cor aer_rootport_total_err_fatal
aer_rootport_total_err_nonfatal sriov_totalvfs sriov_numvfs sriov_offset sriov_stride
sriov_vf_device sriov_drivers_autoprobe sriov_vf_total_msix sriov_vf_msix_count"
# Symbolic links of a PCI function (firmware_node, pointing into the ACPI tree, is left out).
PCI_LINKS="driver iommu_group iommu subsystem physfn"
# Attributes of a network interface (sysfs-class-net). Some (carrier, speed, duplex,
# phys_port_name ...) fail to read in some states: those are left out, as a reader would see.
NET_ATTRS="address addr_assign_type addr_len broadcast carrier carrier_changes carrier_down_count
carrier_up_count dev_id dev_port dormant duplex flags gro_flush_timeout ifalias ifindex iflink
link_mode mtu name_assign_type napi_defer_hard_irqs netdev_group operstate phys_port_id
phys_port_name phys_switch_id proto_down speed testing threaded tx_queue_len type uevent"
NET_LINKS="device subsystem"
# Files of a driver directory that are write-only: created empty, never read.
DRIVER_WRITE_ONLY="bind unbind new_id remove_id uevent"

# Copying is done a directory at a time (one stat and one cp for many files): under TCG every
# process the guest starts costs milliseconds, and a file at a time took ~40 s instead of ~8.
# Names in sysfs have no blanks, so lists of them are kept in plain words.

# copy_files DIR NAME...: the named entries of DIR that are regular files with a read bit (for
# anyone: root could read write-only ones too, and must not), into ROOT/DIR, contents and modes.
# Files the kernel refuses to read (EINVAL, EOPNOTSUPP) are left out, as a reader would see them.
copy_files() {
  dir=$1
  shift
  list=
  for name in "$@"; do
    [ -f "$dir/$name" ] && [ ! -L "$dir/$name" ] && list="$list $dir/$name"
  done
  [ -n "$list" ] || return 0
  readable=
  # shellcheck disable=SC2086 # word lists on purpose
  for entry in $(stat -c '%a:%n' $list); do
    case ${entry%%:*} in
      *[4567]*) readable="$readable ${entry#*:}" ;;
    esac
  done
  [ -n "$readable" ] || return 0
  [ -d "$ROOT$dir" ] || mkdir -p "$ROOT$dir"
  # shellcheck disable=SC2086
  cp -p $readable "$ROOT$dir/" 2>/dev/null
  # A read error leaves an empty copy or none: those, and the truly empty files, are read again
  # one by one to tell them apart.
  for src in $readable; do
    [ -s "$ROOT$src" ] && continue
    if cat "$src" >"$ROOT$src" 2>/dev/null; then
      chmod "$(stat -c %a "$src")" "$ROOT$src"
    else
      rm -f "$ROOT$src"
      echo "unreadable: $src" >>"$LOG"
    fi
  done
}

# copy_links DIR NAME...: the named entries of DIR that are symbolic links, recreated in ROOT/DIR
# with the kernel's (relative) targets.
copy_links() {
  dir=$1
  shift
  list=
  for name in "$@"; do
    [ -L "$dir/$name" ] && list="$list $dir/$name"
  done
  [ -n "$list" ] || return 0
  [ -d "$ROOT$dir" ] || mkdir -p "$ROOT$dir"
  # shellcheck disable=SC2086
  cp -a $list "$ROOT$dir/"
}

# names DIR PATTERN: the names in DIR matching the glob PATTERN, as a word list.
names() {
  found=
  for path in "$1"/$2; do
    [ -e "$path" ] || [ -L "$path" ] || continue
    found="$found ${path##*/}"
  done
  echo "$found"
}

# empty_files DIR NAME...: empty files in ROOT/DIR with the modes of the named write-only files
# of DIR (a driver's bind, unbind...), which are never read.
empty_files() {
  dir=$1
  shift
  for name in "$@"; do
    [ -f "$dir/$name" ] || continue
    [ -d "$ROOT$dir" ] || mkdir -p "$ROOT$dir"
    : >"$ROOT$dir/$name"
    chmod "$(stat -c %a "$dir/$name")" "$ROOT$dir/$name"
  done
}

# copy_netdev DIR: a network interface's directory (DIR is its real path).
copy_netdev() {
  [ -d "$ROOT$1" ] || mkdir -p "$ROOT$1"
  # shellcheck disable=SC2086
  copy_files "$1" $NET_ATTRS
  # shellcheck disable=SC2086
  copy_links "$1" $NET_LINKS
}

# ---------------------------------------------------------------------------------------------
# 1. Make the VFs.

: >"$LOG"
pf=
for dev in /sys/bus/pci/devices/*; do
  if [ "$(cat "$dev/vendor")" = 0x8086 ] && [ "$(cat "$dev/device")" = 0x10c9 ]; then
    pf=${dev##*/}
    break
  fi
done
[ -n "$pf" ] || fail "no Intel 82576 PF (8086:10c9) on the PCI bus"
PF=/sys/bus/pci/devices/$pf
log "PF $pf: sriov_totalvfs $(cat "$PF/sriov_totalvfs"), sriov_numvfs $(cat "$PF/sriov_numvfs")"
ifaces=$(ls "$PF/net" 2>/dev/null)
[ -n "$ifaces" ] || fail "the PF has no network interface (is igb loaded?)"

# No IPv6 (neighbour discovery, router solicitations): the guest never transmits anything.
echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6 2>/dev/null || true
echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6 2>/dev/null || true
for iface in $ifaces; do
  echo 1 >"/proc/sys/net/ipv6/conf/$iface/disable_ipv6" 2>/dev/null || true
  ip link set dev "$iface" up || fail "cannot set $iface up"
done

start=$(cut -d' ' -f1 /proc/uptime)
echo "$NUMVFS" >"$PF/sriov_numvfs" || fail "writing $NUMVFS to $PF/sriov_numvfs failed"
log "sriov_numvfs write took $(awk -v s="$start" '{ printf "%.2f", $1 - s }' /proc/uptime) s"

# Wait (at most 60 s) until every VF has a network interface.
tries=0
while :; do
  ready=0
  for vf in "$PF"/virtfn*; do
    [ -n "$(ls "$vf/net" 2>/dev/null)" ] && ready=$((ready + 1))
  done
  [ "$ready" -ge "$NUMVFS" ] && break
  tries=$((tries + 1))
  [ "$tries" -le 600 ] || fail "only $ready of $NUMVFS VFs have a network interface after 60 s"
  sleep 0.1
done
log "$ready VFs with network interfaces after $(awk -v s="$start" '{ printf "%.2f", $1 - s }' /proc/uptime) s"

# ---------------------------------------------------------------------------------------------
# 2. The snapshot.

mkdir -p "$ROOT"

phase "snapshot: PCI functions"
# PCI functions under their real paths, with their attributes, links and interfaces.
for dev in /sys/bus/pci/devices/*; do
  real=$(readlink -f "$dev")
  mkdir -p "$ROOT$real"
  # shellcheck disable=SC2086
  copy_files "$real" $PCI_ATTRS
  # shellcheck disable=SC2046,SC2086
  copy_links "$real" $PCI_LINKS $(names "$real" 'virtfn*')
  # shellcheck disable=SC2046
  copy_files "$real/msi_irqs" $(names "$real/msi_irqs" '*')
  for net in "$real"/net/*; do
    [ -d "$net" ] && copy_netdev "$net"
  done
done
# shellcheck disable=SC2046
copy_links /sys/bus/pci/devices $(names /sys/bus/pci/devices '*')

phase "snapshot: PCI drivers and slots"
# The PCI bus: its drivers (device and module links; the control files created empty), slots.
copy_files /sys/bus/pci drivers_autoprobe
for driver in /sys/bus/pci/drivers/*; do
  mkdir -p "$ROOT$driver"
  # shellcheck disable=SC2046
  copy_links "$driver" $(names "$driver" '*')
  # shellcheck disable=SC2086
  empty_files "$driver" $DRIVER_WRITE_ONLY
done
for slot in /sys/bus/pci/slots/*; do
  [ -d "$slot" ] && copy_files "$slot" address cur_bus_speed max_bus_speed
done

phase "snapshot: network interfaces"
# Network interfaces: /sys/class/net links, and the directories of those not on PCI (lo).
mkdir -p "$ROOT/sys/class/net"
# shellcheck disable=SC2046
copy_links /sys/class/net $(names /sys/class/net '*')
for link in /sys/class/net/*; do
  real=$(readlink -f "$link")
  [ -d "$ROOT$real" ] || copy_netdev "$real"
done

phase "snapshot: IOMMU"
# IOMMU: groups with their device links, and the IOMMU units (with --viommu). The directories
# exist even when empty, as on a host without an active IOMMU.
mkdir -p "$ROOT/sys/kernel/iommu_groups" "$ROOT/sys/class/iommu"
for group in /sys/kernel/iommu_groups/*; do
  [ -d "$group" ] || continue
  mkdir -p "$ROOT$group/devices"
  copy_files "$group" type reserved_regions
  # shellcheck disable=SC2046
  copy_links "$group/devices" $(names "$group/devices" '*')
done
# shellcheck disable=SC2046
copy_links /sys/class/iommu $(names /sys/class/iommu '*')
for unit in /sys/class/iommu/*; do
  [ -L "$unit" ] || continue
  real=$(readlink -f "$unit")
  mkdir -p "$ROOT$real/devices"
  for kind in intel-iommu amd-iommu; do
    # shellcheck disable=SC2046
    [ -d "$real/$kind" ] && copy_files "$real/$kind" $(names "$real/$kind" '*')
  done
  # shellcheck disable=SC2046
  copy_links "$real/devices" $(names "$real/devices" '*')
done
# The ACPI tables an IOMMU check looks for (virt-host-validate reads DMAR or IVRS).
copy_files /sys/firmware/acpi/tables DMAR IVRS

phase "snapshot: modules"
# Kernel modules as sysfs shows them: a directory for each, built-in ones included (libkmod
# tells them apart by initstate, which only loaded modules have). Loaded modules also get their
# state, parameters and PCI driver links; built-in ones only their version.
dirs=
for module in /sys/module/*; do dirs="$dirs $ROOT$module"; done
# shellcheck disable=SC2086
mkdir -p $dirs
for module in /sys/module/*; do
  if [ -f "$module/initstate" ]; then
    copy_files "$module" initstate refcnt version srcversion taint coresize
    # shellcheck disable=SC2046
    copy_files "$module/parameters" $(names "$module/parameters" '*')
    # shellcheck disable=SC2046
    copy_links "$module/drivers" $(names "$module/drivers" 'pci:*')
  elif [ -f "$module/version" ]; then
    copy_files "$module" version
  fi
done

phase "snapshot: procfs"
copy_files /proc cmdline cpuinfo modules version
copy_files /proc/sys/kernel osrelease

phase "sriovctl list"
sriovctl_status=0
/bin/sriovctl list -o json >"$OUT/list.json" 2>"$OUT/sriovctl.stderr" || sriovctl_status=$?
/bin/sriovctl list >"$OUT/list.txt" 2>>"$OUT/sriovctl.stderr" || sriovctl_status=$?
log "sriovctl list exited with status $sriovctl_status"
cat "$OUT/list.txt"

# ---------------------------------------------------------------------------------------------
# 4. The kernel log, last, as /dev/kmsg records ("PRI,SEQ,USEC,FLAGS;text" lines, each followed
# by its " KEY=value" continuation lines). Each read() of /dev/kmsg returns one record and blocks
# at the end: GNU dd (added with --include /usr/bin/dd) reads it non-blocking and stops there with
# EAGAIN. Without it, busybox cat is stopped by timeout after 2 s (the records are already out).
phase "kernel log"
mkdir -p "$ROOT/dev"
if [ -x /usr/bin/dd ]; then
  /usr/bin/dd if=/dev/kmsg of="$ROOT/dev/kmsg" iflag=nonblock bs=65536 2>/dev/null
  reader="GNU dd iflag=nonblock"
  # Cross-check the busybox way against it (the records up to the same sequence number).
  timeout 1 cat /dev/kmsg >/tmp/kmsg.cat 2>/dev/null
  last=$(grep "^[0-9]" "$ROOT/dev/kmsg" | tail -n 1 | cut -d, -f2)
  awk -F, -v last="$last" '/^[0-9]/ { keep = ($2 + 0 <= last + 0) } keep' /tmp/kmsg.cat >/tmp/kmsg.cut
  if cmp -s /tmp/kmsg.cut "$ROOT/dev/kmsg"; then
    log "kmsg: busybox cat with timeout read the same records as dd"
  else
    log "kmsg: WARNING: busybox cat with timeout read different records from dd"
  fi
else
  timeout 2 cat /dev/kmsg >"$ROOT/dev/kmsg" 2>/dev/null
  reader="busybox cat with timeout"
fi
chmod 0644 "$ROOT/dev/kmsg"
log "kmsg: $(grep -c '^[0-9]' "$ROOT/dev/kmsg") records read with $reader"
[ -s "$ROOT/dev/kmsg" ] || fail "no kernel log records read from /dev/kmsg"

phase "done"
log "snapshot: $(find "$ROOT" -type f | wc -l) files, $(find "$ROOT" -type l | wc -l) links"
exit "$sriovctl_status"
