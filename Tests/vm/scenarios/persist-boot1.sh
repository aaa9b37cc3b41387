#!/bin/sh
# persist-boot1.sh: the first boot of a `sriovctl persist` reboot test, for the Debian guest
# (testbed.sh run --debian IMAGE --disk-copy DISK --install-binary; dash, real systemd and udev).
# Installs what recreates 3 VFs on the igb PF 0000:01:00.0 at boot, and nothing else: the VFs
# must appear in the second boot (persist-boot2.sh, same DISK) without any sriovctl command.
#
# Usage: persist-boot1.sh METHOD [DEB]
#   METHOD  udev | systemd | link: runs
#             sriovctl persist 0000:01:00.0 --count 3 --method METHOD OPTIONS --install -o json
#           with the OPTIONS each method can carry: udev --autoprobe off (3 VFs, unbound);
#           systemd --vlan 0=42 --driver vfio-pci (boot with the vIOMMU and intel_iommu=on);
#           link --mac 0=02:00:00:00:0a:01 --vlan 1=43 (the [SR-IOV] sections);
#           standin-udev | standin-systemd | standin-link: writes by hand what such a method
#           would install (a check of the test bed itself, with no sriovctl persist involved).
#
# Keeps in $TESTBED_OUT:
#   persist.cmd, persist.json (stdout), persist.stderr, persist.status   the persist run
#   installed.path, installed.content   the file the JSON's "path" names, as it is on disk
#   etc-files.txt      every file under /etc/udev/rules.d, /etc/systemd/system (not the
#                      distribution's *.wants links) and /etc/systemd/network
#   before.txt, after.txt   sriov_numvfs and the PF's interface names before and after persist
#   links.txt          `ip -br link` at the end
set -u
OUT=${TESTBED_OUT:?not running in the test bed}
BIN=${TESTBED_BINARY:-/usr/local/bin/sriovctl}
METHOD=${1:?usage: persist-boot1.sh udev|systemd|link|standin-udev|standin-systemd|standin-link [DEB]}
DEB=${2:-}
PF=0000:01:00.0
DEV=/sys/bus/pci/devices/$PF

say() { echo "persist-boot1.sh: $*"; }
# DEB, when given: the sriovctl package, installed first with dpkg -i as an operator would; the
# packaged /usr/sbin/sriovctl then does the work (dpkg-install.log, dpkg-install.status, and
# dpkg-status: the package's status and version afterwards).
install_deb() {
  dpkg -i "$1" >"$OUT/dpkg-install.log" 2>&1
  echo $? >"$OUT/dpkg-install.status"
  dpkg-query -W -f='${Status} ${Version}\n' sriovctl >"$OUT/dpkg-status" 2>&1
  BIN=/usr/sbin/sriovctl
}

# names DIR: the entries of DIR, one a line.
names() { for f in "$1"/*; do [ -e "$f" ] && printf '%s\n' "${f##*/}"; done; }

# state: sriov_numvfs and the PF's interfaces.
state() {
  echo "numvfs $(cat "$DEV/sriov_numvfs" 2>/dev/null || echo -)"
  echo "pf_interfaces $(names "$DEV/net" | tr '\n' ' ')"
  echo "uptime $(cut -d' ' -f1 /proc/uptime)"
}

# udev has named the PF and handled its events before anything is recorded.
udevadm settle --timeout=60 || say "warning: udevadm settle timed out"
state >"$OUT/before.txt"
[ -z "$DEB" ] || install_deb "$DEB"

case $METHOD in
  udev) set -- --autoprobe off ;;
  systemd) set -- --vlan 0=42 --driver vfio-pci ;;
  link) set -- --mac 0=02:00:00:00:0a:01 --vlan 1=43 ;;
  standin-*) set -- ;;
  *)
    say "unknown METHOD $METHOD"
    exit 2
    ;;
esac

case $METHOD in
  standin-udev)
    path=/etc/udev/rules.d/70-sriovctl-standin.rules
    cat >"$path" <<'EOF'
# test bed stand-in for `sriovctl persist --method udev`
ACTION=="add", SUBSYSTEM=="net", KERNELS=="0000:01:00.0", ATTR{device/sriov_totalvfs}=="?*", ATTR{device/sriov_numvfs}="3"
EOF
    printf '{"pf":"%s","method":"udev","path":"%s","changed":true,"content":null}\n' "$PF" "$path" >"$OUT/persist.json"
    echo 0 >"$OUT/persist.status"
    ;;
  standin-link)
    path=/etc/systemd/network/10-sriovctl-standin.link
    mkdir -p /etc/systemd/network
    cat >"$path" <<'EOF'
# test bed stand-in for `sriovctl persist --method link`
[Match]
Path=pci-0000:01:00.0

[Link]
NamePolicy=kernel database onboard slot path
MACAddressPolicy=persistent
SR-IOVVirtualFunctions=3
EOF
    printf '{"pf":"%s","method":"link","path":"%s","changed":true,"content":null}\n' "$PF" "$path" >"$OUT/persist.json"
    echo 0 >"$OUT/persist.status"
    ;;
  standin-systemd)
    path=/etc/systemd/system/sriovctl-standin.service
    cat >"$path" <<'EOF'
# test bed stand-in for `sriovctl persist --method systemd`
[Unit]
Description=Create 3 VFs on 0000:01:00.0 (test bed stand-in)
After=systemd-udev-settle.service
Wants=systemd-udev-settle.service
Before=network-pre.target
Wants=network-pre.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'echo 3 > /sys/bus/pci/devices/0000:01:00.0/sriov_numvfs'
ExecStart=/bin/sh -c 'ip link set "$(ls /sys/bus/pci/devices/0000:01:00.0/net)" vf 0 vlan 42'

[Install]
WantedBy=multi-user.target
EOF
    systemctl enable sriovctl-standin.service >/dev/null 2>&1
    printf '{"pf":"%s","method":"systemd","path":"%s","changed":true,"content":null}\n' "$PF" "$path" >"$OUT/persist.json"
    echo 0 >"$OUT/persist.status"
    ;;
  *)
    echo "$BIN persist $PF --count 3 --method $METHOD $* --install -o json" >"$OUT/persist.cmd"
    "$BIN" persist "$PF" --count 3 --method "$METHOD" "$@" --install -o json \
      >"$OUT/persist.json" 2>"$OUT/persist.stderr"
    echo $? >"$OUT/persist.status"
    ;;
esac

# The file the JSON names (python3 is in the image).
path=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("path") or "")' \
  "$OUT/persist.json" 2>/dev/null)
printf '%s\n' "$path" >"$OUT/installed.path"
if [ -n "$path" ] && [ -f "$path" ]; then
  cat "$path" >"$OUT/installed.content"
fi
find /etc/udev/rules.d /etc/systemd/system /etc/systemd/network -type f 2>/dev/null |
  sort >"$OUT/etc-files.txt"
find /etc/systemd/system -type l -name 'sriovctl*' 2>/dev/null | sort >>"$OUT/etc-files.txt"

state >"$OUT/after.txt"
ip -br link >"$OUT/links.txt" 2>&1
sync
exit 0
