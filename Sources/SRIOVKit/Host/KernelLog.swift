import Glibc

/// One message of the kernel log.
public struct KernelMessage: Sendable, Equatable {
  /// syslog level, 0 (emerg) to 7 (debug).
  public var level: Int
  /// Sequence number in the kernel's ring buffer.
  public var sequence: UInt64
  /// Microseconds since boot.
  public var microseconds: UInt64
  public var text: String

  /// The time as `dmesg` prints it, `[   12.345678]`.
  public var timestamp: String {
    let seconds = String(microseconds / 1_000_000)
    let fraction = String(microseconds % 1_000_000)
    let padded = String(repeating: " ", count: max(0, 5 - seconds.count)) + seconds
    return "[\(padded).\(String(repeating: "0", count: 6 - fraction.count))\(fraction)]"
  }
}

/// The kernel log of the current boot: `/dev/kmsg` (Documentation/ABI/testing/dev-kmsg), and the
/// journal's kernel messages for this boot when the ring buffer has already lost the start.
public struct KernelLog: Sendable {
  /// The messages, oldest first.
  public var messages: [KernelMessage]
  /// Where they came from, for the report: `/dev/kmsg`, or the journal.
  public var source: String
  /// Whether messages from early in the boot are missing (the ring rotated and no journal had them).
  public var isIncomplete: Bool

  public init(messages: [KernelMessage], source: String, isIncomplete: Bool) {
    self.messages = messages
    self.source = source
    self.isIncomplete = isIncomplete
  }

  /// Reads the log of the host beneath `root`.
  ///
  /// On a running system `/dev/kmsg` is a character device that returns one record per read and
  /// `EAGAIN` at the end; under a fixture root it is a plain file of the same records, one a line.
  public static func read(root: HostRoot) throws -> KernelLog {
    let ring = try readRing(root: root)
    // Sequence numbers start at 0 at boot: a first record above 0 means the ring has rotated.
    guard let first = ring.first, first.sequence > 0 else {
      return KernelLog(messages: ring, source: "/dev/kmsg", isIncomplete: false)
    }
    if let journal = try? Journal.kernelMessagesOfCurrentBoot(root: root), !journal.isEmpty,
      journal.count >= ring.count
    {
      return KernelLog(messages: journal, source: "the journal", isIncomplete: false)
    }
    return KernelLog(messages: ring, source: "/dev/kmsg", isIncomplete: true)
  }

  static func readRing(root: HostRoot) throws -> [KernelMessage] {
    let path = "/dev/kmsg"
    // The character device 1:11 on a running system, a regular file under a fixture root; any
    // other device, a FIFO or a directory there is refused before it is opened.
    let fd: Int32
    do {
      fd = try root.openFile(path, O_RDONLY, kernelLog: true)
    } catch .absent {
      return []
    } catch .system(let code) {
      throw HostError.unreadable(path, errno: code)
    } catch .wrongKind(let kind) {
      throw HostError.notARegularFile(path, kind: kind)
    }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else { throw HostError.unreadable(path, errno: errno) }
    if (info.st_mode & S_IFMT) == S_IFCHR {
      // The device: one record per read(); a record the ring overwrote meanwhile gives EPIPE.
      // lseek to SEEK_DATA would skip to the oldest record, which is where a fresh open starts.
      var messages: [KernelMessage] = []
      var buffer = [UInt8](repeating: 0, count: 16 * 1024)
      while true {
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
          if errno == EINTR || errno == EPIPE { continue }
          if errno == EAGAIN { break }
          throw HostError.unreadable(path, errno: errno)
        }
        if n == 0 { break }
        if let message = parse(String(decoding: buffer[0..<n], as: UTF8.self)) {
          messages.append(message)
        }
      }
      return messages
    }
    let bytes = try HostRoot.read(fd, limit: 64 * 1024 * 1024, path: path)
    // Continuation lines (" KEY=value") belong to the record before them and are skipped.
    return String(decoding: bytes, as: UTF8.self).split(separator: "\n").compactMap {
      $0.hasPrefix(" ") ? nil : parse(String($0))
    }
  }

  /// Parses one record, `PRI,SEQ,USEC,FLAGS[,...];text`, unescaping `\xNN` in the text.
  static func parse(_ record: String) -> KernelMessage? {
    guard let semicolon = record.firstIndex(of: ";") else { return nil }
    let fields = record[..<semicolon].split(separator: ",", omittingEmptySubsequences: false)
    guard fields.count >= 3, let priority = Int(fields[0]), let sequence = UInt64(fields[1]),
      let usec = UInt64(fields[2])
    else { return nil }
    var text = record[record.index(after: semicolon)...]
    if let newline = text.firstIndex(of: "\n") { text = text[..<newline] }
    return KernelMessage(
      level: priority & 7, sequence: sequence, microseconds: usec, text: unescape(text))
  }

  private static func unescape(_ text: Substring) -> String {
    guard text.contains("\\x") else { return String(text) }
    var bytes: [UInt8] = []
    var utf8 = Array(text.utf8)[...]
    while let byte = utf8.first {
      if byte == UInt8(ascii: "\\"), utf8.count >= 4, utf8.dropFirst().first == UInt8(ascii: "x"),
        let value = UInt8(String(decoding: utf8.dropFirst(2).prefix(2), as: UTF8.self), radix: 16)
      {
        bytes.append(value)
        utf8 = utf8.dropFirst(4)
      } else {
        bytes.append(byte)
        utf8 = utf8.dropFirst()
      }
    }
    return String(decoding: bytes, as: UTF8.self)
  }
}
