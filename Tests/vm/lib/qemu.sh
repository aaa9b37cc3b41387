# shellcheck shell=bash
# lib/qemu.sh: the VM: the host tools `run` needs, the Debian guest's disk, QEMU's command line
# (q35, the igb PF behind a root port, the results disk, the options' extra devices), and the boot
# itself under a timeout.
# Sourced by Tests/vm/testbed.sh (which sets `set -euo pipefail`, the constants and the globals of
# `run`); not run on its own.

# check_tools: everything `run` needs on the host, with what to do about a missing piece.
check_tools() {
  command -v "$QEMU" >/dev/null 2>&1 ||
    die "$EX_TESTBED" "$QEMU is not installed (run '$PROG prepare')"
  qemu_version_ok ||
    die "$EX_TESTBED" "$("$QEMU" --version | head -n1) is too old: the igb NIC needs QEMU 8.0 or newer (run '$PROG prepare')"
  local devices
  devices=$("$QEMU" -device help 2>&1) || true
  [[ $devices == *'"igb"'* ]] || die "$EX_TESTBED" "$QEMU has no igb device"
  local tool
  for tool in busybox cpio depmod modprobe tar md5sum timeout flock ldd dpkg-deb; do
    command -v "$tool" >/dev/null 2>&1 ||
      die "$EX_TESTBED" "$tool is not installed (run '$PROG prepare')"
  done
  # A dynamically linked busybox would need its libraries in the guest too.
  if ldd "$(command -v busybox)" >/dev/null 2>&1; then
    die "$EX_TESTBED" "busybox is not the static one (apt-get install busybox-static)"
  fi
}

# prepare_debian_disk WORK VAR: sets VAR to the disk the Debian guest boots: --disk-copy PATH
# (created from the image when missing) or a throw-away copy in WORK.
prepare_debian_disk() {
  local work=$1
  local -n _disk=$2
  local image=$DEBIAN_IMAGE
  if [[ $image == cached ]]; then
    image=$("$SCRIPT_DIR/debian-image.sh") || die "$EX_TESTBED" "debian-image.sh could not provide the image"
    DEBIAN_IMAGE=$image
  fi
  if [[ -n $DISK_COPY && -e $DISK_COPY ]]; then
    [[ -f $DISK_COPY && -r $DISK_COPY && -w $DISK_COPY ]] ||
      die "$EX_TESTBED" "--disk-copy $DISK_COPY is not a writable file"
    _disk=$DISK_COPY
    log "booting the existing disk $DISK_COPY"
    return 0
  fi
  [[ -f $image && -r $image ]] || die "$EX_TESTBED" "the Debian image $image does not exist (Tests/vm/debian-image.sh builds it)"
  _disk=${DISK_COPY:-$work/disk.raw}
  cp --sparse=always -- "$image" "$_disk" || die "$EX_TESTBED" "cannot copy $image to $_disk"
}

# build_qemu_args WORK ROOT_DISK VERSION: sets QEMU_ARGS (the whole command line but the binary)
# and KERNEL_APPEND (the kernel command line) for the globals of `run`; ROOT_DISK is empty for the
# busybox guest.
build_qemu_args() {
  local work=$1 root_disk=$2 version=$3
  local machine=q35 kernel
  KERNEL_APPEND="console=ttyS0 quiet panic=-1 ${EXTRA_CMDLINE[*]}"
  KERNEL_APPEND=${KERNEL_APPEND% }
  # The uncompressed kernel through PVH when the cache has one: the compressed one spends ~6 s
  # decompressing itself under TCG.
  kernel=$KERNEL_DIR/root/boot/vmlinuz-$version
  if [[ $KERNEL_FORMAT == auto && -s $KERNEL_DIR/vmlinux ]]; then
    kernel=$KERNEL_DIR/vmlinux
  fi
  # qboot (QEMU's minimal firmware for direct kernel boot, in qemu-system-data) starts ~1 s
  # sooner than SeaBIOS; both set up PCI and ACPI the same way for Linux.
  local firmware=()
  if [[ $FIRMWARE == qboot ]]; then
    local qboot
    for qboot in /usr/share/qemu/qboot.rom /usr/share/seabios/qboot.rom; do
      if [[ -r $qboot ]]; then
        firmware=(-bios "$qboot")
        break
      fi
    done
    ((${#firmware[@]})) || log "qboot.rom not found: booting with SeaBIOS"
  fi
  # shellcheck disable=SC2054  # commas separate QEMU's sub-options, not array elements
  QEMU_ARGS=(
    -accel tcg -cpu "$CPU" -m "$MEMORY" -smp "$SMP" -nographic -no-reboot -nodefaults
    -monitor none "${firmware[@]}"
    -kernel "$kernel" -initrd "$work/initrd.cpio" -append "$KERNEL_APPEND"
    -chardev "stdio,id=console,signal=off,logfile=$OUT/console.log,logappend=off"
    -serial chardev:console
  )
  if ((VIOMMU)); then
    machine+=,kernel-irqchip=split
    # Before the PCI devices, so that they are all behind it.
    # shellcheck disable=SC2054
    QEMU_ARGS+=(-device intel-iommu,intremap=on)
  fi
  QEMU_ARGS=(-machine "$machine" "${QEMU_ARGS[@]}")
  # shellcheck disable=SC2054
  QEMU_ARGS+=(
    # The NIC behind a root port at 00:02.0, so the PF is 01:00.0 and its VFs (offset 0x80,
    # stride 2) are 01:10.0, 01:10.2, ... No netdev: a NIC without a peer sends nowhere.
    # romfile= leaves out the PXE ROM (SeaBIOS would spend seconds starting it under TCG).
    -device pcie-root-port,id=rp1,bus=pcie.0,addr=0x2,chassis=1,slot=1
    -device igb,bus=rp1,addr=0x0,mac=52:54:00:12:34:56,romfile=
    # The results disk.
    -drive "file=$work/results.img,if=none,id=results,format=raw,cache=writeback"
    -device "virtio-blk-pci,drive=results,serial=$RESULTS_SERIAL,bus=pcie.0,addr=0x3"
  )
  if [[ -n $root_disk ]]; then
    # The Debian guest's root disk (not behind a root port: bus numbers stay as they are).
    # shellcheck disable=SC2054
    QEMU_ARGS+=(
      -drive "file=$root_disk,if=none,id=root,format=raw,cache=writeback"
      -device "virtio-blk-pci,drive=root,serial=$ROOT_SERIAL,bus=pcie.0,addr=0x5"
    )
  fi
  if ((IGB2)); then
    ((NVME == 0)) || die "$EX_USAGE" "--igb2 and --nvme-sriov share a root port slot; give one"
    # A second PF, on bus 2 by the same slot rule as the NVMe controller's below.
    local igb2_slot=0x1
    [[ ${#firmware[@]} -gt 0 ]] || igb2_slot=0x4
    # shellcheck disable=SC2054
    QEMU_ARGS+=(
      -device "pcie-root-port,id=rp3,bus=pcie.0,addr=$igb2_slot,chassis=3,slot=3"
      -device igb,bus=rp3,addr=0x0,mac=52:54:00:12:34:57,romfile=
    )
  fi
  if ((NVME)); then
    # An NVMe controller with SR-IOV (hw/nvme): up to 4 VFs, sharing 8 flexible queue and 4
    # flexible interrupt resources. The VFs exist once enabled, but need `nvme virt-mgmt`
    # assignments before their controllers work (until then the kernel logs "Device not ready").
    # Its root port's slot is chosen so the firmware numbers the igb's bus 1 and this one bus 2:
    # qboot numbers root ports from the highest slot down, SeaBIOS from the lowest up.
    local nvme_slot=0x1
    [[ ${#firmware[@]} -gt 0 ]] || nvme_slot=0x4
    # shellcheck disable=SC2054
    QEMU_ARGS+=(
      -device "pcie-root-port,id=rp2,bus=pcie.0,addr=$nvme_slot,chassis=2,slot=2"
      -device nvme-subsys,id=nvmesubsys0,nqn=nqn.2024-01.org.sriovctl:testbed
      -device nvme,bus=rp2,addr=0x0,serial=sriovctl-nvme0,subsys=nvmesubsys0,sriov_max_vfs=4,sriov_vq_flexible=8,sriov_vi_flexible=4,max_ioqpairs=13,msix_qsize=9
    )
  fi
}

# run_qemu WORK: boots QEMU_ARGS under --timeout, the console in OUT/console.log; sets QEMU_STATUS
# (timeout's status) and ELAPSED (seconds, one decimal), also written to OUT/testbed.txt.
run_qemu() {
  local work=$1 boot_started console_out=/dev/null
  ((${#QEMU_ARGS[@]})) || die "$EX_TESTBED" "no QEMU command line (build_qemu_args did not run)"
  QEMU_STATUS=0
  boot_started=$(date +%s.%N)
  ((VERBOSE)) && console_out=/dev/stderr
  timeout --kill-after=10 "$TIMEOUT" "$QEMU" "${QEMU_ARGS[@]}" </dev/null >"$console_out" 2>"$work/qemu.err" &
  QEMU_PID=$!
  wait "$QEMU_PID" || QEMU_STATUS=$?
  QEMU_PID=
  ELAPSED=$(awk -v a="$boot_started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  printf 'vm_seconds: %s\n' "$ELAPSED" >>"$OUT/testbed.txt"
}
