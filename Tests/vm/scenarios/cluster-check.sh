#!/bin/sh
# cluster-check.sh: `sriovctl check --kubeconfig` on the real kernel, in the Debian guest
# (testbed.sh run --debian IMAGE --install-binary --include KUBECTL --include APISERVER), with
# Debian's real kubectl against the stand-in API server (Tests/kubernetes/fake-apiserver.py) run
# inside the guest on 127.0.0.1: the guest has no network to the host.
#
# Usage: cluster-check.sh KUBECTL APISERVER
#
# Creates 3 VFs on the igb PF 0000:01:00.0, writes the device plugin's config with
# `device-plugin-config --raw` (config.json), and serves this node (named as kubelet would name
# it: node.txt), that config as kube-system/sriovdp-config, the copied example with the old VF
# driver names as kube-system/copied-example, a Running plugin pod, and allocatable
# intel.com/<the generated resource>: 3. Keeps in $TESTBED_OUT:
#   create.json/.status           sriovctl create-vfs --count 3
#   vf-drivers.txt                each VF's driver, from sysfs (the truth)
#   label.status                  sriovctl label (the node's labels, sent as a PATCH)
#   check.json/.status            check -o json --kubeconfig: the generated ConfigMap
#   example.json/.status          the same with --device-plugin-config kube-system/copied-example
#   requests.jsonl                every request the API server got; requests-before-check.txt
#                                 how many came before the two checks (label's)
set -u
OUT=${TESTBED_OUT:?not running in the test bed}
KUBECTL=${1:?usage: cluster-check.sh KUBECTL APISERVER}
APISERVER=${2:?usage: cluster-check.sh KUBECTL APISERVER}
PF=0000:01:00.0
DEV=/sys/bus/pci/devices/$PF
SRIOVCTL=/usr/local/bin/sriovctl
WORK=/run/cluster-check
say() { echo "cluster-check.sh: $*"; }

mkdir -p "$WORK"
udevadm settle --timeout=60 || say "warning: udevadm settle timed out"
ip link set lo up 2>/dev/null
$SRIOVCTL create-vfs $PF --count 3 -o json >"$OUT/create.json" 2>"$OUT/create.stderr"
echo $? >"$OUT/create.status"
udevadm settle --timeout=60 || say "warning: udevadm settle timed out"
for vf in "$DEV"/virtfn*; do
  echo "${vf##*/} $(basename "$(readlink "$vf/driver")")"
done >"$OUT/vf-drivers.txt"

NODE=$(hostname | tr 'A-Z' 'a-z')
echo "$NODE" >"$OUT/node.txt"
$SRIOVCTL device-plugin-config --raw >"$OUT/config.json" 2>"$OUT/config.stderr" || say "device-plugin-config failed"

# The objects the API server serves, built from what sriovctl wrote.
python3 - "$OUT/config.json" "$NODE" "$WORK" <<'PY'
import json, sys
config_path, node, work = sys.argv[1:4]
config = open(config_path).read()
example = json.dumps({"resourceList": [{"resourceName": "intel_sriov_netdevice", "selectors": {
    "vendors": ["8086"], "devices": ["10ca", "154c", "10ed"], "drivers": ["i40evf", "ixgbevf"]}}]})
maps = [{"metadata": {"name": name, "namespace": "kube-system"}, "data": {"config.json": text}}
        for name, text in (("sriovdp-config", config), ("copied-example", example))]
names = ["intel.com/" + r["resourceName"] for r in json.loads(config)["resourceList"]]
status = {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
          "allocatable": {name: "3" for name in names}}
pods = [{"metadata": {"name": "kube-sriov-device-plugin-guest", "namespace": "kube-system",
                      "labels": {"app": "sriovdp"}},
         "spec": {"nodeName": node, "containers": [{"name": "kube-sriovdp"}]},
         "status": {"phase": "Running", "containerStatuses": [{"name": "kube-sriovdp", "ready": True}]}}]
for name, value in (("configmaps", maps), ("status", status), ("pods", pods)):
    open(f"{work}/{name}.json", "w").write(json.dumps(value))
PY

# The server runs until its stdin closes: a sleep holds it open.
sleep 600 | python3 "$APISERVER" --node "$NODE" --log "$OUT/requests.jsonl" \
  --configmaps "$(cat "$WORK/configmaps.json")" --node-status "$(cat "$WORK/status.json")" \
  --pods "$(cat "$WORK/pods.json")" >"$WORK/port" 2>"$OUT/apiserver.stderr" &
[ -r "$APISERVER" ] || { say "no $APISERVER in the guest (--include it from outside /tmp)"; exit 2; }
tries=0
while [ ! -s "$WORK/port" ] && [ "$tries" -lt 300 ]; do
  sleep 0.1
  tries=$((tries + 1))
done
PORT=$(cat "$WORK/port")
[ -n "$PORT" ] || { say "the API server did not start in 30 s: $(cat "$OUT/apiserver.stderr")"; exit 2; }
say "the API server listens on $PORT after $((tries / 10)) s"
cat >"$WORK/kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: guest
  cluster: {server: "http://127.0.0.1:$PORT"}
users:
- name: guest
  user: {token: guest}
contexts:
- name: guest
  context: {cluster: guest, user: guest}
current-context: guest
KUBECONFIG

export HOME=$WORK
$SRIOVCTL label --kubeconfig "$WORK/kubeconfig" --kubectl "$KUBECTL" >"$OUT/label.txt" 2>"$OUT/label.stderr"
echo $? >"$OUT/label.status"
wc -l <"$OUT/requests.jsonl" >"$OUT/requests-before-check.txt"
$SRIOVCTL check -o json --kubeconfig "$WORK/kubeconfig" --kubectl "$KUBECTL" \
  >"$OUT/check.json" 2>"$OUT/check.stderr"
echo $? >"$OUT/check.status"
$SRIOVCTL check -o json --kubeconfig "$WORK/kubeconfig" --kubectl "$KUBECTL" \
  --device-plugin-config kube-system/copied-example >"$OUT/example.json" 2>"$OUT/example.stderr"
echo $? >"$OUT/example.status"
say "create $(cat "$OUT/create.status"), label $(cat "$OUT/label.status"), check $(cat "$OUT/check.status"), example $(cat "$OUT/example.status")"
exit 0
