import CLinux
import Glibc

/// The root of the host sriovctl inspects and changes.
///
/// Every host path the library touches is resolved here: `/` on a running system, a fixture tree in
/// tests, or the root of an image being built (`--root`). sysfs is `ROOT/sys`, procfs `ROOT/proc`,
/// the kernel log `ROOT/dev/kmsg`, and configuration lives in `ROOT/etc`, `ROOT/run` and
/// `ROOT/lib/modules`.
///
/// Paths inside the host are written as absolute host paths (`/sys/bus/pci/devices`) and resolved
/// with chroot semantics: openat2(2) with `RESOLVE_IN_ROOT`, relative to a descriptor of the root
/// opened once. A symbolic link, absolute or relative, resolves inside the root and never leaves
/// it, as it will once the image boots (the semantics of `systemctl --root`): a fixture's
/// `driver -> ../../../bus/pci/drivers/i40e` stays inside the fixture, and an image's
/// `/etc/udev/rules.d -> /usr/lib/udev/rules.d` means `ROOT/usr/lib/udev/rules.d`. procfs "magic"
/// links (`/proc/self/fd/N`) are not followed at all (`RESOLVE_NO_MAGICLINKS`). The live root is
/// the same code with a descriptor of `/`.
///
/// Only regular files are read as attributes or replaced: a FIFO, device, socket or directory
/// where a file is expected is ``HostError/notARegularFile(_:kind:)``, found with `fstat` before
/// the file is opened for reading or writing, so no open can block or wake a device.
///
/// Absent paths: a missing file or directory (ENOENT, or ENOTDIR when a component is a file) is
/// "absent" (`nil`, `[]`, `false`). A link loop or a magic link (ELOOP), or any other refusal of
/// the resolution (EXDEV, which `RESOLVE_IN_ROOT` does not give for plain links but the kernel may
/// for a jump it cannot confine), is an error naming the path for reads and writes, and "absent"
/// for ``exists(_:)`` and ``isDirectory(_:)``. A link out of the root is never an error: it
/// means the same path inside the root, as it will after boot.
public struct HostRoot: Sendable, Equatable, CustomStringConvertible {
  /// The root directory on the machine sriovctl runs on, without a trailing slash (`""` for `/`).
  /// For messages and for the C libraries that take a directory; sriovctl itself never opens
  /// paths built from it.
  public let path: String

  private let directory: RootDirectory

  /// The running system.
  public static let live = HostRoot(checkedPath: "", directory: RootDirectory(fd: Glibc.open("/", SRIOVCTL_O_PATH | O_DIRECTORY | O_CLOEXEC)))

  private init(checkedPath: String, directory: RootDirectory) {
    self.path = checkedPath
    self.directory = directory
  }

  /// A root directory, which must exist and be a readable directory.
  ///
  /// - Throws: ``HostError/rootNotUsable(_:reason:)`` when it is missing, not a directory, or
  ///   unreadable, or when the kernel has no openat2(2) (Linux 5.6).
  public init(_ directory: String) throws {
    guard !directory.isEmpty else {
      throw HostError.rootNotUsable(directory, reason: "the path is empty")
    }
    // The canonical absolute path, for messages and for libpci and libkmod.
    guard let canonical = realpath(directory, nil) else {
      let reason = errno == ENOENT ? "no such directory" : String(cString: strerror(errno))
      throw HostError.rootNotUsable(directory, reason: reason)
    }
    let path = String(cString: canonical)
    free(canonical)
    let fd = Glibc.open(path, SRIOVCTL_O_PATH | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else {
      let reason = errno == ENOTDIR ? "not a directory" : String(cString: strerror(errno))
      throw HostError.rootNotUsable(directory, reason: reason)
    }
    let root = RootDirectory(fd: fd)
    guard access(path, R_OK | X_OK) == 0 else {
      throw HostError.rootNotUsable(directory, reason: String(cString: strerror(errno)))
    }
    // One probe, so that a kernel (or seccomp filter) without openat2 fails here in one line.
    let probe = sriovctl_openat2(fd, ".", UInt64(SRIOVCTL_O_PATH | O_CLOEXEC), 0, HostRoot.resolution)
    guard probe >= 0 else {
      let reason = errno == ENOSYS ? "this kernel has no openat2(2) (Linux 5.6 or newer is needed)" : Errno.describe(errno)
      throw HostError.rootNotUsable(directory, reason: reason)
    }
    close(probe)
    self.path = path == "/" ? "" : path
    self.directory = root
  }

  public static func == (lhs: HostRoot, rhs: HostRoot) -> Bool { lhs.path == rhs.path }

  /// Whether this is the running system rather than a tree beneath another directory.
  public var isLive: Bool { path.isEmpty }

  public var description: String { path.isEmpty ? "/" : path }

  /// The path on this machine of an absolute host path (`/sys/class/net` -> `ROOT/sys/class/net`),
  /// lexically, without resolving links: for messages and for programs that take a path. Never
  /// open it; the methods of `HostRoot` resolve links inside the root.
  public func resolve(_ hostPath: String) -> String {
    precondition(hostPath.hasPrefix("/"), "host paths are absolute: \(hostPath)")
    return path + hostPath
  }

  /// The path on this machine of a host path with every link on the way resolved inside the
  /// root, for a C library that takes a path (libkmod): it then meets no link that could lead
  /// out. `nil` when the path does not exist, or when /proc is not mounted to tell.
  public func realPath(_ hostPath: String) -> String? {
    let fd = openat2(hostPath, SRIOVCTL_O_PATH)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    // The kernel's name for the descriptor (proc(5), /proc/self/fd); read, never followed here.
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let n = readlink("/proc/self/fd/\(fd)", &buffer, buffer.count - 1)
    guard n > 0 else { return nil }
    let real = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    guard real.hasPrefix("/"), isLive || real == path || real.hasPrefix(path + "/") else { return nil }
    return real
  }

  /// Whether `name` can be used as one component of a host path: 1 to 255 bytes (NAME_MAX) of
  /// printable ASCII other than `/`, and not `.` or `..`. Values read from the tree that become
  /// path components (a kernel release, a module name) are checked with this first.
  public static func isPathComponent(_ name: String) -> Bool {
    let bytes = Array(name.utf8)
    guard !bytes.isEmpty, bytes.count <= Int(NAME_MAX), name != ".", name != ".." else { return false }
    return bytes.allSatisfy { $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "/") }
  }

  // MARK: Resolving

  /// openat2(2) resolution: symlinks and `..` stay inside the root; procfs magic links fail ELOOP.
  private static let resolution = UInt64(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)

  /// openat2(2) of a host path beneath the root: the descriptor, or -1 with errno set.
  private func openat2(_ hostPath: String, _ flags: Int32, mode: mode_t = 0) -> Int32 {
    precondition(hostPath.hasPrefix("/"), "host paths are absolute: \(hostPath)")
    var fd: Int32 = -1
    // EAGAIN: a rename or mount raced with a `..` step (openat2(2)); a few retries are enough.
    for _ in 0..<16 {
      fd = sriovctl_openat2(directory.fd, hostPath, UInt64(flags | O_CLOEXEC), UInt64(mode), HostRoot.resolution)
      if fd >= 0 || (errno != EINTR && errno != EAGAIN) { break }
    }
    return fd
  }

  /// Why a file could not be opened.
  enum OpenFailure: Error {
    case absent
    case system(Int32)
    case wrongKind(String)
  }

  /// Opens an existing file that must be a regular file (or, with `kernelLog`, the `/dev/kmsg`
  /// character device, 1:11 in Documentation/admin-guide/devices.txt).
  ///
  /// The type is checked on an `SRIOVCTL_O_PATH` descriptor, which opens nothing, and again after the real
  /// open (which is `O_NONBLOCK`, so even a FIFO swapped in between cannot block it).
  func openFile(_ hostPath: String, _ flags: Int32, kernelLog: Bool = false) throws(OpenFailure) -> Int32 {
    let probe = openat2(hostPath, SRIOVCTL_O_PATH)
    guard probe >= 0 else {
      if errno == ENOENT || errno == ENOTDIR { throw .absent }
      throw .system(errno)
    }
    defer { close(probe) }
    var before = stat()
    guard fstat(probe, &before) == 0 else { throw .system(errno) }
    let isKernelLog = kernelLog && (before.st_mode & S_IFMT) == S_IFCHR && HostRoot.isKernelLogDevice(before.st_rdev)
    guard (before.st_mode & S_IFMT) == S_IFREG || isKernelLog else { throw .wrongKind(HostRoot.kind(before.st_mode)) }
    let fd = openat2(hostPath, flags | O_NONBLOCK)
    guard fd >= 0 else {
      if errno == ENOENT || errno == ENOTDIR { throw .absent }
      throw .system(errno)
    }
    var after = stat()
    guard fstat(fd, &after) == 0 else {
      let code = errno
      close(fd)
      throw .system(code)
    }
    guard after.st_dev == before.st_dev, after.st_ino == before.st_ino,
      (after.st_mode & S_IFMT) == (before.st_mode & S_IFMT)
    else {
      close(fd)
      throw .wrongKind(HostRoot.kind(after.st_mode))
    }
    return fd
  }

  private static func isKernelLogDevice(_ device: dev_t) -> Bool {
    // glibc's major()/minor() (sys/sysmacros.h) are macros Swift does not import.
    let major = ((device >> 8) & 0xfff) | ((device >> 32) & ~0xfff)
    let minor = (device & 0xff) | ((device >> 12) & ~0xff)
    return major == 1 && minor == 11
  }

  /// What a file is, for messages: "a FIFO", "a directory".
  static func kind(_ mode: mode_t) -> String {
    switch mode & S_IFMT {
    case S_IFREG: return "a regular file"
    case S_IFDIR: return "a directory"
    case S_IFIFO: return "a FIFO"
    case S_IFCHR: return "a character device"
    case S_IFBLK: return "a block device"
    case S_IFSOCK: return "a socket"
    case S_IFLNK: return "a symbolic link"
    default: return "a special file"
    }
  }

  /// The directory and the last component of a host path (`/etc/a/b` -> `/etc/a`, `b`).
  private static func split(_ hostPath: String) -> (parent: String, name: String) {
    var trimmed = Substring(hostPath)
    while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
    guard let slash = trimmed.lastIndex(of: "/") else { return ("/", String(trimmed)) }
    let parent = trimmed[..<slash]
    return (parent.isEmpty ? "/" : String(parent), String(trimmed[trimmed.index(after: slash)...]))
  }

  /// The parent and last component of a path to be created, replaced or removed; the last
  /// component is used with *at(2) calls on the parent's descriptor, so it must be a plain name.
  private static func splitForWriting(_ hostPath: String, value: String) throws -> (parent: String, name: String) {
    let (parent, name) = split(hostPath)
    guard !name.isEmpty, name != ".", name != "..", !name.utf8.contains(0) else {
      throw HostError.writeFailed(hostPath, value: value, errno: EINVAL)
    }
    return (parent, name)
  }

  // MARK: Reading

  /// Whether a host path exists (following links inside the root).
  public func exists(_ hostPath: String) -> Bool {
    let fd = openat2(hostPath, SRIOVCTL_O_PATH)
    guard fd >= 0 else { return false }
    close(fd)
    return true
  }

  /// Whether a host path exists and is a character device (following links inside the root); the
  /// device is never opened.
  public func isCharacterDevice(_ hostPath: String) -> Bool {
    let fd = openat2(hostPath, SRIOVCTL_O_PATH)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var status = stat()
    return fstat(fd, &status) == 0 && status.st_mode & S_IFMT == S_IFCHR
  }

  /// Whether a host path exists and is a directory (following links inside the root).
  public func isDirectory(_ hostPath: String) -> Bool {
    let fd = openat2(hostPath, SRIOVCTL_O_PATH | O_DIRECTORY)
    guard fd >= 0 else { return false }
    close(fd)
    return true
  }

  /// The contents of a small file such as a sysfs attribute, with trailing white space removed.
  ///
  /// - Returns: `nil` when the file does not exist.
  /// - Throws: ``HostError/unreadable(_:errno:)`` for any other failure (permissions, I/O, a link
  ///   loop), ``HostError/notARegularFile(_:kind:)`` for a FIFO, device, socket or directory.
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

  /// Up to `limit` bytes of a regular file.
  ///
  /// - Returns: `nil` when the file does not exist.
  public func readBytes(_ hostPath: String, limit: Int) throws -> [UInt8]? {
    let fd: Int32
    do {
      fd = try openFile(hostPath, O_RDONLY)
    } catch .absent {
      return nil
    } catch .system(let code) {
      throw HostError.unreadable(hostPath, errno: code)
    } catch .wrongKind(let kind) {
      throw HostError.notARegularFile(hostPath, kind: kind)
    }
    defer { close(fd) }
    return try HostRoot.read(fd, limit: limit, path: hostPath)
  }

  /// Up to `limit` bytes from a descriptor, to its end.
  static func read(_ fd: Int32, limit: Int, path: String) throws -> [UInt8] {
    var result: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: max(1, min(limit, 4096)))
    while result.count < limit {
      let wanted = min(chunk.count, limit - result.count)
      let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, wanted) }
      if n < 0 {
        if errno == EINTR { continue }
        throw HostError.unreadable(path, errno: errno)
      }
      if n == 0 { break }
      result.append(contentsOf: chunk[0..<n])
    }
    return result
  }

  /// The names in a directory, sorted, without `.` entries.
  ///
  /// - Returns: an empty list when the directory does not exist (or the path is not a directory).
  public func list(_ hostPath: String) throws -> [String] {
    // O_DIRECTORY: a FIFO or device here fails ENOTDIR instead of being opened.
    let fd = openat2(hostPath, O_RDONLY | O_DIRECTORY | O_NONBLOCK)
    guard fd >= 0 else {
      if errno == ENOENT || errno == ENOTDIR { return [] }
      throw HostError.unreadable(hostPath, errno: errno)
    }
    guard let dir = fdopendir(fd) else {
      let code = errno
      close(fd)
      throw HostError.unreadable(hostPath, errno: code)
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

  /// The target of a symbolic link, as written in the link. The directories leading to it are
  /// resolved inside the root; the link itself is read, not followed.
  ///
  /// - Returns: `nil` when the path does not exist or is not a link.
  public func readLink(_ hostPath: String) throws -> String? {
    let (parent, name) = HostRoot.split(hostPath)
    guard !name.isEmpty, name != ".", name != ".." else { return nil }
    let dir = openat2(parent, SRIOVCTL_O_PATH | O_DIRECTORY)
    guard dir >= 0 else {
      if errno == ENOENT || errno == ENOTDIR { return nil }
      throw HostError.unreadable(hostPath, errno: errno)
    }
    defer { close(dir) }
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let n = readlinkat(dir, name, &buffer, buffer.count - 1)
    if n < 0 {
      if errno == ENOENT || errno == EINVAL || errno == ENOTDIR { return nil }
      throw HostError.unreadable(hostPath, errno: errno)
    }
    return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// The last component of a link's target: the driver behind `driver`, the VF behind `virtfn0`.
  /// `nil` when the path is not a link or its target ends in `.` or `..` (no name at all).
  public func linkName(_ hostPath: String) throws -> String? {
    guard let target = try readLink(hostPath) else { return nil }
    guard let name = target.split(separator: "/").last.map(String.init), !name.isEmpty, name != ".", name != ".."
    else { return nil }
    return name
  }

  // MARK: Writing

  /// Opens an existing regular file for writing (`O_WRONLY|O_NONBLOCK`), as
  /// ``writeAttribute(_:_:)`` does; for writers that need the descriptor (a write on a thread).
  ///
  /// - Throws: ``HostError/writeFailed(_:value:errno:)`` or ``HostError/notARegularFile(_:kind:)``.
  func openAttributeForWriting(_ hostPath: String, value: String, truncate: Bool = false) throws -> Int32 {
    do {
      return try openFile(hostPath, O_WRONLY | (truncate ? O_TRUNC : 0))
    } catch .absent {
      throw HostError.writeFailed(hostPath, value: value, errno: ENOENT)
    } catch .system(let code) {
      throw HostError.writeFailed(hostPath, value: value, errno: code)
    } catch .wrongKind(let kind) {
      throw HostError.notARegularFile(hostPath, kind: kind)
    }
  }

  /// Writes a sysfs attribute the way `echo VALUE > FILE` does (one write of VALUE and a newline).
  ///
  /// - Throws: ``HostError/writeFailed(_:value:errno:)`` with the kernel's errno, or
  ///   ``HostError/notARegularFile(_:kind:)`` (a FIFO there is an error, never a wait).
  public func writeAttribute(_ hostPath: String, _ value: String) throws {
    let fd = try openAttributeForWriting(hostPath, value: value, truncate: true)
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

  /// Opens a directory for *at(2) calls and fsync: the descriptor, or -1 with errno set.
  private func openDirectory(_ hostPath: String) -> Int32 {
    openat2(hostPath, O_RDONLY | O_DIRECTORY | O_NONBLOCK)
  }

  /// Replaces a configuration file atomically: a temporary file beside it, written, synced and
  /// renamed over it, then the directory synced, so a crash leaves the old file or the new one,
  /// never half of either. Missing parent directories are made (0755). The file gets exactly
  /// `mode`, whatever the umask.
  ///
  /// - Returns: `false` when the file already had this content and mode (and was left untouched).
  /// - Throws: ``HostError/refusedLink(_:)`` when the target is a symbolic link,
  ///   ``HostError/notARegularFile(_:kind:)`` when it is anything else but a regular file (it is
  ///   never opened), or ``HostError/writeFailed(_:value:errno:)``.
  @discardableResult
  public func writeFileAtomically(_ hostPath: String, _ content: String, mode: mode_t = 0o644) throws -> Bool {
    let bytes = Array(content.utf8)
    let value = "(\(bytes.count) bytes)"
    let (parent, name) = try HostRoot.splitForWriting(hostPath, value: value)
    var dir = openDirectory(parent)
    if dir < 0 && errno == ENOENT {
      try makeDirectories(parent)
      dir = openDirectory(parent)
    }
    guard dir >= 0 else { throw HostError.writeFailed(parent, value: "(a directory)", errno: errno) }
    defer { close(dir) }
    var info = stat()
    if fstatat(dir, name, &info, AT_SYMLINK_NOFOLLOW) == 0 {
      switch info.st_mode & S_IFMT {
      case S_IFLNK: throw HostError.refusedLink(hostPath)
      case S_IFREG:
        if info.st_mode & 0o7777 == mode, (try? HostRoot.readRegular(dir, name, limit: bytes.count + 1)) == bytes {
          return false
        }
      default: throw HostError.notARegularFile(hostPath, kind: HostRoot.kind(info.st_mode))
      }
    } else if errno != ENOENT {
      throw HostError.writeFailed(hostPath, value: value, errno: errno)
    }
    var temporary = ""
    var fd: Int32 = -1
    for _ in 0..<64 {
      temporary = ".sriovctl-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
      fd = openat(dir, temporary, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0o600)
      if fd >= 0 || errno != EEXIST { break }
    }
    guard fd >= 0 else { throw HostError.writeFailed(hostPath, value: "(a temporary file)", errno: errno) }
    var committed = false
    defer {
      if !committed { unlinkat(dir, temporary, 0) }
    }
    var written = 0
    while written < bytes.count {
      let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else {
        let code = n < 0 ? errno : EIO
        close(fd)
        throw HostError.writeFailed(hostPath, value: value, errno: code)
      }
      written += n
    }
    // fchmod, not the mode given to openat: that one is masked by the umask.
    guard fchmod(fd, mode) == 0, fsync(fd) == 0 else {
      let code = errno
      close(fd)
      throw HostError.writeFailed(hostPath, value: value, errno: code)
    }
    close(fd)
    guard renameat(dir, temporary, dir, name) == 0 else {
      throw HostError.writeFailed(hostPath, value: value, errno: errno)
    }
    committed = true
    fsync(dir)
    return true
  }

  /// Up to `limit` bytes of the regular file `name` in a directory, not following a link.
  private static func readRegular(_ dir: Int32, _ name: String, limit: Int) throws -> [UInt8]? {
    let fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
    return try read(fd, limit: limit, path: name)
  }

  /// Removes a file or link (never a directory); `false` when it did not exist.
  @discardableResult
  public func removeFile(_ hostPath: String) throws -> Bool {
    let (parent, name) = try HostRoot.splitForWriting(hostPath, value: "(removal)")
    let dir = openDirectory(parent)
    guard dir >= 0 else {
      if errno == ENOENT || errno == ENOTDIR { return false }
      throw HostError.writeFailed(hostPath, value: "(removal)", errno: errno)
    }
    defer { close(dir) }
    var info = stat()
    guard fstatat(dir, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
      if errno == ENOENT { return false }
      throw HostError.writeFailed(hostPath, value: "(removal)", errno: errno)
    }
    guard (info.st_mode & S_IFMT) != S_IFDIR else { throw HostError.notARegularFile(hostPath, kind: "a directory") }
    guard unlinkat(dir, name, 0) == 0 else {
      if errno == ENOENT { return false }
      throw HostError.writeFailed(hostPath, value: "(removal)", errno: errno)
    }
    fsync(dir)
    return true
  }

  /// Makes a symbolic link (replacing none: an existing entry is an error unless it is the same
  /// link); `false` when it was already there.
  @discardableResult
  public func makeLink(_ hostPath: String, to target: String) throws -> Bool {
    if try readLink(hostPath) == target { return false }
    let value = "(a link to \(target))"
    let (parent, name) = try HostRoot.splitForWriting(hostPath, value: value)
    try makeDirectories(parent)
    let dir = openDirectory(parent)
    guard dir >= 0 else { throw HostError.writeFailed(parent, value: "(a directory)", errno: errno) }
    defer { close(dir) }
    guard symlinkat(target, dir, name) == 0 else {
      throw HostError.writeFailed(hostPath, value: value, errno: errno)
    }
    fsync(dir)
    return true
  }

  /// `mkdir -p` beneath the root. The directories it makes get exactly 0755, whatever the umask;
  /// existing ones are left as they are. Each component is resolved inside the root, so a link
  /// on the way leads to a directory inside it; a link to a directory that does not exist is
  /// ``HostError/danglingLink(_:)`` (as `mkdir -p` fails on it after boot).
  public func makeDirectories(_ hostPath: String) throws {
    var parent = openat2("/", SRIOVCTL_O_PATH | O_DIRECTORY)
    guard parent >= 0 else { throw HostError.writeFailed("/", value: "(a directory)", errno: errno) }
    defer { close(parent) }
    var prefix = ""
    for component in hostPath.split(separator: "/") where component != "." {
      prefix += "/" + component
      guard component != ".." else { throw HostError.writeFailed(prefix, value: "(a directory)", errno: EINVAL) }
      var next = openat2(prefix, SRIOVCTL_O_PATH | O_DIRECTORY)
      if next < 0 && errno == ENOENT {
        if mkdirat(parent, String(component), 0o755) == 0 {
          // mkdir(2) applies the umask; the mode is set again on the directory just made.
          let made = openat(parent, String(component), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
          guard made >= 0, fchmod(made, 0o755) == 0 else {
            let code = errno
            if made >= 0 { close(made) }
            throw HostError.writeFailed(prefix, value: "(a directory)", errno: code)
          }
          close(made)
        } else if errno != EEXIST {
          throw HostError.writeFailed(prefix, value: "(a directory)", errno: errno)
        }
        next = openat2(prefix, SRIOVCTL_O_PATH | O_DIRECTORY)
        if next < 0 && errno == ENOENT { throw HostError.danglingLink(prefix) }
      }
      guard next >= 0 else { throw HostError.writeFailed(prefix, value: "(a directory)", errno: errno) }
      close(parent)
      parent = next
    }
  }

  /// Opens (creating it, with exactly `mode`) a regular file to hold open, such as a lock file.
  ///
  /// - Throws: ``HostError/writeFailed(_:value:errno:)`` or ``HostError/notARegularFile(_:kind:)``.
  func openOrCreateFile(_ hostPath: String, mode: mode_t, value: String) throws -> Int32 {
    let (parent, name) = try HostRoot.splitForWriting(hostPath, value: value)
    try makeDirectories(parent)
    let dir = openDirectory(parent)
    guard dir >= 0 else { throw HostError.writeFailed(parent, value: "(a directory)", errno: errno) }
    defer { close(dir) }
    // O_EXCL|O_NOFOLLOW in the resolved directory: a link in the last place is never followed to
    // create a file; an existing entry is then opened through the root, and must be a regular file.
    let created = openat(dir, name, O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0o600)
    if created >= 0 {
      guard fchmod(created, mode) == 0 else {
        let code = errno
        close(created)
        throw HostError.writeFailed(hostPath, value: value, errno: code)
      }
      return created
    }
    guard errno == EEXIST else { throw HostError.writeFailed(hostPath, value: value, errno: errno) }
    do {
      return try openFile(hostPath, O_RDWR)
    } catch .absent {
      throw HostError.danglingLink(hostPath)
    } catch .system(let code) {
      throw HostError.writeFailed(hostPath, value: value, errno: code)
    } catch .wrongKind(let kind) {
      throw HostError.notARegularFile(hostPath, kind: kind)
    }
  }
}

/// The root directory's descriptor (`SRIOVCTL_O_PATH`), opened once and closed with the last copy of the
/// ``HostRoot`` that holds it.
private final class RootDirectory: Sendable {
  let fd: Int32

  init(fd: Int32) {
    self.fd = fd
  }

  deinit {
    if fd >= 0 { close(fd) }
  }
}
