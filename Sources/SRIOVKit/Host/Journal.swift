import CSystemd
import Glibc

/// The systemd journal, through libsystemd's sd-journal (sd-journal(3)). This is the only file
/// that talks to sd-journal.
enum Journal {
  /// The kernel's messages of the current boot (`journalctl -k -b`), oldest first.
  ///
  /// Under a root other than `/` the journal beneath it is read (`ROOT/var/log/journal`,
  /// `ROOT/run/log/journal`) and "the current boot" is the one `ROOT/proc` names.
  static func kernelMessagesOfCurrentBoot(root: HostRoot) throws -> [KernelMessage] {
    guard let bootID = try root.readAttribute("/proc/sys/kernel/random/boot_id") else { return [] }
    var journal: OpaquePointer?
    let opened =
      root.isLive
      ? sd_journal_open(&journal, Int32(SD_JOURNAL_LOCAL_ONLY))
      : sd_journal_open_directory(&journal, root.path, Int32(SD_JOURNAL_OS_ROOT))
    guard opened >= 0, let journal else {
      throw HostError.unreadable("the journal", errno: Int32(-opened))
    }
    defer { sd_journal_close(journal) }
    for match in ["_TRANSPORT=kernel", "_BOOT_ID=" + bootID.filter { $0 != "-" }] {
      let added = match.withCString { sd_journal_add_match(journal, $0, 0) }
      guard added >= 0 else { throw HostError.unreadable("the journal", errno: -added) }
    }
    var messages: [KernelMessage] = []
    while sd_journal_next(journal) > 0 {
      guard let text = field(journal, "MESSAGE") else { continue }
      let level = field(journal, "PRIORITY").flatMap { Int($0) } ?? 6
      let usec = field(journal, "_SOURCE_MONOTONIC_TIMESTAMP").flatMap { UInt64($0) } ?? 0
      messages.append(
        KernelMessage(
          level: level, sequence: UInt64(messages.count), microseconds: usec, text: text))
    }
    return messages
  }

  /// A field of the current entry, without its `NAME=` prefix.
  private static func field(_ journal: OpaquePointer, _ name: String) -> String? {
    var data: UnsafeRawPointer?
    var length = 0
    guard sd_journal_get_data(journal, name, &data, &length) >= 0, let data else { return nil }
    let bytes = UnsafeRawBufferPointer(start: data, count: length).dropFirst(name.utf8.count + 1)
    return String(decoding: bytes, as: UTF8.self)
  }
}
