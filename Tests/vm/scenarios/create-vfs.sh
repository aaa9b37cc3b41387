#!/bin/sh
# create-vfs.sh: a test bed scenario (busybox sh in the guest, see ../testbed.sh). Runs
# `sriovctl create-vfs` against the real kernel's igb PF (0000:01:00.0, eth0) step by step and keeps,
# for each step NAME (step01-..., in order), in $TESTBED_OUT:
#   NAME.cmd      the sriovctl arguments, one line
#   NAME.stdout   its standard output (the JSON document with -o json)
#   NAME.stderr   its standard error
#   NAME.status   its exit status
#   NAME.ms       how long it ran, in milliseconds
#   NAME.before   the PF's sysfs state before the step, NAME.after the state after it (see state())
#   NAME.ip       `ip -d link show eth0` after the step (the PF's view of its VFs), where useful
# for the host-side test (Tests/sriovctlTests/CreateVFsVMTests.swift) to assert.
#
# Usage: create-vfs.sh MODE IP [TIMEOUT]
#   MODE     basic: the igbvf sequence (boot without an IOMMU);
#            vfio:  --driver vfio-pci and --dry-run (boot with --viommu and intel_iommu=on iommu=pt)
#   IP       iproute2's ip, added to the guest with --include (busybox ip cannot show VF attributes)
#   TIMEOUT  the --timeout passed to every create-vfs run (default 120 s)
set -u
OUT=${TESTBED_OUT:?not running in the test bed}
BIN=${TESTBED_BINARY:-/bin/sriovctl}
MODE=${1:?usage: create-vfs.sh basic|vfio IP [TIMEOUT]}
IP=${2:?usage: create-vfs.sh basic|vfio IP [TIMEOUT]}
TIMEOUT=${3:-120}
PF=/sys/bus/pci/devices/0000:01:00.0

say() { echo "create-vfs.sh: $*"; }

# now_us: microseconds since the epoch, without starting a process ($EPOCHREALTIME is "S.UUUUUU").
now_us() {
  # shellcheck disable=SC3028 # busybox ash has it
  t=$EPOCHREALTIME
  echo "${t%.*}${t#*.}"
}

# state FILE: the PF's state as the kernel shows it, in FILE:
#   numvfs N
#   totalvfs N
#   autoprobe 0|1
#   vfs K                  (how many virtfnN links there are)
#   vf IDX ADDRESS driver=NAME|- net=IF[,IF]|- ifindex=N[,N]|- ino=N override=NAME|(null) group=N|-
# `ino` is the inode of the VF's sysfs directory: a VF that was removed and created again gets a
# new one, so an unchanged ino proves the VF was left alone.
state() {
  {
    echo "numvfs $(cat "$PF/sriov_numvfs")"
    echo "totalvfs $(cat "$PF/sriov_totalvfs")"
    echo "autoprobe $(cat "$PF/sriov_drivers_autoprobe")"
    count=0
    for link in "$PF"/virtfn*; do
      [ -e "$link" ] && count=$((count + 1))
    done
    echo "vfs $count"
    for link in "$PF"/virtfn*; do
      [ -e "$link" ] || continue
      index=${link##*/virtfn}
      address=$(readlink "$link")
      address=${address##*/}
      driver=-
      if [ -e "$link/driver" ]; then
        driver=$(readlink "$link/driver")
        driver=${driver##*/}
      fi
      net=- ifindex=-
      for dev in "$link"/net/*; do
        [ -e "$dev" ] || continue
        if [ "$net" = - ]; then
          net=${dev##*/} ifindex=$(cat "$dev/ifindex")
        else
          net="$net,${dev##*/}" ifindex="$ifindex,$(cat "$dev/ifindex")"
        fi
      done
      ino=$(stat -L -c %i "$link")
      override=$(cat "$link/driver_override" 2>/dev/null) || override=-
      group=-
      if [ -e "$link/iommu_group" ]; then
        group=$(readlink "$link/iommu_group")
        group=${group##*/}
      fi
      echo "vf $index $address driver=$driver net=$net ifindex=$ifindex ino=$ino override=$override group=$group"
    done
  } >"$1"
}

# step NAME ARG...: runs `sriovctl create-vfs ARG... --timeout TIMEOUT` and keeps what it did (see
# the top).
step() {
  name=$1
  shift
  set -- "$@" --timeout "$TIMEOUT"
  echo "create-vfs $*" >"$OUT/$name.cmd"
  state "$OUT/$name.before"
  start=$(now_us)
  "$BIN" create-vfs "$@" >"$OUT/$name.stdout" 2>"$OUT/$name.stderr"
  status=$?
  end=$(now_us)
  echo "$status" >"$OUT/$name.status"
  echo $(((end - start) / 1000)) >"$OUT/$name.ms"
  state "$OUT/$name.after"
  say "$name: create-vfs $* -> exit $status in $(cat "$OUT/$name.ms") ms"
}

# pf_links NAME: the PF's view of its VFs (MAC, VLAN, trust, spoof checking) after step NAME.
pf_links() {
  "$IP" -d link show eth0 >"$OUT/$1.ip" 2>&1
}

# vf_netdev INDEX: the netdev of VF INDEX (empty when it has none).
vf_netdev() {
  for dev in "$PF/virtfn$1"/net/*; do
    [ -e "$dev" ] && echo "${dev##*/}"
  done
}

cat /proc/cmdline >"$OUT/cmdline"
state "$OUT/initial"

case $MODE in
  basic)
    # 1. 0 -> 4 VFs, by interface name.
    step step01-create4 eth0 --count 4 -o json
    pf_links step01-create4
    # 2. The same again: nothing to do, nothing touched.
    step step02-again4 eth0 --count 4 -o json
    pf_links step02-again4
    # 3. 4 -> 2, by PCI address: through 0.
    step step03-to2 0000:01:00.0 --count 2 -o json
    pf_links step03-to2
    # 4. Above sriov_totalvfs (7): refused, nothing written.
    step step04-above-total eth0 --count 8
    # 5. Per-VF settings on the existing 2 VFs; then the same again must change nothing.
    step step05-configure eth0 --count 2 --mac 0=02:11:22:33:44:55 --vlan 1=100 --trust 0=on \
      --spoofchk 1=off -o json
    pf_links step05-configure
    step step05b-configure-again eth0 --count 2 --mac 0=02:11:22:33:44:55 --vlan 1=100 \
      --trust 0=on --spoofchk 1=off -o json
    pf_links step05b-configure-again
    # 6. VF 0 in use (up, with an address on TEST-NET-1, inside the guest only): 2 -> 3 is refused
    #    and names it; --force does it anyway.
    vf0=$(vf_netdev 0)
    echo "$vf0" >"$OUT/step06-vf0-interface"
    {
      "$IP" link set "$vf0" up && "$IP" addr add 192.0.2.1/24 dev "$vf0"
      echo "status $?"
      "$IP" addr show dev "$vf0"
    } >"$OUT/step06-vf0-in-use.txt" 2>&1
    step step06-in-use eth0 --count 3 -o json
    step step06b-force eth0 --count 3 --force -o json
    pf_links step06b-force
    # 7. Two runs at once: they take turns, and only the first one changes anything.
    state "$OUT/step07-concurrent.before"
    start=$(now_us)
    "$BIN" create-vfs eth0 --count 5 --timeout "$TIMEOUT" -o json \
      >"$OUT/step07-concurrent-a.stdout" 2>"$OUT/step07-concurrent-a.stderr" &
    pid_a=$!
    "$BIN" create-vfs eth0 --count 5 --timeout "$TIMEOUT" -o json \
      >"$OUT/step07-concurrent-b.stdout" 2>"$OUT/step07-concurrent-b.stderr" &
    pid_b=$!
    wait "$pid_a"
    echo $? >"$OUT/step07-concurrent-a.status"
    wait "$pid_b"
    echo $? >"$OUT/step07-concurrent-b.status"
    end=$(now_us)
    echo $(((end - start) / 1000)) >"$OUT/step07-concurrent.ms"
    state "$OUT/step07-concurrent.after"
    say "step07-concurrent: exits $(cat "$OUT/step07-concurrent-a.status") and" \
      "$(cat "$OUT/step07-concurrent-b.status") in $(cat "$OUT/step07-concurrent.ms") ms"
    # 8. Back to none.
    step step08-zero eth0 --count 0 -o json
    pf_links step08-zero
    ;;
  vfio)
    # 1. A dry run from 0 VFs (text, then JSON): a plan, nothing changed.
    step step01-dry-run eth0 --count 2 --driver vfio-pci --dry-run
    step step02-dry-run-json eth0 --count 2 --driver vfio-pci --dry-run -o json
    # 3. 2 VFs bound to vfio-pci.
    step step03-vfio eth0 --count 2 --driver vfio-pci -o json
    pf_links step03-vfio
    ls -l /dev/vfio >"$OUT/step03-vfio.dev-vfio" 2>&1
    # 4. The same again: already as asked.
    step step04-again eth0 --count 2 --driver vfio-pci -o json
    # 5. A forced dry run of 2 -> 3: a plan, nothing changed (the vfio-pci VFs stay).
    step step05-dry-run-force eth0 --count 3 --force --dry-run -o json
    ;;
  *)
    say "unknown mode $MODE"
    exit 2
    ;;
esac
dmesg >"$OUT/dmesg.txt"
exit 0
