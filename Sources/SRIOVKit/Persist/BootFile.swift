/// A file that makes VFs at boot: sriovctl's udev rule, per-PF systemd unit, `.link` file or
/// node unit. Each knows where it goes, what reads it and how it is written; ``BootFiles``
/// installs, enables, removes and reloads every one of them the same way.
protocol BootFile {
  /// The host path it is installed at.
  var path: String { get }
  /// What reads it at boot.
  var reader: BootFileReader { get }
  /// Its text (a pure rendering of validated values; the root is read for facts such as the
  /// installed binary or the systemd version), for review or to be installed.
  func render(root: HostRoot, for purpose: BootFilePurpose) throws -> String
}

/// Why a boot file is rendered: to be printed for review, or to be installed. A unit printed for
/// review names the binary where the package would put it when none is installed under the root
/// yet (and says so in a comment); a unit to be installed needs the binary there.
enum BootFilePurpose {
  case review
  case install
}

/// What reads a boot file: udevd (rules and `.link` files, reloaded with `udevadm control
/// --reload`) or systemd (a unit, enabled through its `[Install]` section).
enum BootFileReader: Equatable {
  case udev
  case systemd(unit: String)
}
