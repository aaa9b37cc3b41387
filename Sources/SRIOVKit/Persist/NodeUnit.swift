/// What `persist --config` printed, installed or removed: the node unit and the node file.
public struct NodeUnitResult: Sendable, Equatable, JSONRepresentable {
  /// The unit's host path.
  public var path: String
  /// The node file the unit applies at boot.
  public var config: String
  public var changed: Bool
  /// The unit's text; `nil` after a removal.
  public var content: String?
  public var notes: [String]

  public var json: JSON {
    .object([
      ("method", .string("config")), ("path", .string(path)), ("config", .string(config)),
      ("changed", .bool(changed)), ("content", .string(content)), ("notes", .array(notes.map(JSON.string))),
    ])
  }
}

/// The node unit: one systemd unit that runs `sriovctl apply --boot` on the installed node file
/// at every boot, for every PF the file selects (`persist --config`). It is ordered as the
/// per-PF unit is: after udev's sockets and the trigger (apply waits for udev's queue, then for
/// each PF's interface to be named), before networking and kubelet.
public struct NodeUnit: BootFile {
  public static let name = "sriovctl.service"
  public static let path = "/etc/systemd/system/\(name)"

  /// The `--timeout` of the unit's apply.
  var timeout: Double

  var path: String { NodeUnit.path }
  var reader: BootFileReader { .systemd(unit: NodeUnit.name) }

  /// The unit's text.
  func render(root: HostRoot, for purpose: BootFilePurpose) throws -> String {
    let (binary, missing) = try BootFiles.unitBinary(root: root, for: purpose)
    guard VFRequest.isValidTimeout(timeout) else {
      throw VFRequestError.invalidValue(option: "--timeout", value: String(timeout), expected: "seconds, more than 0 and at most 3600")
    }
    let timeoutText = VFRequest.argument(forTimeout: timeout)
    let arguments = [binary, "apply", "--boot", "-f", NodeConfig.defaultPath, "--timeout", timeoutText]
    try arguments.forEach(BootFiles.checkSafe)
    let timeoutOption = timeout == VFRequest.defaultTimeout ? "" : " --timeout \(timeoutText)"
    return BootFiles.header(
      "the VFs of \(NodeConfig.defaultPath) at boot.", reproduce: "sriovctl persist --config\(timeoutOption) --install",
      remove: "sriovctl persist --config --remove") + (missing ?? "")
      + BootFiles.earlyUnit(
        description: "SR-IOV: the VFs of \(NodeConfig.defaultPath) (sriovctl)",
        comment: """
          # Early, before networking and Kubernetes use the VFs. apply waits for udev's queue, then
          # follows each PF by its PCI address until udev has named its interface; udev's sockets
          # come first, so apply can tell that udev runs.
          """,
        command: arguments)
  }

  /// The unit as `--install` would write it, for review; the node file is checked all the same.
  public static func print(file: String?, root: HostRoot, timeout: Double) throws -> NodeUnitResult {
    _ = try NodeConfig.load(path: file, root: root)
    let content = try NodeUnit(timeout: timeout).render(root: root, for: .review)
    let notes = BootFiles.missingBinaryNote(root: root).map { [$0] } ?? []
    return NodeUnitResult(path: path, config: NodeConfig.defaultPath, changed: false, content: content, notes: notes)
  }

  /// Installs the unit and, when `file` names another file than the installed one, the node
  /// file (checked first: a file apply would refuse is never installed), then enables the unit.
  public static func install(file: String?, root: HostRoot, timeout: Double) throws -> NodeUnitResult {
    let unit = NodeUnit(timeout: timeout)
    let content = try unit.render(root: root, for: .install)
    // The file is read and checked before anything is written.
    var configText: String?
    if let file, file != NodeConfig.defaultPath || !root.isLive {
      configText = try NodeConfig.load(path: file, root: root).text
    } else {
      _ = try NodeConfig.load(path: nil, root: root)
    }
    let lock = try RunLock(root: root, deadline: Deadline(secondsFromNow: timeout), timeout: timeout)
    defer { withExtendedLifetime(lock) {} }
    var notes: [String] = []
    var changed = false
    // The unit's place is checked first: a foreign unit there stops the install before the file.
    if let previous = try root.readLink(path) == nil ? root.readBytes(path, limit: 1 << 20) : nil, !BootFiles.isOurs(previous) {
      throw PersistError.notOurs(path)
    }
    if let configText, try root.writeFileAtomically(NodeConfig.defaultPath, configText) {
      changed = true
      notes.append("\(NodeConfig.defaultPath) installed from \(HostError.quoted(file ?? "", limit: 512))")
    }
    let installed = try BootFiles.install(unit, content: content, root: root)
    return NodeUnitResult(
      path: path, config: NodeConfig.defaultPath, changed: changed || installed.changed, content: content,
      notes: notes + installed.notes)
  }

  /// Disables and removes the unit (only sriovctl's); the node file stays.
  public static func remove(root: HostRoot, timeout: Double) throws -> NodeUnitResult {
    let lock = try RunLock(root: root, deadline: Deadline(secondsFromNow: timeout), timeout: timeout)
    defer { withExtendedLifetime(lock) {} }
    let (changed, removalNotes) = try BootFiles.remove(path: path, reader: .systemd(unit: name), root: root)
    var notes = removalNotes
    if root.exists(NodeConfig.defaultPath) { notes.append("\(NodeConfig.defaultPath) was left in place") }
    return NodeUnitResult(path: path, config: NodeConfig.defaultPath, changed: changed, content: nil, notes: notes)
  }
}
