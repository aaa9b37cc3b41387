#!/usr/bin/env bash
# testbed.sh: a throw-away QEMU virtual machine with a real Linux kernel and an emulated SR-IOV
# NIC (Intel 82576, QEMU's `igb` device), for running sriovctl against a real kernel.
#
#   testbed.sh prepare
#       Installs what the test bed needs with apt-get (QEMU >= 8 from backports where the release
#       has an older one, busybox-static, cpio, kmod, xz-utils) and fills the kernel cache: the
#       newest Debian linux-image-6.1.0-*-amd64 package, unpacked with dpkg -x, indexed with
#       depmod -b, and its vmlinux extracted. Idempotent: run it as often as you like.
#
#   testbed.sh run [OPTIONS] -- SCENARIO [ARG...]
#       Builds an initramfs (busybox, kernel modules, the sriovctl binary with every library it
#       links, pci.ids, the scenario), boots it with TCG, runs SCENARIO in the guest with busybox sh,
#       and brings the scenario's output directory back into --out DIR.
#       Exits with the scenario's exit status (see "Exit status" below).
#
#   testbed.sh run --debian IMAGE [--disk-copy PATH] [--install-binary] [OPTIONS] -- SCENARIO [ARG...]
#       The same, with a Debian 12 guest booted from IMAGE (built by debian-image.sh) with real
#       systemd and udev instead of the busybox initramfs: see "The Debian guest" below.
#
#   testbed.sh kernel-dir
#       Makes the kernel cache usable (as run does) and prints its directory.
#
#   testbed.sh help
#
# The guest (what a scenario can rely on):
#   - Debian's 6.1 kernel, booted with "console=ttyS0 quiet panic=-1" plus --cmdline words
#     (as an uncompressed vmlinux through PVH, and with the qboot firmware: see --bzimage and
#     --seabios). A boot with an empty scenario takes about 6-7 s, plus ~2 s to build the initramfs.
#   - /proc, /sys, /dev (devtmpfs) and /run (tmpfs) are mounted; the root file system is the
#     initramfs itself (writable, in memory). No udev: interfaces keep kernel names (eth0, ...).
#   - busybox applets in /bin, /sbin, /usr/bin, /usr/sbin; the sriovctl binary is /bin/sriovctl.
#     busybox sh prefers its own applets: call a host tool added with --include by absolute path.
#   - The modules below are loaded before the scenario runs (unless --no-autoload), in dependency
#     order; a trimmed /lib/modules/$(uname -r) holding just those is indexed for modprobe/libkmod.
#   - Environment: TESTBED=1, TESTBED_OUT (the output directory, empty at start), TESTBED_BINARY
#     (/bin/sriovctl), TESTBED_KERNEL (uname -r), LD_LIBRARY_PATH, PATH.
#   - Hardware (q35 machine, 1 vCPU by default, 1 GiB):
#       00:02.0  pcie-root-port      -> 01:00.0 igb PF 8086:10c9, MAC 52:54:00:12:34:56, no peer
#                                       (no network backend at all: nothing leaves the VM)
#       00:03.0  virtio-blk          the results disk (serial "testbed-results"); not for scenarios
#       00:01.0  pcie-root-port      -> 02:00.0 igb PF 8086:10c9, MAC 52:54:00:12:34:57
#                                       (only with --igb2: a second PF; not with --nvme-sriov)
#       00:01.0  pcie-root-port      -> 02:00.0 nvme 1b36:0010 with SR-IOV, 4 VFs at most
#                                       (only with --nvme-sriov; the port is 00:04.0 with --seabios)
#       intel-iommu (not a PCI function)                             (only with --viommu)
#     and q35's own functions: 00:00.0 host bridge, 00:1f.0 LPC, 00:1f.2 SATA, 00:1f.3 SMBus.
#   - stdin is /dev/null; stdout and stderr go to the serial console (DIR/console.log).
#
# The Debian guest (--debian IMAGE; IMAGE "cached" means debian-image.sh's cached image, built
# when missing):
#   - The same kernel, command line, hardware and results disk, plus the root disk: a virtio disk
#     at 00:05.0 (serial "testbed-root") holding IMAGE's ext4 file system. A tiny busybox
#     initramfs loads virtio and ext4, mounts it read-write, mounts a tmpfs on its /run with the
#     scenario in /run/testbed, adds --install-binary and --include files, and switch_roots into
#     the image's /sbin/init (systemd). udev then loads the drivers (igb...) and names interfaces
#     (the igb PF is enp1s0, its VFs enp1s0v0, enp1s0v1...).
#   - The image's testbed-agent.service runs the scenario with /bin/sh (dash) after
#     multi-user.target, as root, with TESTBED=1, TESTBED_GUEST=debian, TESTBED_OUT,
#     TESTBED_BINARY (/usr/local/bin/sriovctl), TESTBED_KERNEL; its output goes to the journal and
#     the console; then the agent delivers the results and powers off (systemctl poweroff, so the
#     file system is clean for the next boot). A boot takes ~25-40 s under TCG.
#   - IMAGE is never written: the guest boots a throw-away sparse copy, or with --disk-copy PATH
#     the disk PATH, created as a copy of IMAGE when it does not exist and kept afterwards, so a
#     second run with the same PATH boots what the first left (a reboot).
#   - --install-binary copies --binary to /usr/local/bin/sriovctl on the disk (it stays there);
#     the binary's libraries must be in the image (a release build with --static-swift-stdlib
#     needs only glibc, libpci, libsystemd, libkmod and libnl, which the image has).
#   - --include PATH copies just the file to the same path on the disk (no libraries: the image
#     has iproute2); --module and --no-autoload do not apply (udev loads modules).
#
# Results: the guest packs TESTBED_OUT and the exit status with busybox tar onto the raw results
# disk, then powers off; the host unpacks it into DIR. DIR then holds the scenario's files plus
#   console.log   the serial console (kernel messages at "quiet" level, init and scenario output)
#   exit-status   the scenario's exit status, a number
#   testbed.txt   how the VM was run (kernel package, QEMU version, command line, boot time)
# A scenario must not write files with those three names at the top of TESTBED_OUT.
#
# Exit status of `run`: the scenario's own status when it ran to the end; 124 when the VM ran past
# --timeout; 125 when the test bed itself failed (QEMU missing, kernel panic, no results...);
# 2 for a usage error.
#
# Environment:
#   SRIOVCTL_VM_CACHE   the cache directory (default /var/cache/sriovctl-vm). The cache is only a
#                       speed-up: a missing or damaged one is rebuilt (which needs apt's mirror).
#   SRIOVCTL_VM_KERNEL  a kernel package to use instead of the newest 6.1 one, such as
#                       linux-image-6.1.0-56-amd64 (or ...-amd64-unsigned).
#   SRIOVCTL_VM_QEMU    the QEMU binary (default qemu-system-x86_64).
#
# Everything runs with TCG (-accel tcg): /dev/kvm on these machines cannot boot a normal kernel.
# No network is configured or used, on the host or in the guest.
#
# Layout: this file parses the command line and runs the steps; each concern is a file of its own
# under lib/ (common.sh: messages and clean-up; kernel-cache.sh: packages, the kernel cache and
# `prepare`; initramfs.sh: the guests' initramfs; qemu.sh: QEMU's command line and the boot;
# results.sh: the run record, diagnosis and results), and the guests' /init scripts are
# guest/init (busybox guest) and guest/debian-init (the Debian guest's boot initramfs).

set -euo pipefail
shopt -s nullglob

readonly PROG=${0##*/}
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly SCRIPT_DIR
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
readonly REPO_ROOT

readonly CACHE=${SRIOVCTL_VM_CACHE:-/var/cache/sriovctl-vm}
readonly KERNEL_DIR=$CACHE/kernel   # the unpacked kernel package, replaced as a whole
readonly DEB_DIR=$CACHE/debs        # the downloaded package, kept to rebuild KERNEL_DIR offline
readonly QEMU=${SRIOVCTL_VM_QEMU:-qemu-system-x86_64}

readonly EX_USAGE=2
readonly EX_TIMEOUT=124
readonly EX_TESTBED=125

# Modules every guest gets: the NIC and its VF driver, NVMe, VFIO (for scenarios that bind VFs to
# vfio-pci), and virtio for the results disk. Their dependencies are added by modprobe.
readonly DEFAULT_MODULES=(igb igbvf nvme vfio vfio_iommu_type1 vfio-pci virtio_pci virtio_blk)

# The serial number of the results disk, by which the guest finds it.
readonly RESULTS_SERIAL=testbed-results

# Modules the Debian guest's initramfs loads to mount its root (the image has all the others).
readonly DEBIAN_BOOT_MODULES=(virtio_pci virtio_blk ext4)
# The serial number of the Debian guest's root disk.
readonly ROOT_SERIAL=testbed-root

# The test bed's parts, by concern (Tests/vm/lib), and the guests' init scripts (Tests/vm/guest).
# shellcheck source=lib/common.sh
. "$SCRIPT_DIR/lib/common.sh"
# shellcheck source=lib/kernel-cache.sh
. "$SCRIPT_DIR/lib/kernel-cache.sh"
# shellcheck source=lib/initramfs.sh
. "$SCRIPT_DIR/lib/initramfs.sh"
# shellcheck source=lib/qemu.sh
. "$SCRIPT_DIR/lib/qemu.sh"
# shellcheck source=lib/results.sh
. "$SCRIPT_DIR/lib/results.sh"

# ---------------------------------------------------------------------------------------------
# run

cmd_help() {
  sed -n '2,/^$/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  cat <<EOF
Options of run:
  --binary PATH     the sriovctl binary (default $REPO_ROOT/.build/debug/sriovctl)
  --out DIR         where the results go (default: a new directory under \${TMPDIR:-/tmp}); an
                    existing DIR must be empty or hold a previous run's results (then replaced)
  --viommu          an emulated Intel IOMMU (q35 kernel-irqchip=split, intel-iommu intremap=on);
                    add --cmdline "intel_iommu=on iommu=pt" for the usual host set-up
  --cmdline WORDS   extra kernel command-line words (repeatable)
  --nvme-sriov      an NVMe controller with SR-IOV (4 VFs at most) behind its own root port
  --igb2            a second igb PF (02:00.0) behind its own root port (not with --nvme-sriov)
  --timeout SECS    stop the VM and fail after SECS seconds (default 120)
  --smp N           vCPUs (default 1)
  --memory MIB      guest memory (default 1024)
  --module NAME     another kernel module to put into the guest (repeatable)
  --no-autoload     only put the modules in; the scenario loads them (modprobe works)
  --include PATH    a host file to add at the same path, with its libraries (repeatable)
  --results-size MIB  size of the results disk (default 256; sparse on the host)
  --cpu MODEL       QEMU CPU model (default qemu64; "max" runs Swift code ~2x faster under TCG
                    but boots a little slower)
  --seabios         boot with SeaBIOS instead of qboot (slower)
  --bzimage         boot the compressed kernel instead of the extracted vmlinux (slower)
  --keep            keep the work directory (initramfs, results disk) for debugging
  -v, --verbose     show the serial console while the VM runs
Options of run for the Debian guest (see "The Debian guest" above):
  --debian IMAGE    boot the Debian image IMAGE (from debian-image.sh; "cached": its cached one,
                    built when missing) with systemd and udev; the default --timeout becomes 300
  --disk-copy PATH  boot the disk PATH, created as a sparse copy of IMAGE when missing, and keep
                    it (boot the same PATH again to reboot what the last run left)
  --install-binary  copy --binary to /usr/local/bin/sriovctl on the disk
EOF
}
cmd_run() {
  BINARY=$REPO_ROOT/.build/debug/sriovctl
  OUT=
  VIOMMU=0
  NVME=0
  IGB2=0
  TIMEOUT=
  SMP=1
  MEMORY=1024
  AUTOLOAD=1
  VERBOSE=0
  RESULTS_MIB=256
  CPU=qemu64
  FIRMWARE=qboot
  KERNEL_FORMAT=auto
  EXTRA_CMDLINE=()
  EXTRA_MODULES=()
  INCLUDES=()
  DEBIAN_IMAGE=
  DISK_COPY=
  INSTALL_BINARY=0
  local module_options=0
  while (($#)); do
    case $1 in
      --binary) BINARY=${2:?--binary needs a path}; shift 2 ;;
      --out) OUT=${2:?--out needs a directory}; shift 2 ;;
      --viommu) VIOMMU=1; shift ;;
      --nvme-sriov) NVME=1; shift ;;
      --igb2) IGB2=1; shift ;;
      --cmdline) EXTRA_CMDLINE+=("${2?--cmdline needs words}"); shift 2 ;;
      --timeout) TIMEOUT=${2:?--timeout needs seconds}; shift 2 ;;
      --smp) SMP=${2:?--smp needs a number}; shift 2 ;;
      --memory) MEMORY=${2:?--memory needs MiB}; shift 2 ;;
      --module) EXTRA_MODULES+=("${2:?--module needs a name}"); module_options=1; shift 2 ;;
      --no-autoload) AUTOLOAD=0; module_options=1; shift ;;
      --debian) DEBIAN_IMAGE=${2:?--debian needs an image}; shift 2 ;;
      --disk-copy) DISK_COPY=${2:?--disk-copy needs a path}; shift 2 ;;
      --install-binary) INSTALL_BINARY=1; shift ;;
      --include) INCLUDES+=("${2:?--include needs a path}"); shift 2 ;;
      --results-size) RESULTS_MIB=${2:?--results-size needs MiB}; shift 2 ;;
      --cpu) CPU=${2:?--cpu needs a CPU model}; shift 2 ;;
      --seabios) FIRMWARE=seabios; shift ;;
      --bzimage) KERNEL_FORMAT=bzimage; shift ;;
      --keep) KEEP_TEMP=1; shift ;;
      -v | --verbose) VERBOSE=1; shift ;;
      --) shift; break ;;
      -h | --help) cmd_help; exit 0 ;;
      *) usage_error "run: unknown option '$1' (the scenario comes after --)" ;;
    esac
  done
  (($#)) || usage_error "run: no scenario (testbed.sh run [OPTIONS] -- SCENARIO [ARG...])"
  SCENARIO=$1
  shift
  SCENARIO_ARGS=("$@")
  if [[ -z $TIMEOUT ]]; then
    TIMEOUT=120
    [[ -z $DEBIAN_IMAGE ]] || TIMEOUT=300
  fi
  if [[ -z $DEBIAN_IMAGE ]]; then
    [[ -z $DISK_COPY ]] || usage_error "run: --disk-copy needs --debian IMAGE"
    ((INSTALL_BINARY == 0)) || usage_error "run: --install-binary needs --debian IMAGE"
  else
    ((module_options == 0)) ||
      usage_error "run: --module and --no-autoload do not apply to --debian (udev loads modules)"
  fi
  local number
  for number in "$TIMEOUT" "$SMP" "$MEMORY" "$RESULTS_MIB"; do
    [[ $number =~ ^[1-9][0-9]*$ ]] || usage_error "run: '$number' is not a positive number"
  done
  [[ -f $SCENARIO && -r $SCENARIO ]] || usage_error "run: scenario $SCENARIO does not exist"
  if [[ -z $DEBIAN_IMAGE ]] || ((INSTALL_BINARY)); then
    [[ -x $BINARY ]] ||
      die "$EX_TESTBED" "the sriovctl binary $BINARY does not exist (swift build, or --binary PATH)"
  fi
  local arg
  for arg in "${SCENARIO_ARGS[@]}"; do
    [[ $arg != *$'\n'* ]] || usage_error "run: scenario arguments cannot contain newlines"
  done

  check_tools

  # The output directory: new, empty, or a previous run's (recognised by testbed.txt).
  if [[ -z $OUT ]]; then
    OUT=$(mktemp -d "${TMPDIR:-/tmp}/sriovctl-vm-out.XXXXXX")
  elif [[ -e $OUT ]]; then
    [[ -d $OUT ]] || die "$EX_TESTBED" "--out $OUT exists and is not a directory"
    local entries=("$OUT"/* "$OUT"/.[!.]*)
    if ((${#entries[@]})); then
      [[ -f $OUT/testbed.txt ]] ||
        die "$EX_TESTBED" "--out $OUT is not empty and holds no earlier test bed results"
      rm -rf -- "${entries[@]}"
    fi
  fi
  mkdir -p "$OUT"
  OUT=$(cd "$OUT" && pwd)

  ensure_kernel any
  local work
  make_temp_dir work
  local started=$SECONDS
  local boot_modules=()
  [[ -z $DEBIAN_IMAGE ]] || boot_modules=("${DEBIAN_BOOT_MODULES[@]}")
  resolve_modules "${boot_modules[@]}"
  if ! verify_md5 "$KERNEL_DIR" "${MODULE_RELPATHS[@]}"; then
    log "kernel modules in the cache do not match their checksums: rebuilding the cache"
    rm -f -- "$KERNEL_DIR/complete"
    ensure_kernel any
    resolve_modules "${boot_modules[@]}"
    verify_md5 "$KERNEL_DIR" "${MODULE_RELPATHS[@]}" ||
      die "$EX_TESTBED" "the rebuilt kernel cache is still damaged"
  fi
  local root_disk=
  if [[ -n $DEBIAN_IMAGE ]]; then
    prepare_debian_disk "$work" root_disk
    build_debian_initramfs "$work/stage" "$work/initrd.cpio"
  else
    build_initramfs "$work/stage" "$work/initrd.cpio"
  fi
  local version
  version=$(<"$KERNEL_DIR/kernel-version")
  log "initramfs: $(du -m "$work/initrd.cpio" | cut -f1) MiB, built in $((SECONDS - started)) s"

  # The results disk: sparse, all zeros (which tar reads as an empty archive).
  truncate -s "${RESULTS_MIB}M" "$work/results.img"

  build_qemu_args "$work" "$root_disk" "$version"
  write_run_record "$version"
  log "booting ${SCENARIO##*/} (kernel $version, timeout ${TIMEOUT}s)"
  run_qemu "$work"
  collect_results "$work"
  log "scenario ${SCENARIO##*/} exited with status $SCENARIO_STATUS; VM ran ${ELAPSED}s; results in $OUT"
  exit "$SCENARIO_STATUS"
}

# kernel-dir: makes the kernel cache usable (as run does) and prints its directory, for
# debian-image.sh, which copies the same kernel's modules into the Debian image.
cmd_kernel_dir() {
  (($# == 0)) || usage_error "kernel-dir takes no arguments"
  ensure_kernel any
  printf '%s\n' "$KERNEL_DIR"
}

# ---------------------------------------------------------------------------------------------

main() {
  (($#)) || usage_error "no subcommand (prepare, run, help)"
  local command=$1
  shift
  case $command in
    prepare) cmd_prepare "$@" ;;
    run) cmd_run "$@" ;;
    kernel-dir) cmd_kernel_dir "$@" ;;
    help | -h | --help) cmd_help ;;
    *) usage_error "unknown subcommand '$command' (prepare, run, help)" ;;
  esac
}

main "$@"
