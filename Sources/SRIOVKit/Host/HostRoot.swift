import Glibc

/// The root of the host sriovctl inspects and changes.
///
/// Every host path the library touches is resolved here: `/` on a running system, a fixture tree in
/// tests, or the root of an image being built (`--root`). sysfs is `ROOT/sys`, procfs `ROOT/proc`,
/// the kernel log `ROOT/dev/kmsg`, and configuration lives in `ROOT/etc`, `ROOT/run` and
/// `ROOT/lib/modules`.
///
/// Paths inside the host are written as absolute host paths (`/sys/bus/pci/devices`). Symbolic
/// links inside the tree are resolved relative to the root, never to the machine sriovctl runs on,
/// so a fixture's `driver -> ../../../bus/pci/drivers/i40e` stays inside the fixture.
public struct HostRoot: Sendable, Equatable, CustomStringConvertible {
  /// The root directory on the machine sriovctl runs on, without a trailing slash (`""` for `/`).
  public let path: String

  /// The running system.
  public static let live = HostRoot(checkedPath: "")

  private init(checkedPath: String) {
    self.path = checkedPath
  }

  /// A root directory, which must exist and be a readable directory.
  ///
  /// - Throws: ``HostError/rootNotUsable(_:reason:)`` when it is missing, not a directory, or
  ///   unreadable.
  public init(_ directory: String) throws {
    guard !directory.isEmpty else {
      throw HostError.rootNotUsable(directory, reason: "the path is empty")
    }
    // The canonical absolute path, so that links inside the tree resolve against the real root.
    guard let canonical = realpath(directory, nil) else {
      let reason = errno == ENOENT ? "no such directory" : String(cString: strerror(errno))
      throw HostError.rootNotUsable(directory, reason: reason)
    }
    let path = String(cString: canonical)
    free(canonical)
    var info = stat()
    guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
      throw HostError.rootNotUsable(directory, reason: "not a directory")
    }
    guard access(path, R_OK | X_OK) == 0 else {
      throw HostError.rootNotUsable(directory, reason: String(cString: strerror(errno)))
    }
    self.path = path == "/" ? "" : path
  }

  /// Whether this is the running system rather than a tree beneath another directory.
  public var isLive: Bool { path.isEmpty }

  public var description: String { path.isEmpty ? "/" : path }

  /// The path on this machine of an absolute host path (`/sys/class/net` -> `ROOT/sys/class/net`).
  public func resolve(_ hostPath: String) -> String {
    precondition(hostPath.hasPrefix("/"), "host paths are absolute: \(hostPath)")
    return path + hostPath
  }

  // MARK: Reading

  /// Whether a host path exists (following links).
  public func exists(_ hostPath: String) -> Bool {
    var info = stat()
    return stat(resolve(hostPath), &info) == 0
  }

  /// Whether a host path exists and is a directory (following links).
  public func isDirectory(_ hostPath: String) -> Bool {
    var info = stat()
    return stat(resolve(hostPath), &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
  }

  /// The contents of a small file such as a sysfs attribute, with trailing white space removed.
  ///
  /// - Returns: `nil` when the file does not exist.
  /// - Throws: ``HostError/unreadable(_:errno:)`` for any other failure (permissions, I/O).
  public func readAttribute(_ hostPath: String) throws -> String? {
    guard let bytes = try readBytes(hostPath, limit: 64 * 1024) else { return nil }
    var text = String(decoding: bytes, as: UTF8.self)
    while let last = text.last, last.isWhitespace || last == "\0" { text.removeLast() }
    return text
  }

  /// An attribute holding a decimal or `0x` hexadecimal integer.
  ///
  /// - Returns: `nil` when the file does not exist.
  /// - Throws: ``HostError/malformed(_:value:expected:)`` when it holds something else.
  public func readInteger(_ hostPath: String) throws -> Int? {
    guard let text = try readAttribute(hostPath) else { return nil }
    let value: Int?
    if text.hasPrefix("0x") || text.hasPrefix("0X") {
      value = Int(text.dropFirst(2), radix: 16)
    } else {
      value = Int(text)
    }
    guard let value else {
      throw HostError.malformed(hostPath, value: text, expected: "an integer")
    }
    return value
  }

  /// Up to `limit` bytes of a file.
  ///
  /// - Returns: `nil` when the file does not exist.
  public func readBytes(_ hostPath: String, limit: Int) throws -> [UInt8]? {
    let fd = open(resolve(hostPath), O_RDONLY | O_CLOEXEC)
    if fd < 0 {
      if errno == ENOENT || errno == ENOTDIR { return nil }
      throw HostError.unreadable(hostPath, errno: errno)
    }
    defer { close(fd) }
    var result: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: min(limit, 4096))
    while result.count < limit {
      let wanted = min(chunk.count, limit - result.count)
      let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, wanted) }
      if n < 0 {
        if errno == EINTR { continue }
        throw HostError.unreadable(hostPath, errno: errno)
      }
      if n == 0 { break }
      result.append(contentsOf: chunk[0..<n])
    }
    return result
  }

  /// The names in a directory, sorted, without `.` entries.
  ///
  /// - Returns: an empty list when the directory does not exist.
  public func list(_ hostPath: String) throws -> [String] {
    guard let dir = opendir(resolve(hostPath)) else {
      if errno == ENOENT || errno == ENOTDIR { return [] }
      throw HostError.unreadable(hostPath, errno: errno)
    }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
      }
      if name.hasPrefix(".") { continue }
      names.append(name)
    }
    return names.sorted()
  }

  /// The target of a symbolic link, as written in the link.
  ///
  /// - Returns: `nil` when the path does not exist or is not a link.
  public func readLink(_ hostPath: String) throws -> String? {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let n = readlink(resolve(hostPath), &buffer, buffer.count - 1)
    if n < 0 {
      if errno == ENOENT || errno == EINVAL || errno == ENOTDIR { return nil }
      throw HostError.unreadable(hostPath, errno: errno)
    }
    return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  // MARK: Writing

  /// Writes a sysfs attribute the way `echo VALUE > FILE` does (one write of VALUE and a newline).
  ///
  /// - Throws: ``HostError/writeFailed(_:value:errno:)`` with the kernel's errno.
  public func writeAttribute(_ hostPath: String, _ value: String) throws {
    let fd = open(resolve(hostPath), O_WRONLY | O_TRUNC | O_CLOEXEC)
    guard fd >= 0 else { throw HostError.writeFailed(hostPath, value: value, errno: errno) }
    defer { close(fd) }
    let bytes = Array((value + "\n").utf8)
    while true {
      let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
      if n < 0 && errno == EINTR { continue }
      guard n == bytes.count else {
        throw HostError.writeFailed(hostPath, value: value, errno: n < 0 ? errno : EIO)
      }
      return
    }
  }

  /// Replaces a configuration file atomically: a temporary file beside it, written, synced and
  /// renamed over it, then the directory synced, so a crash leaves the old file or the new one,
  /// never half of either. Missing parent directories are made (0755).
  ///
  /// - Returns: `false` when the file already had this content (and was left untouched).
  /// - Throws: ``HostError/refusedLink(_:)`` when the target is a symbolic link, or
  ///   ``HostError/writeFailed(_:value:errno:)``.
  @discardableResult
  public func writeFileAtomically(_ hostPath: String, _ content: String, mode: mode_t = 0o644) throws -> Bool {
    var info = stat()
    if lstat(resolve(hostPath), &info) == 0 {
      guard (info.st_mode & S_IFMT) != S_IFLNK else { throw HostError.refusedLink(hostPath) }
      if (info.st_mode & S_IFMT) == S_IFREG, info.st_mode & 0o7777 == mode,
        let current = try readBytes(hostPath, limit: 1 << 20), current == Array(content.utf8)
      {
        return false
      }
    }
    let directory = String(hostPath[..<(hostPath.lastIndex(of: "/") ?? hostPath.startIndex)])
    try makeDirectories(directory.isEmpty ? "/" : directory)
    var template = Array((resolve(directory) + "/.sriovctl-XXXXXX").utf8CString)
    let fd = mkstemp(&template)
    guard fd >= 0 else { throw HostError.writeFailed(hostPath, value: "(a temporary file)", errno: errno) }
    let temporary = String(cString: template)
    var committed = false
    defer {
      if !committed { unlink(temporary) }
    }
    let bytes = Array(content.utf8)
    var written = 0
    while written < bytes.count {
      let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else {
        let code = errno
        close(fd)
        throw HostError.writeFailed(hostPath, value: "(\(bytes.count) bytes)", errno: code)
      }
      written += n
    }
    guard fchmod(fd, mode) == 0, fsync(fd) == 0 else {
      let code = errno
      close(fd)
      throw HostError.writeFailed(hostPath, value: "(\(bytes.count) bytes)", errno: code)
    }
    close(fd)
    guard rename(temporary, resolve(hostPath)) == 0 else {
      throw HostError.writeFailed(hostPath, value: "(\(bytes.count) bytes)", errno: errno)
    }
    committed = true
    syncDirectory(directory)
    return true
  }

  /// Removes a file; `false` when it did not exist.
  @discardableResult
  public func removeFile(_ hostPath: String) throws -> Bool {
    guard unlink(resolve(hostPath)) == 0 else {
      if errno == ENOENT { return false }
      throw HostError.writeFailed(hostPath, value: "(removal)", errno: errno)
    }
    syncDirectory(String(hostPath[..<(hostPath.lastIndex(of: "/") ?? hostPath.startIndex)]))
    return true
  }

  /// Makes a symbolic link (replacing none: an existing entry is an error unless it is the same
  /// link); `false` when it was already there.
  @discardableResult
  public func makeLink(_ hostPath: String, to target: String) throws -> Bool {
    if try readLink(hostPath) == target { return false }
    let directory = String(hostPath[..<(hostPath.lastIndex(of: "/") ?? hostPath.startIndex)])
    try makeDirectories(directory)
    guard symlink(target, resolve(hostPath)) == 0 else {
      throw HostError.writeFailed(hostPath, value: "(a link to \(target))", errno: errno)
    }
    return true
  }

  /// `mkdir -p` beneath the root, mode 0755.
  public func makeDirectories(_ hostPath: String) throws {
    var path = ""
    for component in hostPath.split(separator: "/") {
      path += "/" + component
      if mkdir(resolve(path), 0o755) != 0 && errno != EEXIST {
        throw HostError.writeFailed(path, value: "(a directory)", errno: errno)
      }
    }
  }

  private func syncDirectory(_ hostPath: String) {
    let fd = open(resolve(hostPath.isEmpty ? "/" : hostPath), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if fd >= 0 {
      fsync(fd)
      close(fd)
    }
  }

  /// The last component of a link's target: the driver behind `driver`, the VF behind `virtfn0`.
  public func linkName(_ hostPath: String) throws -> String? {
    guard let target = try readLink(hostPath) else { return nil }
    let name = target.split(separator: "/").last.map(String.init)
    return name?.isEmpty == false ? name : nil
  }
}
