#!/bin/sh
# kernel-claims.sh: a test bed scenario (busybox sh in the guest, see ../testbed.sh) for the README's
# claims that only a real kernel can prove. Boot it with --no-autoload (nothing but the results
# disk's drivers loaded), --viommu and "intel_iommu=on iommu=pt", and iproute2's ip --include'd.
#
# Usage: kernel-claims.sh IP
#
# For each step NAME it keeps in $TESTBED_OUT: NAME.cmd (who ran what), NAME.stdout, NAME.stderr,
# NAME.status, NAME.before and NAME.after (the state, see state()), NAME.ip (`ip -d link show` of
# the PF after it). The steps:
#   modules-*   create-vfs loads igbvf, then vfio-pci, through libkmod: every modprobe on the
#               guest (and the kernel's own request_module helper) is a stub that records its
#               calls in modprobe-calls and fails, so a module that appears was loaded by sriovctl.
#   inuse-*     a VF bound to vfio-pci, then a VF whose netdev is in another network namespace:
#               each refuses a recount; --force goes ahead.
#   link-*      the PF's --mtu, --link-state and --max-tx-rate on igb.
#   nonroot-*   create-vfs (refused the run lock; then, with the lock open to all, refused by
#               sysfs), list and check as the unprivileged user nobody (root-list and root-check
#               as root, to compare).
#   unbound-*   create-vfs on the PF after its driver was unbound.
set -u
OUT=${TESTBED_OUT:?not running in the test bed}
BIN=${TESTBED_BINARY:-/bin/sriovctl}
IP=${1:?usage: kernel-claims.sh IP}
ADDRESS=0000:01:00.0
PF=/sys/bus/pci/devices/$ADDRESS

say() { echo "kernel-claims.sh: $*"; }

# state FILE: the PF's numvfs, its driver and MTU, which modules are loaded, and per VF its driver,
# netdev and sysfs inode (a new inode means the VF was destroyed and made again).
state() {
  {
    echo "numvfs $(cat "$PF/sriov_numvfs" 2>/dev/null || echo -)"
    driver=-
    [ -e "$PF/driver" ] && driver=$(basename "$(readlink "$PF/driver")")
    echo "driver $driver"
    for net in "$PF"/net/*; do
      [ -e "$net" ] && echo "pf ${net##*/} mtu=$(cat "$net/mtu")"
    done
    for module in igb igbvf vfio vfio_pci; do
      [ -d "/sys/module/$module" ] && echo "module $module"
    done
    for link in "$PF"/virtfn*; do
      [ -e "$link" ] || continue
      driver=-
      [ -e "$link/driver" ] && driver=$(basename "$(readlink "$link/driver")")
      net=-
      for dev in "$link"/net/*; do [ -e "$dev" ] && net=${dev##*/}; done
      echo "vf ${link##*/virtfn} driver=$driver net=$net ino=$(stat -L -c %i "$link")"
    done
  } >"$1"
}

pf_interface() {
  for net in "$PF"/net/*; do [ -e "$net" ] && echo "${net##*/}"; done
}

# step NAME [--as USER] ARG...: runs sriovctl ARG... (as USER with su) and keeps what it did.
step() {
  name=$1
  shift
  user=root
  if [ "$1" = --as ]; then
    user=$2
    shift 2
  fi
  echo "$user: sriovctl $*" >"$OUT/$name.cmd"
  state "$OUT/$name.before"
  if [ "$user" = root ]; then
    "$BIN" "$@" >"$OUT/$name.stdout" 2>"$OUT/$name.stderr"
  else
    # The arguments are plain words (names, numbers, options): no quoting is needed.
    su -m -s /bin/sh -c "$BIN $*" "$user" >"$OUT/$name.stdout" 2>"$OUT/$name.stderr"
  fi
  echo $? >"$OUT/$name.status"
  state "$OUT/$name.after"
  pf=$(pf_interface)
  [ -n "$pf" ] && "$IP" -d link show "$pf" >"$OUT/$name.ip" 2>&1
  say "$name: $user: sriovctl $* -> exit $(cat "$OUT/$name.status")"
}

cat /proc/cmdline >"$OUT/cmdline"
state "$OUT/boot"

# The PF's driver, loaded by hand (busybox modprobe, before it is replaced); then every modprobe
# is a stub.
modprobe igb >"$OUT/modprobe-igb.txt" 2>&1
i=0
while [ -z "$(pf_interface)" ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
for path in /sbin/modprobe /bin/modprobe /usr/sbin/modprobe /usr/bin/modprobe; do
  [ -e "$path" ] || [ -L "$path" ] || continue
  rm -f "$path"
  printf '#!/bin/sh\necho "%s $*" >>%s/modprobe-calls\nexit 1\n' "$path" "$OUT" >"$path"
  chmod 0755 "$path"
done
echo /sbin/modprobe >/proc/sys/kernel/modprobe
cat /sbin/modprobe >"$OUT/modprobe-stub"
state "$OUT/start"

# 1. Modules through libkmod.
step modules-igbvf create-vfs "$ADDRESS" --count 2 -o json
step modules-vfio create-vfs "$ADDRESS" --count 2 --driver 1=vfio-pci -o json

# 2. In use: VF 1 on vfio-pci; then VF 0's netdev in another network namespace.
step inuse-vfio create-vfs "$ADDRESS" --count 3 -o json
step inuse-back create-vfs "$ADDRESS" --count 2 --driver 1=kernel -o json
vf0=
for dev in "$PF"/virtfn0/net/*; do [ -e "$dev" ] && vf0=${dev##*/}; done
unshare -n sleep 600 &
holder=$!
sleep 0.5
{
  echo "vf0 $vf0 holder $holder"
  "$IP" link set "$vf0" netns "$holder"
  echo "status $?"
  nsenter -t "$holder" -n "$IP" -br link
} >"$OUT/inuse-netns.txt" 2>&1
step inuse-netns create-vfs "$ADDRESS" --count 3 -o json
step inuse-force create-vfs "$ADDRESS" --count 3 --force -o json
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null

# 3. Link settings on igb.
step link-mtu create-vfs "$ADDRESS" --count 3 --mtu 9000 -o json
step link-state create-vfs "$ADDRESS" --count 3 --link-state 0=disable -o json
step link-rate create-vfs "$ADDRESS" --count 3 --max-tx-rate 0=100 -o json

# 4. Not root: the kernel's permissions, and the 64 bytes of config space a user may read.
echo 'nobody:x:65534:65534:nobody:/:/bin/sh' >>/etc/passwd
echo 'nogroup:x:65534:' >>/etc/group
step nonroot-create --as nobody create-vfs "$ADDRESS" --count 1
# With the run lock open to all, the kernel's own answer: sysfs refuses the write.
chmod 0666 /run/sriovctl.lock
step nonroot-write --as nobody create-vfs "$ADDRESS" --count 1
chmod 0644 /run/sriovctl.lock
step nonroot-list --as nobody list -o json
step nonroot-check --as nobody check -o json
step root-list list -o json
step root-check check -o json
wc -c <"$PF/config" >"$OUT/config-size.root"
su -m -s /bin/sh -c "wc -c <$PF/config" nobody >"$OUT/config-size.nobody" 2>&1

# 5. The PF without its driver.
echo "$ADDRESS" >/sys/bus/pci/drivers/igb/unbind
step unbound-create create-vfs "$ADDRESS" --count 2
echo "$ADDRESS" >/sys/bus/pci/drivers/igb/bind

[ -e "$OUT/modprobe-calls" ] || : >"$OUT/modprobe-calls.none"
dmesg >"$OUT/dmesg.txt"
exit 0
