/// Installation, removal, enabling and reloading of every boot file, in one place: atomic writes
/// under the root, never over a file sriovctl did not write, the wants link `systemctl enable`
/// would make, and udev's or systemd's reload on the live system.
enum BootFiles {
  /// The mark every file sriovctl writes carries; removal touches only files that have it.
  static let mark = "# Written by sriovctl"

  /// The first lines of every file: what it is and the commands that reproduce and remove it.
  static func header(_ summary: String, reproduce: String, remove: String) -> String {
    """
    \(mark) \(SRIOVKit.version): \(summary)
    # Reproduce: \(reproduce)
    # Remove:    \(remove)

    """
  }

  /// Where a unit finds sriovctl at boot, first found first: `make install`'s (PREFIX /usr/local,
  /// sbin; bin as older releases installed it) before the Debian package's /usr/sbin, as PATH does.
  static let binaryLocations = [
    "/usr/local/sbin/sriovctl", "/usr/local/bin/sriovctl", "/usr/sbin/sriovctl", "/usr/bin/sriovctl",
  ]

  /// Where the Debian package puts sriovctl: what a unit printed for review names when sriovctl is
  /// not installed under the root yet.
  static let packagedBinary = "/usr/sbin/sriovctl"

  /// The installed sriovctl a unit runs: the first of ``binaryLocations`` under the root.
  static func installedBinary(root: HostRoot) -> String? {
    binaryLocations.first(where: root.exists)
  }

  /// The note a printed unit carries when sriovctl is not installed under the root (`nil` when it is).
  static func missingBinaryNote(root: HostRoot) -> String? {
    guard installedBinary(root: root) == nil else { return nil }
    return "sriovctl is not installed under \(root): the unit names \(packagedBinary); --install refuses until it is there"
  }

  /// The sriovctl a unit's ExecStart runs. To install, it must be installed under the root
  /// (``PersistError/noBinary(_:)`` otherwise); for review, a missing one is named where the
  /// package puts it, with the comment lines that say so (`nil` when it is installed).
  static func unitBinary(root: HostRoot, for purpose: BootFilePurpose) throws -> (path: String, comment: String?) {
    if let binary = installedBinary(root: root) { return (binary, nil) }
    guard purpose == .review else { throw PersistError.noBinary(root) }
    return (
      packagedBinary,
      """
      # sriovctl is not installed under \(root) yet: ExecStart expects it at \(packagedBinary), where the
      # Debian package puts it (or in /usr/local/sbin, from 'make install'); --install refuses until it is there.

      """
    )
  }

  /// A oneshot unit that makes VFs early at boot: after udev's sockets and trigger (so sriovctl
  /// can tell that udev runs, and waits for it to name each PF), before networking and kubelet.
  /// The per-PF unit and the node unit differ only in `description`, `comment` and `command`.
  static func earlyUnit(description: String, comment: String, command: [String]) -> String {
    """
    [Unit]
    Description=\(description)
    Documentation=man:sriovctl(8)
    \(comment)
    DefaultDependencies=no
    Wants=systemd-udev-trigger.service network-pre.target
    After=systemd-udevd-control.socket systemd-udevd-kernel.socket systemd-udev-trigger.service
    After=systemd-modules-load.service local-fs.target
    Before=network-pre.target kubelet.service shutdown.target
    Conflicts=shutdown.target

    [Service]
    Type=oneshot
    RemainAfterExit=yes
    ExecStart=\(command.joined(separator: " "))

    [Install]
    WantedBy=multi-user.target

    """
  }

  /// Writes `content` at the file's path and enables a unit, then reloads what reads it (live)
  /// or says it takes effect at the next boot (another root). The caller holds the run lock.
  ///
  /// - Throws: ``PersistError/notOurs(_:)`` when a file sriovctl did not write is there; a
  ///   failed enable puts the tree back as it was.
  static func install(_ file: some BootFile, content: String, root: HostRoot) throws -> (changed: Bool, notes: [String]) {
    let path = file.path
    // (A link there is not read: writeFileAtomically refuses it, naming it a link.)
    let previous = try root.readLink(path) == nil ? root.readBytes(path, limit: 1 << 20) : nil
    if let previous, !isOurs(previous) { throw PersistError.notOurs(path) }
    var changed = try root.writeFileAtomically(path, content)
    if case .systemd(let unit) = file.reader {
      do {
        if try enable(unit, root: root) { changed = true }
      } catch {
        // A unit that is not enabled would never run: put the tree back as it was.
        if changed {
          if let previous {
            _ = try? root.writeFileAtomically(path, String(decoding: previous, as: UTF8.self))
          } else {
            _ = try? root.removeFile(path)
          }
        }
        throw error
      }
    }
    return (changed, changed ? try reload(file.reader, root: root, enabled: true) : [])
  }

  /// Removes the file (only sriovctl's) and, for a unit, disables it and removes its wants link
  /// (only the one pointing at sriovctl's unit). The caller holds the run lock.
  static func remove(path: String, reader: BootFileReader, root: HostRoot) throws -> (changed: Bool, notes: [String]) {
    var changed = false
    var notes: [String] = []
    if let bytes = try root.readBytes(path, limit: 1 << 20) {
      guard isOurs(bytes) else { throw PersistError.notOurs(path) }
      // systemd disables a unit only while its file exists.
      if case .systemd(let unit) = reader, root.isLive, let manager = SystemdManager() {
        try manager.setEnabled(unit, false)
      }
      changed = try root.removeFile(path)
    }
    if case .systemd(let unit) = reader {
      // Only the link systemctl enable makes for sriovctl's unit; a link to /dev/null (the
      // unit masked) or anywhere else is someone else's decision.
      let link = wantsLink(unit)
      let target = try root.readLink(link.path)
      if target == link.target {
        if try root.removeFile(link.path) { changed = true }
      } else if target != nil || root.exists(link.path) {
        notes.append("\(link.path) \(target.map { "links to \($0)" } ?? "is not a link"), not to sriovctl's unit; left alone")
      }
    }
    if changed { notes = try reload(reader, root: root, enabled: false) + notes }
    return (changed, notes)
  }

  /// Whether a file's content carries sriovctl's mark.
  static func isOurs(_ bytes: [UInt8]) -> Bool {
    String(decoding: bytes, as: UTF8.self).hasPrefix(mark)
  }

  /// The wants link `systemctl enable` makes for a unit, and the target it points to.
  static func wantsLink(_ unit: String) -> (path: String, target: String) {
    ("/etc/systemd/system/multi-user.target.wants/\(unit)", "/etc/systemd/system/\(unit)")
  }

  /// `systemctl enable` offline: the link `multi-user.target.wants/UNIT` that [Install] names.
  private static func enable(_ unit: String, root: HostRoot) throws -> Bool {
    let link = wantsLink(unit)
    return try root.makeLink(link.path, to: link.target)
  }

  private static func reload(_ reader: BootFileReader, root: HostRoot, enabled: Bool) throws -> [String] {
    guard root.isLive else {
      guard case .systemd = reader else { return ["takes effect at the next boot of \(root)"] }
      return [(enabled ? "enabled" : "disabled and removed") + " offline under \(root); takes effect at its next boot"]
    }
    switch reader {
    case .udev:
      // udevd rereads rules and .link files on this request (udevadm(8) control --reload).
      guard root.exists("/run/udev/control") else { return ["udevd is not running; takes effect at the next boot"] }
      try Subprocess.run(["udevadm", "control", "--reload"])
      return ["udev rules reloaded (udevadm control --reload)"]
    case .systemd(let unit):
      guard let manager = SystemdManager() else {
        return ["no system bus: the unit was \(enabled ? "enabled" : "disabled and removed") offline; takes effect at the next boot"]
      }
      try manager.reload()
      // Disabled before its file was removed; after removal, reloading forgets the file.
      if enabled { try manager.setEnabled(unit, true) }
      return ["systemd reloaded and \(unit) \(enabled ? "enabled" : "disabled")"]
    }
  }

  /// Every argument that reaches a generated file was built from validated values; this is the
  /// last line of defence against quoting, specifiers (`%`) and expansion (`$`).
  static func checkSafe(_ text: String) throws {
    let allowed = text.unicodeScalars.allSatisfy {
      ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
        || "/=:._-".unicodeScalars.contains($0)
    }
    guard allowed else { throw PersistError.unsafe(text) }
  }
}
