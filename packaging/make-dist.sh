#!/usr/bin/env bash
# make-dist.sh: the release tarball for distributions other than Debian, as `make dist` calls it.
#
#   packaging/make-dist.sh BINARY OUTDIR
#
# Writes OUTDIR/sriovctl-VERSION-linux-x86_64.tar.gz and its .sha256 (sha256sum's format, so
# `sha256sum -c` checks it). The tarball holds sriovctl-VERSION-linux-x86_64/ with the stripped
# binary, man/sriovctl.8, completions/, examples/sriovctl.yaml, README.md and LICENSE; owners,
# order and time stamps (debian/changelog's date) are fixed, so two runs give the same bytes.
# The binary needs glibc, libstdc++, libgcc_s, libpci 3, libsystemd 0, libkmod 2 and libnl-3 /
# libnl-route-3 200 on the target (what `make check-release` enforces; README: Installing).
#
# Exit status: 0 with the tarball's path on stdout; 1 on failure; 2 for a usage error.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

name=sriovctl-$version-linux-x86_64
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
d=$work/$name
install -D -m 0755 "$binary" "$d/sriovctl"
strip_binary "$d/sriovctl"
install -D -m 0644 "$src/man/sriovctl.8" "$d/man/sriovctl.8"
install -D -m 0644 -t "$d/completions" \
  "$src/completions/sriovctl.bash" "$src/completions/sriovctl.zsh" "$src/completions/sriovctl.fish"
install -D -m 0644 "$src/contrib/sriovctl.yaml" "$d/examples/sriovctl.yaml"
install -m 0644 "$src/README.md" "$src/LICENSE" "$d/"

mkdir -p "$outdir"
tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner --format=gnu -C "$work" -cf - "$name" \
  | gzip -9n >"$outdir/$name.tar.gz"
(cd "$outdir" && sha256sum "$name.tar.gz" >"$name.tar.gz.sha256")
echo "$outdir/$name.tar.gz"
