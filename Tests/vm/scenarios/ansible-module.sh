#!/bin/sh
# ansible-module.sh: the Ansible module sriovctl.sriov.vfs (plugins/modules/vfs.py) run in the Debian
# guest (testbed.sh run --debian IMAGE --install-binary --include PAYLOAD) against the real igb PF
# 0000:01:00.0, the way Ansible runs a module on a managed host: `python3 MODULE ARGS_FILE`, where
# ARGS_FILE holds {"ANSIBLE_MODULE_ARGS": {...}}, and the module prints one JSON result on stdout.
# The guest has python3 but no Ansible: PAYLOAD (Tests/ansible/run.sh payload FILE) is a tar of the
# modules and ansible-core's module_utils, what AnsiballZ would ship to the host.
#
# Usage: ansible-module.sh PAYLOAD
#
# Runs, keeping NAME.json (stdout), NAME.stderr, NAME.status and NAME.numvfs (sriov_numvfs after)
# in $TESTBED_OUT:
#   udevmac    persist=udev with mac=auto: refused by sriovctl before anything changes
#   present1   state=present, num_vfs=3, persist=systemd, mac=auto, timeout=180: VFs and the unit
#   present2   the same again: nothing changes
#   check2     check mode (_ansible_check_mode), num_vfs=2: would change, changes nothing
#   absent     state=absent: 0 VFs and no unit
# plus before.txt (sriov_numvfs at the start), unit-after-present.txt, unit-after-absent.txt (the
# systemd unit's content, or "missing", `systemctl is-enabled` and the wants links to it),
# links.txt (`ip -br link` after present2).
set -u
OUT=${TESTBED_OUT:?not running in the test bed}
PAYLOAD=${1:?usage: ansible-module.sh PAYLOAD}
PF=0000:01:00.0
DEV=/sys/bus/pci/devices/$PF
UNIT=/etc/systemd/system/sriovctl-vfs-0000-01-00.0.service
WORK=/run/ansible-module

say() { echo "ansible-module.sh: $*"; }

udevadm settle --timeout=60 || say "warning: udevadm settle timed out"
cat "$DEV/sriov_numvfs" >"$OUT/before.txt" 2>&1
if ! mkdir -p "$WORK" || ! tar -xf "$PAYLOAD" -C "$WORK"; then
  say "cannot unpack $PAYLOAD"
  exit 2
fi

# module NAME ARGS_JSON: runs the module as Ansible does, with its arguments in a file.
module() {
  printf '{"ANSIBLE_MODULE_ARGS": %s}\n' "$2" >"$WORK/$1.args"
  cp "$WORK/$1.args" "$OUT/$1.args"
  say "$1: $2"
  (cd "$WORK" && PYTHONPATH="$WORK" python3 "$WORK/vfs.py" "$WORK/$1.args") \
    >"$OUT/$1.json" 2>"$OUT/$1.stderr"
  echo $? >"$OUT/$1.status"
  cat "$DEV/sriov_numvfs" >"$OUT/$1.numvfs" 2>&1
  say "$1: exit $(cat "$OUT/$1.status"), sriov_numvfs $(cat "$OUT/$1.numvfs")"
}

# unit: the systemd unit's content, or "missing"; whether systemd has it enabled; and every
# wants link to it ("wants: none" when there is none).
unit() {
  if [ -f "$UNIT" ]; then cat "$UNIT"; else echo missing; fi
  echo "enabled: $(systemctl is-enabled "${UNIT##*/}" 2>&1)"
  links=$(find /etc/systemd/system -name "${UNIT##*/}" -path '*.wants/*' 2>/dev/null | sort)
  echo "wants: ${links:-none}"
}

PRESENT='{"pf": "'$PF'", "num_vfs": 3, "persist": "systemd", "mac": ["auto"], "timeout": 180, "sriovctl": "/usr/local/bin/sriovctl"}'
module udevmac '{"pf": "'$PF'", "num_vfs": 3, "persist": "udev", "mac": ["auto"], "sriovctl": "/usr/local/bin/sriovctl"}'
module present1 "$PRESENT"
unit >"$OUT/unit-after-present.txt"
module present2 "$PRESENT"
ip -br link >"$OUT/links.txt" 2>&1
module check2 '{"pf": "'$PF'", "num_vfs": 2, "sriovctl": "/usr/local/bin/sriovctl", "_ansible_check_mode": true}'
module absent '{"pf": "'$PF'", "state": "absent", "timeout": 180, "sriovctl": "/usr/local/bin/sriovctl"}'
unit >"$OUT/unit-after-absent.txt"
sync
exit 0
