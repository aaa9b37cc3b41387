# shellcheck shell=bash
# lib/initramfs.sh: the guest's initramfs, as a cpio archive of a staged tree: for the busybox
# guest the whole root (busybox, the kernel modules, the binary under test with its libraries,
# pci.ids, the scenario, guest/init); for the Debian guest a boot initramfs (busybox, the modules
# that mount the root disk, the scenario and files to hand over, guest/debian-init). Both share
# the staging steps below.
# Sourced by Tests/vm/testbed.sh (which sets `set -euo pipefail`, the constants and the globals of
# `run`); not run on its own.

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


# stage_busybox STAGE: the static busybox and its applet links (absolute targets; existing names
# are not replaced).
stage_busybox() {
  local stage=$1 applet
  mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin}
  cp -- "$(command -v busybox)" "$stage/bin/busybox"
  while IFS= read -r applet; do
    [[ -e $stage/$applet || -L $stage/$applet ]] || ln -s /bin/busybox "$stage/$applet"
  done < <("$stage/bin/busybox" --list-full)
}

# stage_modules STAGE: MODULE_RELPATHS (see resolve_modules) and their load order in
# STAGE/etc/testbed/insmod.
stage_modules() {
  local stage=$1 rel
  for rel in "${MODULE_RELPATHS[@]}"; do
    mkdir -p "$stage/$(dirname "$rel")"
    cp -- "$KERNEL_DIR/root/$rel" "$stage/$rel"
  done
  mkdir -p "$stage/etc/testbed"
  printf '/%s\n' "${MODULE_RELPATHS[@]}" >"$stage/etc/testbed/insmod"
}

# stage_scenario STAGE: the scenario (STAGE/testbed/scenario) and its arguments, one a line
# (STAGE/testbed/args).
stage_scenario() {
  local stage=$1
  mkdir -p "$stage/testbed"
  cp -- "$SCENARIO" "$stage/testbed/scenario"
  chmod 0755 "$stage/testbed/scenario"
  if ((${#SCENARIO_ARGS[@]})); then
    printf '%s\n' "${SCENARIO_ARGS[@]}" >"$stage/testbed/args"
  else
    : >"$stage/testbed/args"
  fi
}

# stage_init STAGE NAME: guest/NAME as the initramfs's /init.
stage_init() {
  cp -- "$SCRIPT_DIR/guest/$2" "$1/init"
  chmod 0755 "$1/init"
}

# pack_initramfs STAGE OUTPUT: the archive: the staged tree (sorted, owned by root), then
# /dev/console. Not compressed: the kernel would spend longer decompressing it under TCG than
# QEMU spends loading it.
pack_initramfs() {
  local stage=$1 output=$2
  (cd "$stage" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
    cpio --null --create --format=newc --owner=0:0 --reproducible --quiet) >"$output"
  {
    cpio_newc_entry dev/console $((0020600)) 1 5 1
    cpio_newc_entry TRAILER!!! 0 1 0 0
  } >>"$output"
}

# build_initramfs STAGE OUTPUT: the busybox guest's whole root in STAGE, packed into OUTPUT.
build_initramfs() {
  local stage=$1 output=$2 version file
  version=$(<"$KERNEL_DIR/kernel-version")
  local kroot=$KERNEL_DIR/root
  mkdir -p "$stage"/{lib,lib64,etc/testbed,proc,sys,dev,run,tmp,out,testbed,root}
  chmod 1777 "$stage/tmp"
  stage_busybox "$stage"

  # Kernel modules (resolved and checksummed by resolve_modules), indexed for modprobe/libkmod.
  stage_modules "$stage"
  for file in modules.builtin modules.builtin.modinfo modules.order; do
    if [[ -f $kroot/lib/modules/$version/$file ]]; then
      cp -- "$kroot/lib/modules/$version/$file" "$stage/lib/modules/$version/$file"
    fi
  done
  depmod -b "$stage" "$version" || die "$EX_TESTBED" "depmod on the initramfs failed"
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

  stage_scenario "$stage"
  {
    printf 'TESTBED_AUTOLOAD=%q\n' "$AUTOLOAD"
    printf 'TESTBED_RESULTS_SERIAL=%q\n' "$RESULTS_SERIAL"
    printf 'TESTBED_LD_LIBRARY_PATH=%q\n' "$ld_path"
    printf 'TESTBED_SCENARIO_NAME=%q\n' "${SCENARIO##*/}"
  } >"$stage/etc/testbed/config"
  stage_init "$stage" init
  pack_initramfs "$stage" "$output"
}

# build_debian_initramfs STAGE OUTPUT: a busybox initramfs that mounts the Debian root disk, puts
# the scenario (and --install-binary, --include files) into it and switch_roots to systemd.
build_debian_initramfs() {
  local stage=$1 output=$2 file
  mkdir -p "$stage"/{proc,sys,dev,newroot,testbed}
  stage_busybox "$stage"
  stage_modules "$stage"
  if ((INSTALL_BINARY)); then
    # Only the binary: its libraries come from the image.
    cp -L --preserve=mode -- "$BINARY" "$stage/testbed/sriovctl"
  fi
  for file in "${INCLUDES[@]}"; do
    [[ -f $file && -r $file ]] || die "$EX_TESTBED" "$file does not exist or is unreadable"
    mkdir -p "$stage/testbed/include$(dirname "$file")"
    cp -L --preserve=mode -- "$file" "$stage/testbed/include$file"
  done
  stage_scenario "$stage"
  # Read by the initramfs (busybox sh) and by the image's agent (dash): plain words only.
  {
    printf 'TESTBED_RESULTS_SERIAL=%s\n' "$RESULTS_SERIAL"
    printf 'TESTBED_ROOT_SERIAL=%s\n' "$ROOT_SERIAL"
    printf "TESTBED_SCENARIO_NAME='%s'\n" "${SCENARIO##*/}"
  } >"$stage/testbed/config"
  stage_init "$stage" debian-init
  pack_initramfs "$stage" "$output"
}
