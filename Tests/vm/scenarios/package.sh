#!/bin/sh
# package.sh: the Debian package in the Debian guest (testbed.sh run --debian IMAGE --include DEB;
# dash, real systemd, udev and dpkg, one igb PF at 0000:01:00.0).
#
# Usage: package.sh DEB
#   Installs DEB with dpkg -i (its dependencies are in the image), runs the packaged sriovctl found
#   on root's PATH against the real kernel (list; create-vfs 2 VFs, then 0), then removes the
#   package with dpkg -r and purges it with dpkg -P, recording what is left after each.
#
# Keeps in $TESTBED_OUT:
#   install.log, install.status        dpkg -i
#   which, version                     command -v sriovctl; sriovctl --version
#   files                              dpkg -L sriovctl (after installing)
#   list.json, list.status             sriovctl list -o json
#   create.json, create.status         sriovctl create-vfs 0000:01:00.0 --count 2 -o json
#   numvfs                             sriov_numvfs after it
#   zero.status                        sriovctl create-vfs 0000:01:00.0 --count 0
#   remove.status, remove.query, remove.left   dpkg -r; dpkg-query's status line afterwards
#                                      (or its error); the paths of `files` still present
#   purge.status, purge.query, purge.left      the same for dpkg -P
set -u
OUT=${TESTBED_OUT:?not running in the test bed}
DEB=${1:?usage: package.sh DEB}
PF=0000:01:00.0
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# left: the non-directory paths of the installed file list that still exist.
left() {
  while IFS= read -r path; do
    if [ -e "$path" ] && [ ! -d "$path" ]; then echo "$path"; fi
  done <"$OUT/files"
}
query() { dpkg-query -W -f='${Status} ${Version}\n' sriovctl 2>&1; }

udevadm settle --timeout=60 || echo "package.sh: warning: udevadm settle timed out"
dpkg -i "$DEB" >"$OUT/install.log" 2>&1
echo $? >"$OUT/install.status"
command -v sriovctl >"$OUT/which"
sriovctl --version >"$OUT/version" 2>&1
dpkg -L sriovctl >"$OUT/files" 2>&1

sriovctl list -o json >"$OUT/list.json" 2>"$OUT/list.stderr"
echo $? >"$OUT/list.status"
sriovctl create-vfs "$PF" --count 2 -o json >"$OUT/create.json" 2>"$OUT/create.stderr"
echo $? >"$OUT/create.status"
cat "/sys/bus/pci/devices/$PF/sriov_numvfs" >"$OUT/numvfs"
sriovctl create-vfs "$PF" --count 0 >/dev/null 2>"$OUT/zero.stderr"
echo $? >"$OUT/zero.status"

dpkg -r sriovctl >"$OUT/remove.log" 2>&1
echo $? >"$OUT/remove.status"
query >"$OUT/remove.query"
left >"$OUT/remove.left"
dpkg -P sriovctl >"$OUT/purge.log" 2>&1
echo $? >"$OUT/purge.status"
query >"$OUT/purge.query"
left >"$OUT/purge.left"
sync
exit 0
