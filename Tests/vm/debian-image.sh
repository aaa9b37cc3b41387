#!/usr/bin/env bash
# debian-image.sh: a minimal Debian 12 (bookworm) root file system with real systemd and udev, as
# an ext4 disk image, for the VM test bed's Debian guest (`testbed.sh run --debian`).
#
#   debian-image.sh [--out IMAGE] [--rebuild]
#       Builds the image when the cache has none (or a damaged or outdated one), then prints its
#       path on stdout. With --out IMAGE, also copies it (sparse) to IMAGE, which the caller owns.
#       --rebuild builds it again even when the cached one is fine. Needs root.
#
#   debian-image.sh help
#
# The image (raw, sparse, one ext4 file system labelled sriov-guest-root, no partition table):
#   - debootstrap --variant=minbase of bookworm from the Debian mirror apt uses here, plus systemd,
#     systemd-sysv, udev, dbus (the system bus, through which systemctl and sriovctl reach systemd,
#     as on a usual server), kmod, iproute2, python3, libpci3, libsystemd0, libkmod2 and
#     libnl-route-3-200 (sriovctl's runtime libraries). No kernel package: the modules of the test
#     bed's own kernel (testbed.sh's kernel cache, Debian's 6.1) are copied into /lib/modules,
#     trimmed to the drivers a server with this hardware needs (network, PCI, VFIO, IOMMU, storage,
#     virtio, ext4...) with everything they depend on, and indexed with depmod.
#   - hostname sriov-guest, a fixed machine-id (so MACs udev derives from it are reproducible),
#     root without a password, autologin on the serial console ttyS0.
#   - the test bed agent: testbed-agent.service runs after multi-user.target and, when the test
#     bed's initramfs left a scenario in /run/testbed, runs it with /bin/sh, packs its output and
#     exit status with tar onto the results disk (the virtio disk with serial "testbed-results"),
#     then powers the machine off. Without a scenario it does nothing (an interactive boot).
#   - apt's timers masked (no network in the guest); documentation and apt lists removed.
#
# Cache (${SRIOVCTL_VM_CACHE:-/var/cache/sriovctl-vm}, shared with testbed.sh and its lock):
#   debian/image.raw     the image; image.md5 its checksum; recipe what it was built from (this
#                        script's checksum and the kernel package); complete written last
#   debootstrap-debs/    the downloaded packages, so a rebuild needs no download
# The cache is only a speed-up: an image whose checksum or recipe does not match is rebuilt.
#
# Exit status: 0 on success, 1 when the image could not be built, 2 for a usage error.

set -euo pipefail
shopt -s nullglob

readonly PROG=${0##*/}
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly SCRIPT_DIR
readonly CACHE=${SRIOVCTL_VM_CACHE:-/var/cache/sriovctl-vm}
readonly IMAGE_DIR=$CACHE/debian
readonly DEBS_DIR=$CACHE/debootstrap-debs
readonly SUITE=bookworm
readonly LABEL=sriov-guest-root
readonly HOSTNAME_=sriov-guest
# A fixed machine-id: MACAddressPolicy=persistent derives VF MACs from it.
readonly MACHINE_ID=5372696f7663746c4775657374303031
readonly PACKAGES=systemd,systemd-sysv,udev,dbus,kmod,iproute2,python3,libpci3,libsystemd0,libkmod2,libnl-route-3-200
# The image's size (sparse; the file system holds ~300 MiB).
readonly IMAGE_MIB=1024

# Kernel module directories (under lib/modules/VERSION/kernel) copied into the image; each
# module's dependencies (from modules.dep) come too, wherever they are.
readonly MODULE_DIRS=(
  arch crypto lib mm block virt
  fs/ext4 fs/jbd2 fs/mbcache.ko fs/autofs fs/binfmt_misc.ko fs/overlayfs fs/fuse fs/nls fs/fat fs/vfat
  net/8021q net/802 net/llc net/bridge net/core net/sched net/packet net/ipv4 net/ipv6
  net/unix net/netlink net/vmw_vsock
  drivers/net/ethernet/intel drivers/net/ethernet/mellanox drivers/net/bonding drivers/net/team
  drivers/net/phy drivers/net/mdio drivers/net/pcs
  drivers/net/dummy.ko drivers/net/veth.ko drivers/net/macvlan.ko drivers/net/macvtap.ko
  drivers/net/tun.ko drivers/net/tap.ko drivers/net/vxlan drivers/net/geneve.ko drivers/net/ipvlan
  drivers/net/virtio_net.ko drivers/net/net_failover.ko
  drivers/vfio drivers/virtio drivers/block drivers/nvme drivers/iommu drivers/pci drivers/char
  drivers/input drivers/ata drivers/i2c drivers/acpi drivers/firmware drivers/misc drivers/dca
  drivers/ptp drivers/pps drivers/watchdog drivers/platform/x86 drivers/cpufreq drivers/edac
  drivers/scsi/sd_mod.ko drivers/scsi/sg.ko drivers/scsi/virtio_scsi.ko drivers/md
)

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
  printf '%s: error: %s\n' "$PROG" "$*" >&2
  exit 1
}
usage_error() {
  printf '%s: %s\n' "$PROG" "$*" >&2
  printf "Try '%s help'.\n" "$PROG" >&2
  exit 2
}

WORK=
cleanup() {
  local status=$?
  if [[ -n $WORK && -d $WORK ]]; then
    # debootstrap may leave file systems mounted in its target.
    local mount
    for mount in "$WORK"/root/proc "$WORK"/root/sys "$WORK"/root/dev/pts "$WORK"/root/dev; do
      mountpoint -q "$mount" 2>/dev/null && umount -l "$mount" 2>/dev/null
    done
    rm -rf -- "$WORK"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cmd_help() {
  sed -n '2,/^$/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

# The Debian mirror apt uses (the first URIs of debian.sources, or the first deb line).
mirror_url() {
  local uri=
  if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
    uri=$(awk '/^URIs:/ { sub(/^URIs:[ \t]*/, ""); print; exit }' /etc/apt/sources.list.d/debian.sources)
  elif [[ -f /etc/apt/sources.list ]]; then
    uri=$(awk '$1 == "deb" && $2 !~ /^\[/ && $2 !~ /security/ { print $2; exit }' /etc/apt/sources.list)
  fi
  uri=${uri%% *}
  [[ -n $uri ]] || die "cannot find the Debian mirror in apt's sources"
  printf '%s\n' "$uri"
}

keyring_path() {
  local keyring=
  if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
    keyring=$(awk '/^Signed-By:/ { sub(/^Signed-By:[ \t]*/, ""); print; exit }' \
      /etc/apt/sources.list.d/debian.sources)
  fi
  [[ -n $keyring && -f $keyring ]] || keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  printf '%s\n' "$keyring"
}

ensure_tools() {
  local missing=() tool package
  for tool in debootstrap:debootstrap mkfs.ext4:e2fsprogs depmod:kmod md5sum:coreutils \
    flock:util-linux; do
    package=${tool#*:}
    command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("$package")
  done
  ((${#missing[@]})) || return 0
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
    die "apt-get install ${missing[*]} failed"
}

# The test bed's kernel cache (testbed.sh builds or repairs it and prints its directory).
kernel_dir() {
  "$SCRIPT_DIR/testbed.sh" kernel-dir || die "the test bed's kernel cache is not usable"
}

# recipe KERNEL_DIR: what an image is built from; a cached image with another recipe is rebuilt.
# (The script's checksum leaves out comment lines.)
recipe() {
  printf 'script %s\n' "$(grep -v '^[[:space:]]*#' "${BASH_SOURCE[0]}" | md5sum | cut -d' ' -f1)"
  printf 'kernel %s\n' "$(<"$1/package")"
  printf 'suite %s\n' "$SUITE"
}

image_ok() {
  local want=$1
  [[ -f $IMAGE_DIR/complete && -s $IMAGE_DIR/image.raw && -s $IMAGE_DIR/image.md5 &&
    -f $IMAGE_DIR/recipe ]] || return 1
  [[ $(<"$IMAGE_DIR/recipe") == "$want" ]] || return 1
  (cd "$IMAGE_DIR" && md5sum --check --quiet --status image.md5)
}

# select_modules KROOT VERSION: the module paths (relative to KROOT) to copy: MODULE_DIRS and
# everything their modules depend on.
select_modules() {
  local kroot=$1 version=$2
  local base=lib/modules/$version
  local patterns=() dir
  for dir in "${MODULE_DIRS[@]}"; do patterns+=("kernel/$dir"); done
  # modules.dep: "kernel/a/b.ko: kernel/c.ko kernel/d.ko" (the full dependency list).
  awk -v list="${patterns[*]}" -v base="$base" '
    BEGIN { n = split(list, p, " ") }
    {
      mod = $1; sub(/:$/, "", mod)
      keep = 0
      for (i = 1; i <= n; i++) {
        if (mod == p[i] || index(mod, p[i] "/") == 1) { keep = 1; break }
      }
      if (!keep) next
      print base "/" mod
      for (j = 2; j <= NF; j++) print base "/" $j
    }' "$kroot/$base/modules.dep" | sort -u
}

# The agent: runs the scenario the test bed's initramfs put in /run/testbed, delivers its
# results, powers off. POSIX sh (dash).
write_agent() {
  cat >"$1" <<'AGENT'
#!/bin/sh
# testbed-agent (installed by Tests/vm/debian-image.sh): runs the test bed's scenario late in
# boot, packs its output and exit status onto the results disk, then powers the machine off.
# The test bed's initramfs leaves in /run/testbed: scenario, args (one a line), config.
set -u
say() { echo "testbed-agent: $*"; }
finish() {
  sync
  say "powering off"
  systemctl --no-block poweroff || poweroff -f
  exit 0
}

dir=/run/testbed
if [ ! -f "$dir/scenario" ]; then
  say "no scenario in $dir: nothing to do"
  exit 0
fi
# shellcheck disable=SC1091 # written by the test bed
. "$dir/config"

# The results disk: the disk with the agreed serial number.
results=
for serial in /sys/block/*/serial; do
  [ -r "$serial" ] || continue
  if [ "$(cat "$serial")" = "$TESTBED_RESULTS_SERIAL" ]; then
    results=${serial#/sys/block/}
    results=/dev/${results%/serial}
  fi
done
if [ -z "$results" ] || [ ! -b "$results" ]; then
  say "FATAL: the results disk did not appear"
  finish
fi

stage=$dir/results
mkdir -p "$stage/out" "$stage/testbed/status"
TESTBED_KERNEL=$(uname -r)
export TESTBED=1 TESTBED_GUEST=debian TESTBED_OUT="$stage/out" TESTBED_KERNEL
export TESTBED_BINARY=/usr/local/bin/sriovctl
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

set --
while IFS= read -r arg; do set -- "$@" "$arg"; done <"$dir/args"

say "running scenario $TESTBED_SCENARIO_NAME ($(cut -d' ' -f1 /proc/uptime) s after boot)"
echo "TESTBED-SCENARIO-BEGIN"
(cd / && exec /bin/sh "$dir/scenario" "$@") </dev/null
status=$?
echo "TESTBED-SCENARIO-END status=$status"
echo "$status" >"$stage/testbed/status/exit-status"
if tar -c -f "$results" -C "$stage" out testbed/status; then
  sync
  echo "TESTBED-RESULTS-WRITTEN"
else
  say "FATAL: writing the results to $results failed (more than the disk holds?)"
fi
finish
AGENT
  chmod 0755 "$1"
}

# configure ROOT KROOT VERSION: everything after debootstrap.
configure() {
  local root=$1 kroot=$2 version=$3

  printf '%s\n' "$HOSTNAME_" >"$root/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' \
    "$HOSTNAME_" >"$root/etc/hosts"
  printf '%s\n' "$MACHINE_ID" >"$root/etc/machine-id"
  mkdir -p "$root/var/lib/dbus"
  ln -sf /etc/machine-id "$root/var/lib/dbus/machine-id"
  # The root file system is mounted (read-write) by the test bed's initramfs; no fsck (the image
  # has no e2fsprogs), systemd only remounts it with these options.
  printf 'LABEL=%s\t/\text4\tdefaults\t0\t0\n' "$LABEL" >"$root/etc/fstab"
  chroot "$root" passwd -d root >/dev/null
  mkdir -p "$root/etc/systemd/system/serial-getty@ttyS0.service.d"
  cat >"$root/etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf" <<'EOF'
[Service]
ExecStart=
ExecStart=-/sbin/agetty --autologin root --keep-baud 115200,57600,38400,9600 - $TERM
EOF
  # No network in the guest: nothing should wait for it or try to fetch.
  local timer
  for timer in apt-daily.timer apt-daily-upgrade.timer; do
    ln -sf /dev/null "$root/etc/systemd/system/$timer"
  done

  # The test bed agent.
  mkdir -p "$root/usr/local/lib/testbed" "$root/etc/systemd/system/multi-user.target.wants"
  write_agent "$root/usr/local/lib/testbed/agent"
  cat >"$root/etc/systemd/system/testbed-agent.service" <<'EOF'
[Unit]
Description=VM test bed agent: run the scenario, deliver its results, power off
Documentation=file:/usr/local/lib/testbed/agent
After=multi-user.target
ConditionPathExists=/run/testbed/scenario

[Service]
Type=oneshot
ExecStart=/usr/local/lib/testbed/agent
StandardOutput=journal+console
StandardError=journal+console
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target
EOF
  ln -sf /etc/systemd/system/testbed-agent.service \
    "$root/etc/systemd/system/multi-user.target.wants/testbed-agent.service"

  # The kernel modules of the test bed's kernel (no second kernel in the image).
  local rel count=0
  while IFS= read -r rel; do
    mkdir -p "$root/$(dirname "$rel")"
    cp -- "$kroot/$rel" "$root/$rel"
    count=$((count + 1))
  done < <(select_modules "$kroot" "$version")
  local file
  for file in modules.builtin modules.builtin.modinfo modules.order; do
    [[ -f $kroot/lib/modules/$version/$file ]] &&
      cp -- "$kroot/lib/modules/$version/$file" "$root/lib/modules/$version/$file"
  done
  depmod -b "$root" "$version" || die "depmod on the image failed"
  log "copied $count kernel modules ($(du -sm "$root/lib/modules" | cut -f1) MiB)"

  # Smaller: no documentation, no apt lists or package caches.
  rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
    "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
    "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/tmp/*
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} +
}

build_image() {
  local kroot_dir=$1 want=$2
  local version kroot
  version=$(<"$kroot_dir/kernel-version")
  kroot=$kroot_dir/root
  local mirror keyring
  mirror=$(mirror_url)
  keyring=$(keyring_path)
  mkdir -p "$DEBS_DIR"
  WORK=$(mktemp -d "$CACHE/debian.new.XXXXXX")
  chmod 0755 "$WORK"
  local started=$SECONDS
  log "debootstrap $SUITE from $mirror (packages cached in $DEBS_DIR)"
  if ! debootstrap --variant=minbase --include="$PACKAGES" --keyring="$keyring" \
    --cache-dir="$DEBS_DIR" "$SUITE" "$WORK/root" "$mirror" >"$WORK/debootstrap.log" 2>&1; then
    tail -n 20 "$WORK/debootstrap.log" | sed 's/^/  /' >&2
    [[ -f $WORK/root/debootstrap/debootstrap.log ]] &&
      tail -n 20 "$WORK/root/debootstrap/debootstrap.log" | sed 's/^/  /' >&2
    die "debootstrap failed"
  fi
  log "debootstrap done in $((SECONDS - started)) s"
  configure "$WORK/root" "$kroot" "$version"

  local used
  used=$(du -sm "$WORK/root" | cut -f1)
  truncate -s "${IMAGE_MIB}M" "$WORK/image.raw"
  mkfs.ext4 -q -F -L "$LABEL" -d "$WORK/root" "$WORK/image.raw" ||
    die "mkfs.ext4 -d failed"
  (cd "$WORK" && md5sum image.raw >image.md5)
  printf '%s\n' "$want" >"$WORK/recipe"
  printf 'built: %s\nroot_mib: %s\nseconds: %s\nmirror: %s\n' "$(date -u +%FT%TZ)" "$used" \
    "$((SECONDS - started))" "$mirror" >"$WORK/info"
  # shellcheck disable=SC2016 # dpkg-query's format, not shell
  chroot "$WORK/root" dpkg-query -W -f='${Package} ${Version}\n' >"$WORK/packages"
  rm -rf -- "${WORK:?}/root"
  : >"$WORK/complete"
  rm -rf -- "$IMAGE_DIR"
  mv -- "$WORK" "$IMAGE_DIR"
  WORK=
  log "image ready: $IMAGE_DIR/image.raw (file system ${used} MiB, $(du -m "$IMAGE_DIR/image.raw" | cut -f1) MiB on disk, built in $((SECONDS - started)) s)"
}

main() {
  local out='' rebuild=0
  while (($#)); do
    case $1 in
      --out) out=${2:?--out needs a path}; shift 2 ;;
      --rebuild) rebuild=1; shift ;;
      help | -h | --help) cmd_help; exit 0 ;;
      *) usage_error "unknown argument '$1'" ;;
    esac
  done
  [[ $(id -u) -eq 0 ]] || die "building the Debian image needs root (run it with sudo)"
  ensure_tools
  local kdir want
  kdir=$(kernel_dir)
  want=$(recipe "$kdir")

  mkdir -p "$CACHE"
  # One builder at a time (the lock testbed.sh uses for the kernel cache is separate).
  exec 8>"$CACHE/debian.lock"
  flock -w 1800 8 || die "timed out waiting for the lock on $CACHE/debian.lock"
  rm -rf -- "$CACHE"/debian.new.*
  if ((rebuild)) || ! image_ok "$want"; then
    [[ -e $IMAGE_DIR ]] && ((rebuild == 0)) &&
      log "the cached image is missing, damaged or outdated: rebuilding it"
    build_image "$kdir" "$want"
  fi
  if [[ -n $out ]]; then
    cp --sparse=always -- "$IMAGE_DIR/image.raw" "$out" || die "cannot copy the image to $out"
  fi
  exec 8>&-
  printf '%s\n' "${out:-$IMAGE_DIR/image.raw}"
}

main "$@"
