#!/bin/sh
# persist-reboot.sh: repeated reboots of one disk with a `persist --method systemd` unit, for the
# Debian guest (testbed.sh run --debian IMAGE --disk-copy DISK; dash, real systemd 252 and udev,
# which renames the igb PF eth0 to enp1s0 while the unit may already run). It checks the race
# between the unit's `create-vfs --wait-for-pf` and udev's rename of the PF.
#
# Usage: persist-reboot.sh install
#          udevadm settle, then `sriovctl persist enp1s0 --count 3 --vlan 0=42 --method systemd
#          --install -o json` (the first boot; creates no VFs itself). Keeps persist.json,
#          persist.stderr, persist.status, unit.name (the unit's name, from the JSON's path).
#        persist-reboot.sh check|check-recreate [WAIT]
#          A later boot: runs no sriovctl command. Waits (up to WAIT s, default 120) until the
#          unit has finished (ActiveState active or failed) and then for 3 VFs with udev-
#          initialised netdevs (at most 30 s more), and keeps in $TESTBED_OUT:
#            wait.txt          how long the waits took and how they ended
#            pf-interface      the PF's interface name, from its sysfs device directory
#            numvfs            its sriov_numvfs
#            vfs.txt           one line a VF: "INDEX ADDRESS driver=NAME net=IF"
#            ip-pf.txt         ip -d link show dev PF-INTERFACE (the "vf N ... vlan 42" lines)
#            unit.txt          systemctl show -p ActiveState,SubState,Result UNIT
#            journal-unit.txt  journalctl -b -u UNIT
#            cannot-rename.txt the boot's journal lines with "cannot rename" (udev's message when
#                              an interface is already up), empty when there is none
#            journal.txt       journalctl -b -o short-monotonic (the whole boot, for timing)
#          check-recreate then also runs create-vfs by hand under udev, `create-vfs 0000:01:00.0
#          --count 0`, then `--count 3 --vlan 0=42 -o json`, and keeps:
#            recreate0.*, recreate.json, recreate.stderr, recreate.status   the two runs
#            recreate-vfs.txt  right after the second returned, one line a VF: "INDEX NAME
#                              initialized=yes|no" (udev's database entry for its ifindex)
set -u
OUT=${TESTBED_OUT:?not running in the test bed}
BIN=${TESTBED_BINARY:-/usr/local/bin/sriovctl}
MODE=${1:?usage: persist-reboot.sh install|check [WAIT]}
WAIT=${2:-120}
PF=0000:01:00.0
DEV=/sys/bus/pci/devices/$PF
UNIT=sriovctl-vfs-0000-01-00.0.service

names() { for f in "$1"/*; do [ -e "$f" ] && printf '%s\n' "${f##*/}"; done; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }

case $MODE in
  install)
    udevadm settle --timeout=60 || echo "persist-reboot.sh: warning: udevadm settle timed out"
    names "$DEV/net" >"$OUT/pf-interface"
    "$BIN" persist enp1s0 --count 3 --vlan 0=42 --method systemd --install -o json \
      >"$OUT/persist.json" 2>"$OUT/persist.stderr"
    echo $? >"$OUT/persist.status"
    python3 -c 'import json, sys, os; print(os.path.basename(json.load(open(sys.argv[1]))["path"]))' \
      "$OUT/persist.json" >"$OUT/unit.name" 2>/dev/null
    sync
    exit 0
    ;;
  check | check-recreate) ;;
  *)
    echo "persist-reboot.sh: unknown mode $MODE"
    exit 2
    ;;
esac

# vfs_ready: 3 VFs, each bound to a driver with one netdev that udev has finished with.
vfs_ready() {
  [ "$(cat "$DEV/sriov_numvfs" 2>/dev/null)" = 3 ] || return 1
  n=0
  for link in "$DEV"/virtfn*; do
    [ -e "$link/driver" ] || return 1
    set -- "$link"/net/*
    [ -e "$1" ] || return 1
    ifindex=$(cat "$1/ifindex" 2>/dev/null) || return 1
    [ -e "/run/udev/data/n$ifindex" ] || return 1
    n=$((n + 1))
  done
  [ "$n" = 3 ]
}

start=$(uptime_s)
state=unknown
i=0
while [ "$i" -lt "$((WAIT * 10))" ]; do
  state=$(systemctl show -p ActiveState --value "$UNIT" 2>/dev/null)
  case $state in active | failed) break ;; esac
  sleep 0.1
  i=$((i + 1))
done
unit_done=$(uptime_s)
ready=no
i=0
while [ "$i" -lt 300 ]; do
  if vfs_ready; then
    ready=yes
    break
  fi
  sleep 0.1
  i=$((i + 1))
done
udevadm settle --timeout=30 || true
printf 'unit %s\nready %s\nstarted %s\nunit_done %s\nended %s\n' "$state" "$ready" "$start" \
  "$unit_done" "$(uptime_s)" >"$OUT/wait.txt"

pf_if=$(names "$DEV/net" | head -n1)
printf '%s\n' "$pf_if" >"$OUT/pf-interface"
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
[ -n "$pf_if" ] && ip -d link show dev "$pf_if" >"$OUT/ip-pf.txt" 2>&1
systemctl show -p ActiveState,SubState,Result "$UNIT" >"$OUT/unit.txt" 2>&1
journalctl -b --no-pager -u "$UNIT" >"$OUT/journal-unit.txt" 2>&1
journalctl -b --no-pager -o short-monotonic >"$OUT/journal.txt" 2>&1
grep 'cannot rename' "$OUT/journal.txt" >"$OUT/cannot-rename.txt" || true

if [ "$MODE" = check-recreate ]; then
  "$BIN" create-vfs "$PF" --count 0 >"$OUT/recreate0.stdout" 2>"$OUT/recreate0.stderr"
  echo $? >"$OUT/recreate0.status"
  "$BIN" create-vfs "$PF" --count 3 --vlan 0=42 -o json >"$OUT/recreate.json" 2>"$OUT/recreate.stderr"
  echo $? >"$OUT/recreate.status"
  # At once: the names the report should have given, as the VFs' own directories have them.
  for link in "$DEV"/virtfn*; do
    [ -e "$link" ] || continue
    for net in "$link"/net/*; do
      [ -e "$net" ] || continue
      initialized=no
      [ -e "/run/udev/data/n$(cat "$net/ifindex")" ] && initialized=yes
      echo "${link##*/virtfn} ${net##*/} initialized=$initialized"
    done
  done | sort -n >"$OUT/recreate-vfs.txt"
fi
exit 0
