#!/bin/sh
# ansible-role.sh: the role sriovctl.sriov.node run by ansible-playbook on the Debian guest itself
# (testbed.sh run --debian IMAGE --include CONTROLLER --include DEB; one igb PF 0000:01:00.0),
# as a node of a fleet would be: the role copies the sriovctl .deb, installs it with apt, gates on
# `sriovctl check`, applies a node file (3 VFs, VLAN 100 on VFs 1-2) and persists it.
#
# Usage: ansible-role.sh CONTROLLER DEB
#   CONTROLLER  Tests/ansible/run.sh controller's tar: ansible-core's venv and the installed
#               collection at their host paths, and python3-apt's packages (the apt module's
#               prerequisite on a managed Debian host, installed first with dpkg -i).
#   DEB         the sriovctl package, which sriovctl is not installed before the play.
#
# Keeps in $TESTBED_OUT: before (sriovctl on PATH before the play, or "none"), play1.log/status,
# recap1 (its PLAY RECAP line), the same for the second run (play2.*, recap2), dpkg-status,
# numvfs, ip.txt (ip -d link of the PF), unit (systemctl is-enabled sriovctl.service), node.yaml
# (the installed node file).
set -u
OUT=${TESTBED_OUT:?not running in the test bed}
CONTROLLER=${1:?usage: ansible-role.sh CONTROLLER DEB}
DEB=${2:?usage: ansible-role.sh CONTROLLER DEB}
CACHE=/var/cache/sriovctl-ansible
PF=0000:01:00.0
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

udevadm settle --timeout=60 || echo "ansible-role.sh: warning: udevadm settle timed out"
command -v sriovctl >"$OUT/before" 2>&1 || echo none >"$OUT/before"
tar -xf "$CONTROLLER" -C / || { echo "cannot unpack $CONTROLLER"; exit 2; }
dpkg -i "$CACHE"/guest-debs/*.deb >"$OUT/python3-apt.log" 2>&1 || { echo "python3-apt did not install"; exit 2; }

cat >/tmp/node-play.yml <<YAML
- name: An SR-IOV node
  hosts: localhost
  connection: local
  gather_facts: false
  roles:
    - role: sriovctl.sriov.node
      vars:
        sriovctl_node_package: $DEB
        sriovctl_node_config:
          version: 1
          policies:
            - name: kernel
              nicSelector: {pfNames: ["enp1s0#0-0"]}
              numVfs: 3
            - name: vlan
              nicSelector: {pfNames: ["enp1s0#1-2"]}
              numVfs: 3
              vfSettings: {vlan: 100}
YAML

play() {
  ANSIBLE_COLLECTIONS_PATH=$CACHE/collections ANSIBLE_NOCOLOR=1 ANSIBLE_LOCALHOST_WARNING=0 \
    ANSIBLE_INVENTORY_UNPARSED_WARNING=0 ANSIBLE_PYTHON_INTERPRETER=$CACHE/venv/bin/python3 \
    HOME=/root "$CACHE/venv/bin/ansible-playbook" -i localhost, -c local /tmp/node-play.yml \
    >"$OUT/play$1.log" 2>&1
  echo $? >"$OUT/play$1.status"
  grep -A1 '^PLAY RECAP' "$OUT/play$1.log" | tail -1 >"$OUT/recap$1"
}
play 1
play 2
dpkg-query -W -f='${Status} ${Version}\n' sriovctl >"$OUT/dpkg-status" 2>&1
cat "/sys/bus/pci/devices/$PF/sriov_numvfs" >"$OUT/numvfs"
ip -d link show dev enp1s0 >"$OUT/ip.txt" 2>&1
systemctl is-enabled sriovctl.service >"$OUT/unit" 2>&1
cat /etc/sriovctl/sriovctl.yaml >"$OUT/node.yaml" 2>&1
sync
exit 0
