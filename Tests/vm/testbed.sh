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

# ---------------------------------------------------------------------------------------------
# Messages and clean-up

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }

# die CODE MESSAGE...: print an error and exit with CODE (the EXIT trap cleans up).
die() {
  local code=$1
  shift
  printf '%s: error: %s\n' "$PROG" "$*" >&2
  exit "$code"
}

usage_error() {
  printf '%s: %s\n' "$PROG" "$*" >&2
  printf "Try '%s help'.\n" "$PROG" >&2
  exit "$EX_USAGE"
}

# Temporary directories to remove and a QEMU (timeout) process to stop on exit.
TEMP_DIRS=()
QEMU_PID=
KEEP_TEMP=0

cleanup() {
  local status=$?
  if [[ -n $QEMU_PID ]] && kill -0 "$QEMU_PID" 2>/dev/null; then
    kill -TERM "$QEMU_PID" 2>/dev/null || true
    wait "$QEMU_PID" 2>/dev/null || true
  fi
  local dir
  for dir in "${TEMP_DIRS[@]}"; do
    if ((KEEP_TEMP)); then
      log "kept $dir"
    else
      rm -rf -- "$dir"
    fi
  done
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# make_temp_dir VAR [PARENT]: a new temporary directory, removed on exit.
make_temp_dir() {
  local -n _dir=$1
  _dir=$(mktemp -d "${2:-${TMPDIR:-/tmp}}/sriovctl-vm.XXXXXX")
  TEMP_DIRS+=("$_dir")
}

need_root() {
  [[ $(id -u) -eq 0 ]] || die "$EX_TESTBED" "$1 needs root (run it with sudo)"
}

# ---------------------------------------------------------------------------------------------
# prepare: packages

# installed_version PACKAGE: the installed version, empty when it is not installed.
installed_version() {
  dpkg-query -W -f='${Status} ${Version}\n' "$1" 2>/dev/null |
    awk '$1 == "install" && $3 == "installed" { print $4 }'
}

# qemu_version_ok: whether the QEMU binary exists, is 8.0 or newer (the first with `igb`).
qemu_version_ok() {
  command -v "$QEMU" >/dev/null 2>&1 || return 1
  local version
  version=$("$QEMU" --version | awk 'NR == 1 { print $4 }')
  [[ -n $version ]] && dpkg --compare-versions "$version" ge 8.0
}

APT_UPDATED=0
apt_update_once() {
  ((APT_UPDATED)) && return 0
  log "apt-get update"
  apt-get update -qq || die "$EX_TESTBED" "apt-get update failed"
  APT_UPDATED=1
}

# The release's code name (bookworm) from /etc/os-release.
release_codename() {
  local codename
  # shellcheck disable=SC1091  # a system file
  codename=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
  [[ -n $codename ]] || die "$EX_TESTBED" "cannot tell the Debian release from /etc/os-release"
  printf '%s\n' "$codename"
}

# ensure_backports_source CODENAME: adds CODENAME-backports to apt's sources when no source
# mentions it, with the mirror and keyring of the existing Debian entry.
ensure_backports_source() {
  local suite=$1-backports
  if grep -rqsw -- "$suite" /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
    /etc/apt/sources.list.d/*.sources; then
    return 0
  fi
  local file=/etc/apt/sources.list.d/$suite.sources uri='' keyring=''
  if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
    # The first stanza's URIs and Signed-By (deb822 format).
    uri=$(awk '/^URIs:/ { sub(/^URIs:[ \t]*/, ""); print; exit }' \
      /etc/apt/sources.list.d/debian.sources)
    keyring=$(awk '/^Signed-By:/ { sub(/^Signed-By:[ \t]*/, ""); print; exit }' \
      /etc/apt/sources.list.d/debian.sources)
  elif [[ -f /etc/apt/sources.list ]]; then
    uri=$(awk '$1 == "deb" && $2 !~ /^\[/ && $2 !~ /security/ { print $2; exit }' \
      /etc/apt/sources.list)
  fi
  uri=${uri%% *}
  [[ -n $uri ]] || die "$EX_TESTBED" "cannot find the Debian mirror in apt's sources to add $suite"
  [[ -n $keyring ]] || keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  log "adding $suite to apt's sources ($file)"
  printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: %s\n' \
    "$uri" "$suite" "$keyring" >"$file"
  APT_UPDATED=0
}

ensure_packages() {
  export DEBIAN_FRONTEND=noninteractive
  local wanted=(busybox-static cpio kmod xz-utils) missing=() package
  for package in "${wanted[@]}"; do
    [[ -n $(installed_version "$package") ]] || missing+=("$package")
  done
  if ((${#missing[@]})); then
    apt_update_once
    log "installing ${missing[*]}"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
      die "$EX_TESTBED" "apt-get install ${missing[*]} failed"
  fi

  if qemu_version_ok && [[ -n $(installed_version qemu-system-x86) ]]; then
    return 0
  fi
  # The release's own QEMU when it is new enough (Debian 13), else its backports (Debian 12).
  apt_update_once
  local candidate
  candidate=$(apt-cache policy qemu-system-x86 | awk '$1 == "Candidate:" { print $2 }')
  if [[ -n $candidate && $candidate != "(none)" ]] &&
    dpkg --compare-versions "$candidate" ge 1:8.0; then
    log "installing qemu-system-x86 $candidate"
    apt-get install -y -qq --no-install-recommends qemu-system-x86 ||
      die "$EX_TESTBED" "apt-get install qemu-system-x86 failed"
  else
    local codename
    codename=$(release_codename)
    ensure_backports_source "$codename"
    apt_update_once
    log "installing qemu-system-x86 from $codename-backports"
    apt-get install -y -qq -t "$codename-backports" --no-install-recommends qemu-system-x86 ||
      die "$EX_TESTBED" "apt-get install -t $codename-backports qemu-system-x86 failed"
  fi
  qemu_version_ok || die "$EX_TESTBED" "QEMU is still missing or older than 8.0 after installing"
}

# ---------------------------------------------------------------------------------------------
# The kernel cache
#
# CACHE/debs/*.deb       the kernel package as apt-get download fetched it
# CACHE/kernel/          built from it, replaced as a whole (built beside it, then renamed):
#   root/                dpkg -x of the package, with depmod -b run on it
#   control/md5sums      the package's checksums, to verify what is used
#   package              "NAME VERSION"
#   kernel-version       the module directory name, such as 6.1.0-56-amd64
#   vmlinux, vmlinux.md5 the uncompressed kernel (or vmlinux.none when it cannot be extracted)
#   complete             written last; its absence means an interrupted build

# kernel_candidates: kernel packages to try, best first: the newest 6.1 ABI, signed then unsigned.
kernel_candidates() {
  if [[ -n ${SRIOVCTL_VM_KERNEL:-} ]]; then
    printf '%s\n' "$SRIOVCTL_VM_KERNEL"
    return 0
  fi
  apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64(-unsigned)?$' 2>/dev/null |
    awk '{ print $1 }' |
    awk -F- '{ abi = $4; unsigned = ($NF == "unsigned"); print abi, unsigned, $0 }' |
    sort -k1,1nr -k2,2n | awk '{ print $3 }'
}

# verify_md5 DIR RELPATH...: checks files under DIR/root against the package's md5sums.
verify_md5() {
  local dir=$1
  shift
  (($#)) || return 0
  [[ -s $dir/control/md5sums ]] || return 1
  local path expected lines=()
  for path in "$@"; do
    expected=$(awk -v p="$path" '$2 == p { print $1; exit }' "$dir/control/md5sums")
    [[ -n $expected ]] || return 1
    lines+=("$expected  $path")
  done
  (cd "$dir/root" && printf '%s\n' "${lines[@]}" | md5sum --check --quiet --status -)
}

# kernel_dir_ok DIR: whether DIR is a complete kernel cache entry: the stamp, vmlinuz matching
# its checksum, and every module modules.dep names present (the used ones are checksummed when
# the initramfs is built).
kernel_dir_ok() {
  local dir=$1 version
  [[ -f $dir/complete && -s $dir/kernel-version && -s $dir/package ]] || return 1
  version=$(<"$dir/kernel-version")
  local modules=$dir/root/lib/modules/$version
  [[ -s $dir/root/boot/vmlinuz-$version && -s $modules/modules.dep &&
    -s $modules/modules.dep.bin && -s $modules/modules.builtin ]] || return 1
  verify_md5 "$dir" "boot/vmlinuz-$version" || return 1
  if [[ -s $dir/vmlinux.md5 ]]; then
    (cd "$dir" && md5sum --check --quiet --status vmlinux.md5) || return 1
  else
    [[ -f $dir/vmlinux.none ]] || return 1
  fi
  local module
  while IFS= read -r module; do
    [[ -f $modules/$module ]] || return 1
  done < <(cut -d: -f1 "$modules/modules.dep")
  (($(wc -l <"$modules/modules.dep") > 1000)) || return 1
}

# extract_vmlinux BZIMAGE OUTPUT: the uncompressed ELF kernel inside an xz-compressed bzImage
# (what the kernel's scripts/extract-vmlinux does). QEMU boots it directly through its PVH entry
# point, which saves the ~6 s the kernel's own decompressor takes under TCG. Leaves no OUTPUT when
# the image is not xz-compressed or the result is not an ELF file: the bzImage is used then.
extract_vmlinux() {
  local image=$1 output=$2 offset
  rm -f -- "$output"
  offset=$(LC_ALL=C grep -m1 -obUaP '\xfd7zXZ\x00' "$image" | head -n1 | cut -d: -f1) || true
  [[ -n $offset ]] || return 0
  # --single-stream stops at the end of the kernel's stream: what follows it is not xz data.
  # (tail's own status is ignored: it gets SIGPIPE when xz stops reading.)
  if ! { tail -c "+$((offset + 1))" "$image" || true; } | xz -dc --single-stream >"$output" 2>/dev/null ||
    [[ $(head -c 4 "$output" | od -An -tx1 | tr -d ' ') != 7f454c46 ]]; then
    rm -f -- "$output"
  fi
}

# unpack_kernel DEB DIR: builds a cache entry in the new directory DIR from DEB.
unpack_kernel() {
  local deb=$1 dir=$2
  dpkg-deb --info "$deb" >/dev/null 2>&1 || return 1
  dpkg-deb -e "$deb" "$dir/control" || return 1
  dpkg -x "$deb" "$dir/root" || return 1
  local versions=("$dir"/root/lib/modules/*/)
  ((${#versions[@]} == 1)) || return 1
  local version=${versions[0]%/}
  version=${version##*/}
  depmod -b "$dir/root" "$version" || return 1
  extract_vmlinux "$dir/root/boot/vmlinuz-$version" "$dir/vmlinux"
  if [[ -s $dir/vmlinux ]]; then
    (cd "$dir" && md5sum vmlinux >vmlinux.md5) || return 1
  else
    : >"$dir/vmlinux.none"
  fi
  printf '%s\n' "$version" >"$dir/kernel-version"
  dpkg-deb -f "$deb" Package Version | awk -F': ' '{ printf "%s%s", sep, $2; sep = " " } END { print "" }' \
    >"$dir/package"
  : >"$dir/complete"
  kernel_dir_ok "$dir"
}

# build_kernel_cache: (re)builds CACHE/kernel from a cached or freshly downloaded package.
build_kernel_cache() {
  mkdir -p "$DEB_DIR"
  local candidates=() deb='' candidate
  mapfile -t candidates < <(kernel_candidates)
  if ((${#candidates[@]} == 0)); then
    apt_update_if_root
    mapfile -t candidates < <(kernel_candidates)
  fi
  ((${#candidates[@]})) ||
    die "$EX_TESTBED" "apt knows no linux-image-6.1.0-*-amd64 package (run '$PROG prepare')"

  local work
  work=$(mktemp -d "$CACHE/kernel.new.XXXXXX")
  chmod 0755 "$work"
  TEMP_DIRS+=("$work")
  for candidate in "${candidates[@]}"; do
    # A package downloaded before is reused; a damaged one is deleted and fetched again.
    local cached=("$DEB_DIR/${candidate}_"*.deb)
    if ((${#cached[@]})); then
      deb=${cached[-1]}
      log "unpacking $deb"
      if unpack_kernel "$deb" "$work"; then break; fi
      log "the cached $deb is damaged: downloading it again"
      rm -f -- "${cached[@]}"
      rm -rf -- "${work:?}"/*
    fi
    log "downloading $candidate"
    local apt_out
    if ! apt_out=$(cd "$DEB_DIR" && apt-get download -q "$candidate" 2>&1); then
      log "could not download $candidate:"
      printf '%s\n' "$apt_out" | sed 's/^/  /' >&2
      deb=
      continue
    fi
    cached=("$DEB_DIR/${candidate}_"*.deb)
    ((${#cached[@]})) || { deb= && continue; }
    deb=${cached[-1]}
    log "unpacking $deb"
    if unpack_kernel "$deb" "$work"; then break; fi
    log "$deb does not unpack into a usable kernel"
    rm -f -- "$deb"
    rm -rf -- "${work:?}"/*
    deb=
  done
  [[ -n $deb ]] || die "$EX_TESTBED" "no kernel package could be downloaded and unpacked"

  # Swap the new entry in, and drop other packages.
  rm -rf -- "$KERNEL_DIR"
  mv -- "$work" "$KERNEL_DIR"
  local other
  for other in "$DEB_DIR"/*.deb; do
    [[ $other == "$deb" ]] || rm -f -- "$other"
  done
  log "kernel cache ready: $(<"$KERNEL_DIR/package") ($(<"$KERNEL_DIR/kernel-version"))"
}

apt_update_if_root() {
  if [[ $(id -u) -eq 0 ]]; then apt_update_once; fi
}

# ensure_kernel MODE: makes CACHE/kernel usable. MODE "newest" (prepare) also replaces a valid
# cache holding an older package than the newest apt lists; MODE "any" (run) keeps a valid one.
ensure_kernel() {
  local mode=$1
  mkdir -p "$CACHE" || die "$EX_TESTBED" "cannot create the cache directory $CACHE"
  # One builder at a time; other runs wait for it.
  exec 9>"$CACHE/lock"
  flock -w 900 9 || die "$EX_TESTBED" "timed out waiting for the lock on $CACHE"
  rm -rf -- "$CACHE"/kernel.new.*   # left by an interrupted build (we hold the lock)
  if kernel_dir_ok "$KERNEL_DIR"; then
    if [[ $mode == any ]]; then
      exec 9>&-
      return 0
    fi
    local candidates=() newest=
    mapfile -t candidates < <(kernel_candidates)
    ((${#candidates[@]} == 0)) || newest=${candidates[0]}
    if [[ -z $newest || $(cut -d' ' -f1 "$KERNEL_DIR/package") == "$newest" ||
      $(cut -d' ' -f1 "$KERNEL_DIR/package") == "$newest-unsigned" ]]; then
      exec 9>&-
      return 0
    fi
    log "a newer kernel package exists: $newest"
  elif [[ -e $KERNEL_DIR ]]; then
    log "the kernel cache in $KERNEL_DIR is incomplete or damaged: rebuilding it"
  fi
  build_kernel_cache
  exec 9>&- # closing the file releases the lock (and QEMU does not inherit it)
}

cmd_prepare() {
  (($# == 0)) || usage_error "prepare takes no arguments"
  need_root "prepare"
  ensure_packages
  ensure_kernel newest
  check_tools
  log "ready: $("$QEMU" --version | head -n1), kernel $(<"$KERNEL_DIR/package")"
}

# ---------------------------------------------------------------------------------------------
# run: the initramfs

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

# copy_with_libraries STAGE PATH [DEST]: copies an executable or library into STAGE (at DEST, by
# default its own path), and every shared library ldd lists for it, each at the path ldd names.
# Adds the libraries' directories to LIB_DIRS.
copy_with_libraries() {
  local stage=$1 path=$2 dest=${3:-$2}
  [[ -f $path && -r $path ]] || die "$EX_TESTBED" "$path does not exist or is unreadable"
  mkdir -p "$stage$(dirname "$dest")"
  cp -L --preserve=mode -- "$path" "$stage$dest"
  local ldd_out
  if ! ldd_out=$(ldd "$path" 2>&1); then
    return 0 # a static executable or not an ELF file: nothing to add
  fi
  if grep -q 'not found' <<<"$ldd_out"; then
    die "$EX_TESTBED" "libraries of $path are missing on this machine:"$'\n'"$(grep 'not found' <<<"$ldd_out")"
  fi
  local lib
  # "libx.so => /path/libx.so (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)".
  while IFS= read -r lib; do
    [[ -e $stage$lib ]] && continue
    mkdir -p "$stage$(dirname "$lib")"
    cp -L --preserve=mode -- "$lib" "$stage$lib"
    LIB_DIRS+=("$(dirname "$lib")")
  done < <(awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$ldd_out")
}

# cpio_newc_entry NAME MODE NLINK RDEVMAJOR RDEVMINOR: one header-only "newc" cpio entry (device
# nodes and the trailer), so the initramfs gets /dev/console without mknod on the host.
cpio_newc_entry() {
  local name=$1 mode=$2 nlink=$3 major=$4 minor=$5
  local namesize=$((${#name} + 1))
  printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
    1 "$mode" 0 0 "$nlink" 0 0 0 0 "$major" "$minor" "$namesize" 0
  printf '%s\0' "$name"
  head -c $(((4 - (110 + namesize) % 4) % 4)) /dev/zero
}

# The guest's /init, run by the kernel as PID 1 with busybox sh. Stays in busybox sh syntax.
write_init() {
  cat >"$1" <<'INIT'
#!/bin/sh
# The test bed's init (generated by testbed.sh): mounts, loads modules, runs the scenario, packs
# its output onto the results disk, powers off. Every path to a failure ends in poweroff too.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
exec </dev/null >/dev/console 2>&1

say() { echo "testbed-init: $*"; }
finish() {
  sync
  say "powering off"
  poweroff -f
  sleep 5
  exit 1 # only if poweroff failed: the kernel then panics, which QEMU ends with -no-reboot
}

. /etc/testbed/config
say "kernel $(uname -r), $(grep -c ^processor /proc/cpuinfo) CPU(s)"

if [ "$TESTBED_AUTOLOAD" = 1 ]; then
  while read -r module; do
    [ -n "$module" ] || continue
    insmod "$module" 2>/dev/null || say "warning: insmod $module failed"
  done </etc/testbed/insmod
else
  # The results disk still needs its drivers.
  while read -r module; do
    [ -n "$module" ] || continue
    insmod "$module" 2>/dev/null || say "warning: insmod $module failed"
  done </etc/testbed/insmod-virtio
fi

# The results disk: the virtio disk with the agreed serial number (waits up to 10 s for it).
results=
tries=0
while [ -z "$results" ] && [ "$tries" -lt 100 ]; do
  for serial in /sys/block/*/serial; do
    [ -r "$serial" ] || continue
    if [ "$(cat "$serial")" = "$TESTBED_RESULTS_SERIAL" ]; then
      results=/dev/${serial#/sys/block/}
      results=${results%/serial}
    fi
  done
  [ -n "$results" ] || { tries=$((tries + 1)); sleep 0.1; }
done
if [ -z "$results" ] || [ ! -b "$results" ]; then
  say "FATAL: the results disk did not appear"
  finish
fi

mkdir -p /out /testbed/status /tmp /var/tmp
export TESTBED=1 TESTBED_OUT=/out TESTBED_BINARY=/bin/sriovctl TESTBED_KERNEL="$(uname -r)"
export LD_LIBRARY_PATH="$TESTBED_LD_LIBRARY_PATH"
hostname testbed

# The scenario's arguments, one a line.
set --
while IFS= read -r arg; do set -- "$@" "$arg"; done </testbed/args

say "running scenario $TESTBED_SCENARIO_NAME"
echo "TESTBED-SCENARIO-BEGIN"
(cd / && exec /bin/sh /testbed/scenario "$@")
status=$?
echo "TESTBED-SCENARIO-END status=$status"
echo "$status" >/testbed/status/exit-status
sync

# Pack the output and the status onto the raw disk (the host reads it with tar).
if tar -c -f "$results" -C / out testbed/status; then
  sync
  echo "TESTBED-RESULTS-WRITTEN"
else
  say "FATAL: writing the results to $results failed (more than the disk holds?)"
fi
finish
INIT
  chmod 0755 "$1"
}

# resolve_modules [NAME...]: sets MODULE_RELPATHS to the kernel modules the guest gets (NAMEs, by
# default the default ones and --module ones, and their dependencies), in load order, each once,
# as paths relative to the unpacked package (lib/modules/VERSION/kernel/...). Modules built into
# the kernel need nothing.
resolve_modules() {
  local version kroot=$KERNEL_DIR/root
  version=$(<"$KERNEL_DIR/kernel-version")
  MODULE_RELPATHS=()
  local names=("$@")
  (($#)) || names=("${DEFAULT_MODULES[@]}" "${EXTRA_MODULES[@]}")
  local module line deps seen=" "
  for module in "${names[@]}"; do
    deps=$(modprobe -d "$kroot" -S "$version" --show-depends "$module" 2>&1) ||
      die "$EX_TESTBED" "kernel $version has no module $module: $deps"
    while IFS= read -r line; do
      case $line in
        insmod\ *)
          local path=${line#insmod }
          path=${path%% *}
          local rel=${path#"$kroot"/}
          if [[ $seen != *" $rel "* ]]; then
            seen+="$rel "
            MODULE_RELPATHS+=("$rel")
          fi
          ;;
        builtin\ *) ;;
        *) die "$EX_TESTBED" "unexpected modprobe output for $module: $line" ;;
      esac
    done <<<"$deps"
  done
}

# build_initramfs STAGE OUTPUT: assembles the guest's root in STAGE and writes the cpio OUTPUT.
# Uses the globals set by cmd_run.
build_initramfs() {
  local stage=$1 output=$2 version
  version=$(<"$KERNEL_DIR/kernel-version")
  local kroot=$KERNEL_DIR/root
  mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,lib,lib64,etc/testbed,proc,sys,dev,run,tmp,out,testbed}
  chmod 1777 "$stage/tmp"

  # busybox and its applet links (absolute targets; existing names are not replaced).
  cp -- "$(command -v busybox)" "$stage/bin/busybox"
  local applet
  while IFS= read -r applet; do
    [[ -e $stage/$applet || -L $stage/$applet ]] || ln -s /bin/busybox "$stage/$applet"
  done < <("$stage/bin/busybox" --list-full)

  # Kernel modules (resolved and checksummed by resolve_modules).
  local rel file
  for rel in "${MODULE_RELPATHS[@]}"; do
    mkdir -p "$stage/$(dirname "$rel")"
    cp -- "$kroot/$rel" "$stage/$rel"
  done
  for file in modules.builtin modules.builtin.modinfo modules.order; do
    if [[ -f $kroot/lib/modules/$version/$file ]]; then
      cp -- "$kroot/lib/modules/$version/$file" "$stage/lib/modules/$version/$file"
    fi
  done
  depmod -b "$stage" "$version" || die "$EX_TESTBED" "depmod on the initramfs failed"
  printf '/%s\n' "${MODULE_RELPATHS[@]}" >"$stage/etc/testbed/insmod"
  printf '/%s\n' "${MODULE_RELPATHS[@]}" | grep '/virtio' >"$stage/etc/testbed/insmod-virtio"

  # The binary under test with its libraries, then --include files.
  LIB_DIRS=()
  copy_with_libraries "$stage" "$BINARY" /bin/sriovctl
  for file in "${INCLUDES[@]}"; do
    copy_with_libraries "$stage" "$file"
  done
  local ld_path=
  if ((${#LIB_DIRS[@]})); then
    ld_path=$(printf '%s\n' "${LIB_DIRS[@]}" | awk 'NF && !seen[$0]++' | paste -sd:)
  fi

  # pci.ids, so libpci can name devices.
  if [[ -r /usr/share/misc/pci.ids ]]; then
    mkdir -p "$stage/usr/share/misc"
    cp -- /usr/share/misc/pci.ids "$stage/usr/share/misc/pci.ids"
  else
    log "warning: /usr/share/misc/pci.ids is missing (apt-get install pci.ids): no device names"
  fi

  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$stage/etc/passwd"
  printf 'root:x:0:\n' >"$stage/etc/group"
  mkdir -p "$stage/root"

  # The scenario and its arguments.
  cp -- "$SCENARIO" "$stage/testbed/scenario"
  chmod 0755 "$stage/testbed/scenario"
  if ((${#SCENARIO_ARGS[@]})); then
    printf '%s\n' "${SCENARIO_ARGS[@]}" >"$stage/testbed/args"
  else
    : >"$stage/testbed/args"
  fi
  {
    printf 'TESTBED_AUTOLOAD=%q\n' "$AUTOLOAD"
    printf 'TESTBED_RESULTS_SERIAL=%q\n' "$RESULTS_SERIAL"
    printf 'TESTBED_LD_LIBRARY_PATH=%q\n' "$ld_path"
    printf 'TESTBED_SCENARIO_NAME=%q\n' "${SCENARIO##*/}"
  } >"$stage/etc/testbed/config"
  write_init "$stage/init"

  # The archive: the staged tree (sorted, owned by root), then /dev/console. Not compressed: the
  # kernel would spend longer decompressing it under TCG than QEMU spends loading it.
  (cd "$stage" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
    cpio --null --create --format=newc --owner=0:0 --reproducible --quiet) >"$output"
  {
    cpio_newc_entry dev/console $((0020600)) 1 5 1
    cpio_newc_entry TRAILER!!! 0 1 0 0
  } >>"$output"
}

# ---------------------------------------------------------------------------------------------
# run --debian: the boot initramfs for the Debian image

# Modules the Debian guest's initramfs loads to mount its root (the image has all the others).
readonly DEBIAN_BOOT_MODULES=(virtio_pci virtio_blk ext4)
# The serial number of the Debian guest's root disk.
readonly ROOT_SERIAL=testbed-root

# build_debian_initramfs STAGE OUTPUT: a busybox initramfs that mounts the Debian root disk, puts
# the scenario (and --install-binary, --include files) into it and switch_roots to systemd.
build_debian_initramfs() {
  local stage=$1 output=$2
  mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,etc/testbed,proc,sys,dev,newroot,testbed}
  cp -- "$(command -v busybox)" "$stage/bin/busybox"
  local applet
  while IFS= read -r applet; do
    [[ -e $stage/$applet || -L $stage/$applet ]] || ln -s /bin/busybox "$stage/$applet"
  done < <("$stage/bin/busybox" --list-full)

  local rel
  for rel in "${MODULE_RELPATHS[@]}"; do
    mkdir -p "$stage/$(dirname "$rel")"
    cp -- "$KERNEL_DIR/root/$rel" "$stage/$rel"
  done
  printf '/%s\n' "${MODULE_RELPATHS[@]}" >"$stage/etc/testbed/insmod"

  if ((INSTALL_BINARY)); then
    # Only the binary: its libraries come from the image.
    cp -L --preserve=mode -- "$BINARY" "$stage/testbed/sriovctl"
  fi
  local file
  for file in "${INCLUDES[@]}"; do
    [[ -f $file && -r $file ]] || die "$EX_TESTBED" "$file does not exist or is unreadable"
    mkdir -p "$stage/testbed/include$(dirname "$file")"
    cp -L --preserve=mode -- "$file" "$stage/testbed/include$file"
  done

  cp -- "$SCENARIO" "$stage/testbed/scenario"
  chmod 0755 "$stage/testbed/scenario"
  if ((${#SCENARIO_ARGS[@]})); then
    printf '%s\n' "${SCENARIO_ARGS[@]}" >"$stage/testbed/args"
  else
    : >"$stage/testbed/args"
  fi
  # Read by the initramfs (busybox sh) and by the image's agent (dash): plain words only.
  {
    printf 'TESTBED_RESULTS_SERIAL=%s\n' "$RESULTS_SERIAL"
    printf 'TESTBED_ROOT_SERIAL=%s\n' "$ROOT_SERIAL"
    printf "TESTBED_SCENARIO_NAME='%s'\n" "${SCENARIO##*/}"
  } >"$stage/testbed/config"
  write_debian_init "$stage/init"

  (cd "$stage" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
    cpio --null --create --format=newc --owner=0:0 --reproducible --quiet) >"$output"
  {
    cpio_newc_entry dev/console $((0020600)) 1 5 1
    cpio_newc_entry TRAILER!!! 0 1 0 0
  } >>"$output"
}

# The Debian guest's /init (busybox sh, PID 1 until switch_root).
write_debian_init() {
  cat >"$1" <<'INIT'
#!/bin/sh
# The test bed's boot initramfs for the Debian image (generated by testbed.sh): loads virtio and
# ext4, mounts the root disk, hands the scenario over in /run/testbed, switch_roots to systemd.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/null >/dev/console 2>&1

say() { echo "testbed-initramfs: $*"; }
fail() {
  say "FATAL: $*"
  sync
  poweroff -f
  sleep 5
  exit 1
}

# shellcheck disable=SC1091 # written by testbed.sh
. /testbed/config
while read -r module; do
  [ -n "$module" ] || continue
  insmod "$module" 2>/dev/null || say "warning: insmod $module failed"
done </etc/testbed/insmod

root=
tries=0
while [ -z "$root" ] && [ "$tries" -lt 100 ]; do
  for serial in /sys/block/*/serial; do
    [ -r "$serial" ] || continue
    if [ "$(cat "$serial")" = "$TESTBED_ROOT_SERIAL" ]; then
      root=${serial#/sys/block/}
      root=/dev/${root%/serial}
    fi
  done
  [ -n "$root" ] || { tries=$((tries + 1)); sleep 0.1; }
done
if [ -z "$root" ] || [ ! -b "$root" ]; then fail "the root disk did not appear"; fi
mount -t ext4 -o rw "$root" /newroot || fail "cannot mount the root disk $root"
[ -x /newroot/sbin/init ] || [ -L /newroot/sbin/init ] || fail "the root disk has no /sbin/init"

# /run for systemd (it keeps a mounted /run), holding the scenario for the agent.
mount -t tmpfs -o mode=0755,nosuid,nodev,size=50% tmpfs /newroot/run || fail "cannot mount /run"
mkdir -p /newroot/run/testbed
cp /testbed/scenario /testbed/args /testbed/config /newroot/run/testbed/ || fail "cannot copy the scenario"
if [ -f /testbed/sriovctl ]; then
  mkdir -p /newroot/usr/local/bin
  if ! cp /testbed/sriovctl /newroot/usr/local/bin/sriovctl.new ||
    ! chmod 0755 /newroot/usr/local/bin/sriovctl.new ||
    ! mv /newroot/usr/local/bin/sriovctl.new /newroot/usr/local/bin/sriovctl; then
    fail "cannot install the sriovctl binary"
  fi
fi
if [ -d /testbed/include ]; then
  cp -a /testbed/include/. /newroot/ || fail "cannot copy the --include files"
fi
sync
say "root $root mounted, switching to systemd ($(cut -d' ' -f1 /proc/uptime) s after boot)"
mount --move /dev /newroot/dev
umount /sys
umount /proc
exec switch_root /newroot /sbin/init
INIT
  chmod 0755 "$1"
}

# ---------------------------------------------------------------------------------------------
# run: the VM

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

  local machine=q35 append kernel
  append="console=ttyS0 quiet panic=-1 ${EXTRA_CMDLINE[*]}"
  append=${append% }
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
  local qemu_args=(
    -accel tcg -cpu "$CPU" -m "$MEMORY" -smp "$SMP" -nographic -no-reboot -nodefaults
    -monitor none "${firmware[@]}"
    -kernel "$kernel" -initrd "$work/initrd.cpio" -append "$append"
    -chardev "stdio,id=console,signal=off,logfile=$OUT/console.log,logappend=off"
    -serial chardev:console
  )
  if ((VIOMMU)); then
    machine+=,kernel-irqchip=split
    # Before the PCI devices, so that they are all behind it.
    # shellcheck disable=SC2054
    qemu_args+=(-device intel-iommu,intremap=on)
  fi
  qemu_args=(-machine "$machine" "${qemu_args[@]}")
  # shellcheck disable=SC2054
  qemu_args+=(
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
    qemu_args+=(
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
    qemu_args+=(
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
    qemu_args+=(
      -device "pcie-root-port,id=rp2,bus=pcie.0,addr=$nvme_slot,chassis=2,slot=2"
      -device nvme-subsys,id=nvmesubsys0,nqn=nqn.2024-01.org.sriovctl:testbed
      -device nvme,bus=rp2,addr=0x0,serial=sriovctl-nvme0,subsys=nvmesubsys0,sriov_max_vfs=4,sriov_vq_flexible=8,sriov_vi_flexible=4,max_ioqpairs=13,msix_qsize=9
    )
  fi

  {
    printf 'kernel_package: %s\n' "$(<"$KERNEL_DIR/package")"
    printf 'kernel_version: %s\n' "$version"
    printf 'qemu: %s\n' "$("$QEMU" --version | head -n1)"
    printf 'scenario: %s' "${SCENARIO##*/}"
    ((${#SCENARIO_ARGS[@]} == 0)) || printf ' %q' "${SCENARIO_ARGS[@]}"
    printf '\nbinary: %s\n' "$BINARY"
    if [[ -n $DEBIAN_IMAGE ]]; then
      printf 'guest: debian\nimage: %s\ndisk: %s\ninstall_binary: %s\n' "$DEBIAN_IMAGE" \
        "${DISK_COPY:-(a throw-away copy)}" "$INSTALL_BINARY"
    else
      printf 'guest: busybox\n'
    fi
    printf 'kernel_cmdline: %s\n' "$append"
    printf 'qemu_command:'
    printf ' %q' "$QEMU" "${qemu_args[@]}"
    printf '\n'
  } >"$OUT/testbed.txt"

  log "booting ${SCENARIO##*/} (kernel $version, timeout ${TIMEOUT}s)"
  local boot_started qemu_status=0 console_out=/dev/null
  boot_started=$(date +%s.%N)
  ((VERBOSE)) && console_out=/dev/stderr
  timeout --kill-after=10 "$TIMEOUT" "$QEMU" "${qemu_args[@]}" </dev/null >"$console_out" 2>"$work/qemu.err" &
  QEMU_PID=$!
  wait "$QEMU_PID" || qemu_status=$?
  QEMU_PID=
  local elapsed
  elapsed=$(awk -v a="$boot_started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  printf 'vm_seconds: %s\n' "$elapsed" >>"$OUT/testbed.txt"

  # What went wrong, if anything, from the clearest cause to the vaguest.
  if ((qemu_status == 124 || qemu_status == 137)); then
    show_console_tail
    die "$EX_TIMEOUT" "the VM ran longer than --timeout ${TIMEOUT}s and was stopped (console: $OUT/console.log)"
  fi
  if grep -q 'testbed-initramfs: FATAL' "$OUT/console.log" 2>/dev/null; then
    show_console_tail
    die "$EX_TESTBED" "the Debian guest did not start: $(grep -m1 -o 'testbed-initramfs: FATAL.*' "$OUT/console.log") (console: $OUT/console.log)"
  fi
  if grep -q 'Kernel panic - not syncing' "$OUT/console.log" 2>/dev/null; then
    show_console_tail
    die "$EX_TESTBED" "the guest kernel panicked: $(grep -m1 -o 'Kernel panic - not syncing.*' "$OUT/console.log") (console: $OUT/console.log)"
  fi
  if ((qemu_status != 0)); then
    [[ -s $work/qemu.err ]] && sed 's/^/  qemu: /' "$work/qemu.err" >&2
    show_console_tail
    die "$EX_TESTBED" "QEMU failed with status $qemu_status"
  fi
  # QEMU's one expected warning: the NIC has no network backend, on purpose.
  sed -i '/warning: nic igb.0 has no peer/d' "$work/qemu.err"
  [[ -s $work/qemu.err ]] && sed 's/^/  qemu: /' "$work/qemu.err" >&2

  mkdir -p "$work/results"
  if ! tar -x -f "$work/results.img" -C "$work/results" 2>"$work/tar.err" ||
    [[ ! -f $work/results/testbed/status/exit-status ]]; then
    sed 's/^/  tar: /' "$work/tar.err" >&2
    show_console_tail
    die "$EX_TESTBED" "the guest delivered no results (console: $OUT/console.log)"
  fi
  local status
  status=$(<"$work/results/testbed/status/exit-status")
  [[ $status =~ ^[0-9]+$ ]] || die "$EX_TESTBED" "the guest reported a malformed exit status '$status'"

  local name
  for name in console.log exit-status testbed.txt; do
    [[ ! -e $work/results/out/$name && ! -L $work/results/out/$name ]] ||
      die "$EX_TESTBED" "the scenario wrote $name, a name the test bed reserves"
  done
  local produced=("$work/results/out"/* "$work/results/out"/.[!.]*)
  ((${#produced[@]} == 0)) || mv -- "${produced[@]}" "$OUT/"
  printf '%s\n' "$status" >"$OUT/exit-status"

  log "scenario ${SCENARIO##*/} exited with status $status; VM ran ${elapsed}s; results in $OUT"
  exit "$status"
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

show_console_tail() {
  [[ -s $OUT/console.log ]] || return 0
  printf '%s: last lines of the console:\n' "$PROG" >&2
  tail -n 30 "$OUT/console.log" | sed 's/^/  | /' >&2
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
