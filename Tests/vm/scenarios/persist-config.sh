#!/bin/sh
# persist-config.sh: the node unit across a reboot, for the Debian guest (testbed.sh run --debian
# IMAGE --disk-copy DISK --igb2 --viommu; real systemd 252 and udev, which name the PFs enp1s0 and
# enp2s0).
#
# Usage: persist-config.sh install [DEB]
#          udevadm settle; writes a node file (PF 1: 4 VFs, 0-1 on vfio-pci, 2-3 on igbvf with
#          VLAN 100; PF 2: 2 VFs with mac: auto) and runs `sriovctl persist --config -f FILE
#          --install -o json` (creates no VFs). Keeps node.yaml, persist.json, persist.stderr,
#          persist.status.
#        persist-config.sh check [WAIT]
#          The next boot: runs no sriovctl command. Waits (up to WAIT s, default 180) until
#          sriovctl.service has finished and then keeps: state (both PFs' VFs, as apply.sh's
#          state()), ip.txt (ip -d link of both PFs), unit.txt (systemctl show), journal-unit.txt.
set -u
OUT=${TESTBED_OUT:?not running in the test bed}
BIN=${TESTBED_BINARY:-/usr/local/bin/sriovctl}
MODE=${1:?usage: persist-config.sh install|check [WAIT]}
WAIT=${2:-180}
PF1=/sys/bus/pci/devices/0000:01:00.0
PF2=/sys/bus/pci/devices/0000:02:00.0
UNIT=sriovctl.service

# DEB, when given: the sriovctl package, installed first with dpkg -i as an operator would; the
# packaged /usr/sbin/sriovctl then does the work (dpkg-install.log, dpkg-install.status, and
# dpkg-status: the package's status and version afterwards).
install_deb() {
  dpkg -i "$1" >"$OUT/dpkg-install.log" 2>&1
  echo $? >"$OUT/dpkg-install.status"
  dpkg-query -W -f='${Status} ${Version}\n' sriovctl >"$OUT/dpkg-status" 2>&1
  BIN=/usr/sbin/sriovctl
}

name() { for dev in "$1"/net/*; do [ -e "$dev" ] && echo "${dev##*/}" && return; done; }

case $MODE in
  install)
    udevadm settle --timeout=60 || echo "persist-config.sh: warning: udevadm settle timed out"
    [ -z "${2:-}" ] || install_deb "$2"
    cat >/tmp/node.yaml <<YAML
version: 1
policies:
  - name: dpdk
    nicSelector: {pfNames: ["$(name "$PF1")#0-1"]}
    numVfs: 4
    deviceType: vfio-pci
    priority: 10
  - name: kernel
    nicSelector: {pfNames: ["$(name "$PF1")#2-3"]}
    numVfs: 4
    priority: 20
    vfSettings: {vlan: 100}
  - name: second-port
    nicSelector: {rootDevices: ["0000:02:00.0"]}
    numVfs: 2
    vfSettings: {mac: auto}
YAML
    cp /tmp/node.yaml "$OUT/node.yaml"
    "$BIN" persist --config -f /tmp/node.yaml --install -o json >"$OUT/persist.json" 2>"$OUT/persist.stderr"
    echo $? >"$OUT/persist.status"
    sync
    exit 0
    ;;
  check) ;;
  *)
    echo "persist-config.sh: unknown mode $MODE"
    exit 2
    ;;
esac

i=0
state=unknown
while [ "$i" -lt "$((WAIT * 10))" ]; do
  state=$(systemctl show -p ActiveState --value "$UNIT" 2>/dev/null)
  case $state in active | failed) break ;; esac
  sleep 0.1
  i=$((i + 1))
done
udevadm settle --timeout=30 || true
echo "$(name "$PF1") $(name "$PF2")" >"$OUT/interfaces"
for pf in "$PF1" "$PF2"; do
  echo "pf ${pf##*/} numvfs $(cat "$pf/sriov_numvfs")"
  for link in "$pf"/virtfn*; do
    [ -e "$link" ] || continue
    driver=-
    [ -e "$link/driver" ] && driver=$(basename "$(readlink -f "$link/driver")")
    echo "vf ${pf##*/} ${link##*/virtfn} driver=$driver override=$(cat "$link/driver_override")"
  done
done >"$OUT/state"
{ ip -d link show dev "$(name "$PF1")"; ip -d link show dev "$(name "$PF2")"; } >"$OUT/ip.txt" 2>&1
systemctl show -p ActiveState,SubState,Result,ExecMainStatus "$UNIT" >"$OUT/unit.txt" 2>&1
journalctl -b --no-pager -u "$UNIT" >"$OUT/journal-unit.txt" 2>&1
exit 0
