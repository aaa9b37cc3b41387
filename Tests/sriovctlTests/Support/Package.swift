import Foundation
import SRIOVKit
import XCTest

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

  /// A copy of the package for a guest of the VM test bed, which `--include` puts at the same path
  /// in the guest: under /var/tmp, since the guest's /tmp is a fresh tmpfs that would hide a
  /// package of a repository cloned under /tmp. Removed when `test` ends.
  static func forGuest(_ test: XCTestCase) throws -> String {
    let package = try built()
    let directory = URL(fileURLWithPath: "/var/tmp/sriovctl-deb-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
    let copy = directory.appendingPathComponent(package.lastPathComponent)
    try FileManager.default.copyItem(at: package, to: copy)
    return copy.path
  }
}
