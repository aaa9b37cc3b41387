import Glibc

/// A failure to read or use the host, worded for the operator.
public enum HostError: Error, Equatable, CustomStringConvertible {
  /// The `--root` directory cannot be used.
  case rootNotUsable(String, reason: String)
  /// A host file exists but cannot be read.
  case unreadable(String, errno: Int32)
  /// A host file holds something the kernel would never write there.
  case malformed(String, value: String, expected: String)
  /// The kernel refused a write to a host file.
  case writeFailed(String, value: String, errno: Int32)
  /// The PCI library failed while scanning the bus.
  case pciScanFailed(String)
  /// A file to be replaced is a symbolic link, which sriovctl does not follow.
  case refusedLink(String)
  /// A FIFO, device, socket or directory where sriovctl expects a regular file (never opened).
  case notARegularFile(String, kind: String)
  /// A symbolic link to a directory that does not exist inside the root, where a directory or
  /// file is to be made.
  case danglingLink(String)
  /// Another process held the run lock until the deadline.
  case lockTimeout(String, holder: Int32?, seconds: Double)
  /// The run lock could not be made or opened for lack of permission: not root.
  case lockDenied(String, errno: Int32)

  public var description: String {
    switch self {
    case .rootNotUsable(let path, let reason):
      return "cannot use '\(path)' as the host root: \(reason)"
    case .lockDenied(let path, let code):
      return "cannot take the run lock \(path): \(Errno.describe(code)); changing VFs or boot files needs root "
        + "(run sriovctl with sudo, or as root from Ansible with become: true)"
    case .unreadable(let path, let code):
      return "cannot read \(path): \(Errno.describe(code))"
    case .writeFailed(let path, let value, let code):
      return "writing '\(value)' to \(path) failed: \(Errno.describe(code))"
    case .malformed(let path, let value, let expected):
      return "\(path) holds '\(value)', expected \(expected)"
    case .pciScanFailed(let message):
      return "cannot enumerate PCI devices: \(message)"
    case .refusedLink(let path):
      return "\(path) is a symbolic link; sriovctl does not write through links. Remove it or write the file yourself"
    case .notARegularFile(let path, let kind):
      return "\(path) is \(kind), not a regular file; sriovctl reads and replaces only regular files there"
    case .danglingLink(let path):
      return "\(path) is a symbolic link to something that does not exist under the root; create its target or remove the link"
    case .lockTimeout(let path, let holder, let seconds):
      let who = holder.map { "another sriovctl (PID \($0))" } ?? "another sriovctl"
      return "\(who) holds \(path); gave up after \(Errno.seconds(seconds)) s (--timeout)"
    }
  }
}

extension HostError {
  /// A value read from the host as it may be quoted in a one-line message: control characters
  /// and line separators escaped, at most `limit` characters. Every message that quotes tree
  /// data (sysfs values, link targets, entry names, the kernel release) goes through this.
  public static func quoted(_ text: String, limit: Int = 40) -> String {
    var out = ""
    for scalar in text.unicodeScalars.prefix(limit) {
      if scalar.value < 0x20 || scalar.value == 0x7f || (0x80..<0xa0).contains(scalar.value)
        || scalar == "\u{2028}" || scalar == "\u{2029}"
      {
        out += "\\u{" + String(scalar.value, radix: 16) + "}"
      } else {
        out.unicodeScalars.append(scalar)
      }
    }
    return text.unicodeScalars.count > limit ? out + "..." : out
  }
}

/// The one place errno values become words.
public enum Errno {
  /// `strerror` text with the symbolic name, e.g. `Permission denied (EACCES)`.
  public static func describe(_ code: Int32) -> String {
    let text = String(cString: strerror(code))
    if let name = symbol(code) { return "\(text) (\(name))" }
    return text
  }

  /// A number of seconds as the user typed it: `2`, `0.5`.
  static func seconds(_ value: Double) -> String {
    value.rounded() == value && abs(value) < 1e15 ? String(Int(value)) : String(value)
  }

  /// The symbolic name of the errno values sriovctl explains.
  public static func symbol(_ code: Int32) -> String? {
    switch code {
    case EPERM: return "EPERM"
    case ENOENT: return "ENOENT"
    case EIO: return "EIO"
    case ENOMEM: return "ENOMEM"
    case EACCES: return "EACCES"
    case EBUSY: return "EBUSY"
    case ENODEV: return "ENODEV"
    case ENOTDIR: return "ENOTDIR"
    case EINVAL: return "EINVAL"
    case ENOSPC: return "ENOSPC"
    case EROFS: return "EROFS"
    case ERANGE: return "ERANGE"
    case EAGAIN: return "EAGAIN"
    case ETIMEDOUT: return "ETIMEDOUT"
    case ELOOP: return "ELOOP"
    case EOPNOTSUPP: return "EOPNOTSUPP"
    case ENXIO: return "ENXIO"
    default: return nil
    }
  }
}
