# common.sh: what make-deb.sh and make-dist.sh share, sourced by both: their arguments (BINARY
# OUTDIR), the one version (Sources/SRIOVKit/Version.swift, which debian/changelog and the binary
# must repeat), SOURCE_DATE_EPOCH (debian/changelog's newest date) and dh_strip's stripping.
# Sets binary, outdir, src, version and SOURCE_DATE_EPOCH (exported).
set -euo pipefail
umask 022

usage() { echo "usage: ${0##*/} BINARY OUTDIR" >&2; exit 2; }
die() { echo "${0##*/}: $*" >&2; exit 1; }
(($# == 2)) || usage
binary=$1
outdir=$2
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[[ -x $binary && -f $binary ]] || die "$binary is not an executable file: build it with 'make release'"

version=$(sed -n 's/^public let version = "\(.*\)"$/\1/p' "$src/Sources/SRIOVKit/Version.swift")
changelog_version=$(cd "$src" && dpkg-parsechangelog -S Version)
[[ $changelog_version == "$version" ]] \
  || die "debian/changelog says $changelog_version, Sources/SRIOVKit/Version.swift says $version: run 'make set-version VERSION=...'"
binary_version=$("$binary" --version) || die "$binary --version failed"
[[ $binary_version == "$version" ]] \
  || die "$binary is version $binary_version, the source is $version: rebuild it with 'make release'"
export SOURCE_DATE_EPOCH
SOURCE_DATE_EPOCH=$(cd "$src" && dpkg-parsechangelog -S Timestamp)

# strip_binary FILE: dh_strip's options: the debugging symbols go, Swift's reflection metadata stays.
strip_binary() {
  strip --remove-section=.comment --remove-section=.note --strip-unneeded "$1"
}
