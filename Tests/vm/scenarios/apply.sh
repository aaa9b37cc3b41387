#!/bin/sh
# apply.sh: a test bed scenario (busybox sh in the guest, see ../testbed.sh, booted with --igb2
# and --viommu). Runs `sriovctl apply` and `verify` with a node file of two policies against the
# real kernel's two igb PFs (0000:01:00.0 and 0000:02:00.0) and keeps, for each step NAME, in
# $TESTBED_OUT: NAME.cmd, NAME.stdout, NAME.stderr, NAME.status, NAME.ms, NAME.state (both PFs'
# sysfs state after the step, see state()) and NAME.ip (`ip -d link` of both PFs), for
# Tests/sriovctlTests/ApplyVMTests.swift to assert.
#
# Usage: apply.sh IP [TIMEOUT]
#   IP       iproute2's ip, added with --include (busybox ip cannot show VF attributes)
set -u
OUT=${TESTBED_OUT:?not running in the test bed}
BIN=${TESTBED_BINARY:-/bin/sriovctl}
IP=${1:?usage: apply.sh IP [TIMEOUT]}
TIMEOUT=${2:-120}
PF1=/sys/bus/pci/devices/0000:01:00.0
PF2=/sys/bus/pci/devices/0000:02:00.0

say() { echo "apply.sh: $*"; }

now_us() {
  # shellcheck disable=SC3028 # busybox ash has it
  t=$EPOCHREALTIME
  echo "${t%.*}${t#*.}"
}

# name PF: the PF's interface name.
name() {
  for dev in "$1"/net/*; do
    [ -e "$dev" ] && echo "${dev##*/}" && return
  done
}

# state FILE: both PFs: "pf ADDRESS numvfs N" then "vf PF INDEX driver=D ino=N override=O net=IF"
# (ino: the VF's sysfs directory inode; a VF removed and made again gets a new one).
state() {
  for pf in "$PF1" "$PF2"; do
    echo "pf ${pf##*/} numvfs $(cat "$pf/sriov_numvfs")"
    for link in "$pf"/virtfn*; do
      [ -e "$link" ] || continue
      driver=-
      [ -e "$link/driver" ] && driver=$(readlink "$link/driver") && driver=${driver##*/}
      net=-
      for dev in "$link"/net/*; do [ -e "$dev" ] && net=${dev##*/}; done
      echo "vf ${pf##*/} ${link##*/virtfn} driver=$driver ino=$(stat -L -c %i "$link") override=$(cat "$link/driver_override") net=$net"
    done
  done >"$1"
}

# step NAME ARG...: runs sriovctl ARG... and keeps what it did.
step() {
  name=$1
  shift
  echo "$*" >"$OUT/$name.cmd"
  start=$(now_us)
  "$BIN" "$@" >"$OUT/$name.stdout" 2>"$OUT/$name.stderr"
  status=$?
  end=$(now_us)
  echo "$status" >"$OUT/$name.status"
  echo $(((end - start) / 1000)) >"$OUT/$name.ms"
  state "$OUT/$name.state"
  { "$IP" -d link show "$IF1"; "$IP" -d link show "$IF2"; } >"$OUT/$name.ip" 2>&1
  say "$name: sriovctl $* -> exit $status in $(cat "$OUT/$name.ms") ms"
}

IF1=$(name "$PF1")
IF2=$(name "$PF2")
echo "$IF1 $IF2" >"$OUT/interfaces"
cat "$PF1/sriov_totalvfs" "$PF2/sriov_totalvfs" >"$OUT/totalvfs"
state "$OUT/initial.state"

# The node file: PF 1, 4 VFs, 0-1 on vfio-pci and 2-3 on igbvf with VLAN 100; PF 2, 2 VFs with
# derived MACs. PF 1 is selected by name with VF ranges, PF 2 by PCI address.
cat >/tmp/node.yaml <<YAML
version: 1
policies:
  - name: dpdk
    nicSelector: {pfNames: ["$IF1#0-1"], vendor: "8086"}
    numVfs: 4
    deviceType: vfio-pci
    priority: 10
  - name: kernel
    nicSelector: {pfNames: ["$IF1#2-3"]}
    numVfs: 4
    priority: 20
    vfSettings: {vlan: 100}
  - name: second-port
    nicSelector: {rootDevices: ["0000:02:00.0"]}
    numVfs: 2
    vfSettings: {mac: auto}
  - name: another-machine
    nicSelector: {rootDevices: ["0000:af:00.0"]}
    numVfs: 8
YAML
cp /tmp/node.yaml "$OUT/node.yaml"

step step01-dry-run apply -f /tmp/node.yaml --dry-run -o json --timeout "$TIMEOUT"
step step02-apply apply -f /tmp/node.yaml -o json --timeout "$TIMEOUT"
step step03-again apply -f /tmp/node.yaml -o json --timeout "$TIMEOUT"
step step04-verify verify -f /tmp/node.yaml -o json
# Drift: PF 2's VFs removed by hand.
echo 0 >"$PF2/sriov_numvfs"
step step05-drifted verify -f /tmp/node.yaml -o json
step step06-restore apply -f /tmp/node.yaml -o json --timeout "$TIMEOUT"
step step07-verify verify -f /tmp/node.yaml

# The same VFs from the operator's SriovNetworkNodePolicy documents (no vfSettings there), from 0.
echo 0 >"$PF1/sriov_numvfs"
echo 0 >"$PF2/sriov_numvfs"
cat >/tmp/policies.yaml <<YAML
apiVersion: sriovnetwork.openshift.io/v1
kind: SriovNetworkNodePolicy
metadata: {name: dpdk, namespace: sriov-network-operator}
spec:
  resourceName: dpdk
  nodeSelector: {feature.node.kubernetes.io/network-sriov.capable: "true"}
  priority: 10
  numVfs: 4
  nicSelector: {pfNames: ["$IF1#0-1"], vendor: "8086"}
  deviceType: vfio-pci
---
apiVersion: sriovnetwork.openshift.io/v1
kind: SriovNetworkNodePolicy
metadata: {name: kernel, namespace: sriov-network-operator}
spec:
  resourceName: kernel
  priority: 20
  numVfs: 4
  nicSelector: {pfNames: ["$IF1#2-3"]}
  deviceType: netdevice
---
apiVersion: sriovnetwork.openshift.io/v1
kind: SriovNetworkNodePolicy
metadata: {name: second-port, namespace: sriov-network-operator}
spec:
  resourceName: second
  numVfs: 2
  nicSelector: {rootDevices: ["0000:02:00.0"]}
YAML
cp /tmp/policies.yaml "$OUT/policies.yaml"
step step08-operator apply -f /tmp/policies.yaml -o json --timeout "$TIMEOUT"
dmesg >"$OUT/dmesg.txt"
exit 0
