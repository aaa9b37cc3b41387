# shellcheck shell=bash
# lib/kernel-cache.sh: the host's packages (QEMU >= 8, busybox-static...) and the kernel cache: Debian's
# linux-image-6.1 package, unpacked, indexed with depmod, its vmlinux extracted; `prepare`.
# Sourced by Tests/vm/testbed.sh (which sets `set -euo pipefail`, the constants and the globals of
# `run`); not run on its own.

# Packages

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
