import Foundation
import SRIOVKit

/// The Debian package `make deb` builds from the release binary, which the real-kernel install and
/// reboot tests install into the Debian guest with dpkg, so what they run is what ships.
enum DebianPackage {
  struct Missing: Error, CustomStringConvertible { var description: String }

  /// `.build/deb/sriovctl_VERSION_amd64.deb`, for this source's version.
  static var path: URL {
    repositoryRoot.appendingPathComponent(".build/deb/sriovctl_\(SRIOVKit.version)_amd64.deb")
  }

  /// The package's path, or an error that says how to build it.
  static func built() throws -> URL {
    guard FileManager.default.isReadableFile(atPath: path.path) else {
      throw Missing(description: "\(path.path) does not exist: build it with 'make deb' (make test does)")
    }
    return path
  }
}
