import Foundation
import SRIOVKit

/// Why a fixture host could not be built.
public enum FixtureError: Error, Equatable, CustomStringConvertible {
  /// The target directory already holds something; fixtures are only written into empty ones.
  case directoryNotEmpty(String)
  /// A file, directory or link could not be created.
  case cannotWrite(String, errno: Int32)
  /// The host description contradicts itself or the PCI specification.
  case invalid(String)

  public var description: String {
    switch self {
    case .directoryNotEmpty(let path):
      return "\(path) is not empty: give an empty or new directory for the fixture host"
    case .cannotWrite(let path, let code):
      return "cannot create \(path): \(Errno.describe(code))"
    case .invalid(let reason):
      return "invalid fixture host: \(reason)"
    }
  }
}

/// Writes files, directories and relative symbolic links beneath a root directory, addressed by
/// absolute host paths (`/sys/bus/pci`), with plain system calls: the large fixture writes tens of
/// thousands of entries.
struct TreeWriter {
  /// Permissions as sysfs shows them (root can read and write either way).
  enum Mode: mode_t {
    case readOnly = 0o444
    case readWrite = 0o644
    case writeOnly = 0o200
  }

  let root: String
  private var madeDirectories: Set<String> = ["/"]

  /// Prepares `root`: creates it and its parents if needed, and refuses it unless it is empty.
  init(root: String) throws {
    self.root = root.hasSuffix("/") && root.count > 1 ? String(root.dropLast()) : root
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: self.root, isDirectory: &isDirectory) {
      guard isDirectory.boolValue,
        let entries = try? FileManager.default.contentsOfDirectory(atPath: self.root)
      else { throw FixtureError.cannotWrite(self.root, errno: ENOTDIR) }
      guard entries.isEmpty else { throw FixtureError.directoryNotEmpty(self.root) }
    } else {
      var prefix = self.root.hasPrefix("/") ? "" : "."
      for component in self.root.split(separator: "/") {
        prefix += "/" + component
        if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
          throw FixtureError.cannotWrite(prefix, errno: errno)
        }
      }
    }
  }

  /// Creates a directory and its missing parents.
  mutating func directory(_ hostPath: String) throws {
    guard !madeDirectories.contains(hostPath) else { return }
    try directory(parent(hostPath))
    if mkdir(root + hostPath, 0o755) != 0 && errno != EEXIST {
      throw FixtureError.cannotWrite(root + hostPath, errno: errno)
    }
    madeDirectories.insert(hostPath)
  }

  /// Writes a sysfs-style attribute: the value and a newline.
  mutating func attribute(
    _ hostPath: String, _ value: CustomStringConvertible, mode: Mode = .readOnly
  )
    throws
  {
    try file(hostPath, Array((value.description + "\n").utf8), mode: mode)
  }

  /// Creates a new file holding `bytes`.
  mutating func file(_ hostPath: String, _ bytes: [UInt8], mode: Mode = .readOnly) throws {
    try directory(parent(hostPath))
    let path = root + hostPath
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode.rawValue)
    guard fd >= 0 else { throw FixtureError.cannotWrite(path, errno: errno) }
    defer { close(fd) }
    var written = 0
    while written < bytes.count {
      let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
      if n < 0 {
        if errno == EINTR { continue }
        throw FixtureError.cannotWrite(path, errno: errno)
      }
      written += n
    }
  }

  /// Creates a character device node (mknod, which needs CAP_MKNOD: the tests run as root).
  mutating func characterDevice(_ hostPath: String, major: UInt32, minor: UInt32) throws {
    try directory(parent(hostPath))
    let path = root + hostPath
    // glibc's makedev, which Swift does not import (a macro): the major's low 12 bits at 8, the
    // minor's low 8 bits at 0, the rest above.
    let device = dev_t(minor & 0xff) | (dev_t(major & 0xfff) << 8) | (dev_t(minor & ~0xff) << 12)
      | (dev_t(major & ~0xfff) << 32)
    guard mknod(path, S_IFCHR | 0o600, device) == 0 else {
      throw FixtureError.cannotWrite(path, errno: errno)
    }
  }

  /// Creates a symbolic link at `hostPath` to `target`, written relative to the link's directory as
  /// the kernel writes sysfs links.
  mutating func link(_ hostPath: String, to target: String) throws {
    try directory(parent(hostPath))
    let path = root + hostPath
    guard symlink(Self.relativePath(from: hostPath, to: target), path) == 0 else {
      throw FixtureError.cannotWrite(path, errno: errno)
    }
  }

  /// The path from the directory holding `link` to `target`, both absolute.
  ///
  /// Like kernfs, it climbs to the target's parent or one of its ancestors, never to the target
  /// itself: `net/eth0/device` becomes `../../../0000:3b:00.0`, not `../..`.
  static func relativePath(from link: String, to target: String) -> String {
    let from = link.split(separator: "/").dropLast()
    let to = target.split(separator: "/")
    var common = 0
    while common < from.count, common < to.count - 1, from[common] == to[common] { common += 1 }
    let climb = [Substring](repeating: "..", count: from.count - common)
    return (climb + to[common...]).joined(separator: "/")
  }

  private func parent(_ hostPath: String) -> String {
    guard let slash = hostPath.lastIndex(of: "/"), slash != hostPath.startIndex else { return "/" }
    return String(hostPath[..<slash])
  }
}
