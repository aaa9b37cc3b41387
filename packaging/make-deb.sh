#!/usr/bin/env bash
# make-deb.sh: builds sriovctl_VERSION_amd64.deb from the release binary with Debian's own tools
# (dpkg-shlibdeps for Depends, dpkg-gencontrol for the control file, dpkg-deb for the archive), as
# `make deb` calls it. No root needed (dpkg-deb --root-owner-group).
#
#   packaging/make-deb.sh BINARY OUTDIR
#
# BINARY is `.build/release/sriovctl` (swift build -c release --static-swift-stdlib); the man page,
# completions and example node file come from the source tree. The package:
#   /usr/sbin/sriovctl                                   stripped, as dh_strip would
#   /usr/share/man/man8/sriovctl.8.gz
#   /usr/share/bash-completion/completions/sriovctl
#   /usr/share/zsh/vendor-completions/_sriovctl
#   /usr/share/fish/vendor_completions.d/sriovctl.fish
#   /usr/share/doc/sriovctl/{copyright,changelog.gz,examples/sriovctl.yaml}
#   /usr/share/lintian/overrides/sriovctl
# Reproducible: every time stamp (files, gzip headers, the ar members) is SOURCE_DATE_EPOCH, the
# date of debian/changelog's newest entry; file order and owners are fixed. Two runs give the same
# bytes. The version is debian/changelog's, which must equal Sources/SRIOVKit/Version.swift's.
#
# Exit status: 0 with the .deb's path on stdout; 1 on failure; 2 for a usage error.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$src"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/sriovctl
mkdir -p "$root/DEBIAN"

install -D -m 0755 "$binary" "$root/usr/sbin/sriovctl"
strip_binary "$root/usr/sbin/sriovctl"
install -D -m 0644 man/sriovctl.8 "$root/usr/share/man/man8/sriovctl.8"
gzip -9n "$root/usr/share/man/man8/sriovctl.8"
# Completions are sourced, not run: no #! line.
install -d "$root/usr/share/bash-completion/completions"
sed '1{/^#!/d}' completions/sriovctl.bash >"$root/usr/share/bash-completion/completions/sriovctl"
install -D -m 0644 completions/sriovctl.zsh "$root/usr/share/zsh/vendor-completions/_sriovctl"
install -D -m 0644 completions/sriovctl.fish "$root/usr/share/fish/vendor_completions.d/sriovctl.fish"
install -D -m 0644 debian/copyright "$root/usr/share/doc/sriovctl/copyright"
# A native package (debian/ is upstream's, the version has no Debian revision): Debian policy
# 12.7 names its changelog changelog.gz.
install -D -m 0644 debian/changelog "$root/usr/share/doc/sriovctl/changelog"
gzip -9n "$root/usr/share/doc/sriovctl/changelog"
# The one lintian error that stays, with its reason (see the file).
install -D -m 0644 debian/sriovctl.lintian-overrides "$root/usr/share/lintian/overrides/sriovctl"
install -D -m 0644 contrib/sriovctl.yaml "$root/usr/share/doc/sriovctl/examples/sriovctl.yaml"

# Depends from the binary's NEEDED libraries, through the shlibs files of the installed packages.
mkdir -p "$work/debian"
cp debian/control debian/changelog "$work/debian/"
(cd "$work" && dpkg-shlibdeps -Tdebian/sriovctl.substvars sriovctl/usr/sbin/sriovctl) \
  || die "dpkg-shlibdeps failed: are libpci3, libsystemd0, libkmod2 and libnl-route-3-200 installed?"
(cd "$work" && dpkg-gencontrol -psriovctl -Psriovctl -Tdebian/sriovctl.substvars -fdebian/files) \
  || die "dpkg-gencontrol failed"
(cd "$root" && find usr -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum >DEBIAN/md5sums)
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"

find "$root" -exec touch --no-dereference --date="@$SOURCE_DATE_EPOCH" {} +
mkdir -p "$outdir"
deb=$outdir/sriovctl_${version}_amd64.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null || die "dpkg-deb failed"
echo "$deb"
