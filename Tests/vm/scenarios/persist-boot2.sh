#!/bin/sh
# persist-boot2.sh: the second boot of a `sriovctl persist` reboot test, for the Debian guest
# (testbed.sh run --debian IMAGE --disk-copy DISK, the DISK persist-boot1.sh ran on). Runs no
# sriovctl command before the VFs are recorded: whatever boot 1 installed has to create them.
# Waits (up to WAIT seconds, default 120) for 3 VFs as EXPECT says (default netdev: each bound
# to a driver with a udev-initialised netdev; unbound: no driver; vfio-pci: each bound to
# vfio-pci), then keeps in $TESTBED_OUT:
#   wait.txt           how long the wait took and whether it ended with the VFs there
#   numvfs             cat /sys/bus/pci/devices/0000:01:00.0/sriov_numvfs
#   vfs.txt            one line a VF: "INDEX ADDRESS driver=NAME net=IF"
#   list.json, list.stderr, list.status   sriovctl list -o json (after the recording above)
#   ip-pf.txt          ip -d link show PF (the PF's interface, enp1s0 under udev)
#   links.txt          ip -br link (every interface: names, states, MACs)
#   pf-interface       the PF's interface name
#   systemctl.txt      systemctl status of every sriovctl* unit, and list-unit-files
#   unit-state.txt     for each sriovctl*.service under /etc/systemd/system, what systemd says of it
#                      in this boot: "UNIT ActiveState=... ExecMainStatus=... Result=... SubState=..."
#   udevadm-pf.txt, udevadm-vfN.txt   udevadm info of the PF's and the VFs' interfaces
#   journal-sriovctl.txt   journalctl -b -u 'sriovctl*'
#   journal.txt        journalctl -b -o short-monotonic (the whole boot, for timing)
#   etc-files.txt      as in persist-boot1.sh
#
# Usage: persist-boot2.sh [WAIT [EXPECT]]
set -u
OUT=${TESTBED_OUT:?not running in the test bed}
BIN=${TESTBED_BINARY:-/usr/local/bin/sriovctl}
# Boot 1 may have installed the Debian package instead: then its binary.
[ -x "$BIN" ] || BIN=/usr/sbin/sriovctl
WAIT=${1:-120}
EXPECT=${2:-netdev}
PF=0000:01:00.0
DEV=/sys/bus/pci/devices/$PF

# names DIR: the entries of DIR, one a line.
names() { for f in "$1"/*; do [ -e "$f" ] && printf '%s\n' "${f##*/}"; done; }

# vfs_ready: 3 VFs as EXPECT says: each bound to a driver with one netdev that udev has finished
# with (netdev), bound to no driver (unbound) or bound to vfio-pci (vfio-pci).
vfs_ready() {
  [ "$(cat "$DEV/sriov_numvfs" 2>/dev/null)" = 3 ] || return 1
  n=0
  for link in "$DEV"/virtfn*; do
    case $EXPECT in
      unbound)
        [ -e "$link" ] && [ ! -e "$link/driver" ] || return 1
        n=$((n + 1))
        continue
        ;;
      vfio-pci)
        [ "$(basename "$(readlink -f "$link/driver" 2>/dev/null)")" = vfio-pci ] || return 1
        n=$((n + 1))
        continue
        ;;
    esac
    [ -e "$link/driver" ] || return 1
    set -- "$link"/net/*
    [ -e "$1" ] || return 1
    ifindex=$(cat "$1/ifindex")
    [ -e "/run/udev/data/n$ifindex" ] || return 1
    n=$((n + 1))
  done
  [ "$n" = 3 ]
}

start=$(cut -d' ' -f1 /proc/uptime)
ready=no
i=0
while [ "$i" -lt "$((WAIT * 10))" ]; do
  if vfs_ready; then
    ready=yes
    break
  fi
  sleep 0.1
  i=$((i + 1))
done
udevadm settle --timeout=30 || true
printf 'ready %s\nstarted %s\nended %s\n' "$ready" "$start" "$(cut -d' ' -f1 /proc/uptime)" >"$OUT/wait.txt"

cat "$DEV/sriov_numvfs" >"$OUT/numvfs" 2>&1
for link in "$DEV"/virtfn*; do
  [ -e "$link" ] || continue
  index=${link##*/virtfn}
  address=$(basename "$(readlink -f "$link")")
  driver=-
  [ -e "$link/driver" ] && driver=$(basename "$(readlink -f "$link/driver")")
  net=$(names "$link/net" | tr '\n' ',' | sed 's/,$//')
  echo "$index $address driver=$driver net=${net:--}"
done | sort -n >"$OUT/vfs.txt"

pf_if=$(names "$DEV/net" | head -n1)
printf '%s\n' "$pf_if" >"$OUT/pf-interface"
if [ -n "$pf_if" ]; then
  ip -d link show "$pf_if" >"$OUT/ip-pf.txt" 2>&1
  udevadm info "/sys/class/net/$pf_if" >"$OUT/udevadm-pf.txt" 2>&1
fi
ip -br link >"$OUT/links.txt" 2>&1
for link in "$DEV"/virtfn*; do
  [ -e "$link" ] || continue
  index=${link##*/virtfn}
  for net in "$link"/net/*; do
    [ -e "$net" ] || continue
    udevadm info "/sys/class/net/${net##*/}" >>"$OUT/udevadm-vf$index.txt" 2>&1
  done
done

{
  echo "# systemctl list-unit-files 'sriovctl*'"
  systemctl list-unit-files --no-pager 'sriovctl*' 2>&1
  echo "# systemctl status 'sriovctl*'"
  systemctl status --no-pager --full 'sriovctl*' 2>&1
  echo "# systemctl --failed"
  systemctl --failed --no-pager 2>&1
} >"$OUT/systemctl.txt"
for unit in /etc/systemd/system/sriovctl*.service; do
  [ -f "$unit" ] || continue
  name=${unit##*/}
  printf '%s %s\n' "$name" "$(systemctl show -p ActiveState,SubState,Result,ExecMainStatus "$name" | sort | tr '\n' ' ')"
done >"$OUT/unit-state.txt"
journalctl -b --no-pager -u 'sriovctl*' >"$OUT/journal-sriovctl.txt" 2>&1
find /etc/udev/rules.d /etc/systemd/system /etc/systemd/network -type f 2>/dev/null |
  sort >"$OUT/etc-files.txt"

# Only now a sriovctl command (it reads, changes nothing).
if [ -x "$BIN" ]; then
  "$BIN" list -o json >"$OUT/list.json" 2>"$OUT/list.stderr"
  echo $? >"$OUT/list.status"
else
  echo "no $BIN" >"$OUT/list.stderr"
  echo 127 >"$OUT/list.status"
fi
journalctl -b --no-pager -o short-monotonic >"$OUT/journal.txt" 2>&1
exit 0
