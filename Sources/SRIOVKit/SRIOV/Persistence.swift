/// How VFs are recreated at boot.
public enum PersistMethod: String, Sendable, Equatable, CaseIterable {
  /// A udev rule that writes `sriov_numvfs` when the PF's interface appears: no sriovctl at boot.
  case udev
  /// A systemd unit that runs `sriovctl create-vfs` with every option, before the network and
  /// kubelet start.
  case systemd
  /// A systemd .link file (`SR-IOVVirtualFunctions=`, `[SR-IOV]`), systemd 251 or newer.
  case link

  /// Where the file for a PF goes.
  func path(for pf: PCIAddress) -> String {
    let name = PersistMethod.fileName(pf)
    switch self {
    case .udev: return "/etc/udev/rules.d/70-sriovctl-\(name).rules"
    case .systemd: return "/etc/systemd/system/\(PersistMethod.unitName(for: pf))"
    // Before 99-default.link, which it replaces for this interface (the first match wins).
    case .link: return "/etc/systemd/network/10-sriovctl-\(name).link"
    }
  }

  static func unitName(for pf: PCIAddress) -> String {
    "sriovctl-vfs-" + fileName(pf) + ".service"
  }

  /// The PCI address as it appears in file names: `0000-3b-00.0`.
  private static func fileName(_ pf: PCIAddress) -> String {
    String(pf.description.map { $0 == ":" ? "-" : $0 })
  }
}

/// One persisted file: printed, installed or removed.
public struct PersistResult: Sendable, Equatable, JSONRepresentable {
  public var pf: PCIAddress
  public var method: PersistMethod
  /// The host path.
  public var path: String
  public var changed: Bool
  /// The file's text; `nil` after a removal.
  public var content: String?
  /// What was reloaded or enabled on the host, as sentences.
  public var notes: [String]

  public var json: JSON {
    .object([
      ("pf", .string(pf.description)),
      ("method", .string(method.rawValue)),
      ("path", .string(path)),
      ("changed", .bool(changed)),
      ("content", .string(content)),
      ("notes", .array(notes.map(JSON.string))),
    ])
  }
}

/// Why `persist` stopped.
public enum PersistError: Error, Equatable, CustomStringConvertible {
  case unsupported(PersistMethod, [String])
  case oldSystemd(Int)
  case noBinary(HostRoot)
  case needsAddress(PFSelector)
  case notOurs(String)
  case reloadFailed(String, String)
  case unsafe(String)

  public var description: String {
    switch self {
    case .unsupported(let method, let options):
      let other = method == .udev ? "--method link or systemd" : "--method systemd"
      return "--method \(method.rawValue) cannot carry \(options.joined(separator: ", ")); use \(other)"
    case .oldSystemd(let version):
      return "systemd \(version) has no SR-IOV settings in .link files (251 or newer has); use --method udev or systemd"
    case .noBinary(let root):
      return "sriovctl is not installed under \(root) (/usr/bin or /usr/local/bin): the systemd method runs it at boot; run 'make install' first"
    case .needsAddress(let selector):
      return "'\(selector)' cannot be looked up: there is no sysfs under this root; name the PF by its PCI address"
    case .notOurs(let path):
      return "\(path) was not written by sriovctl; it was left alone"
    case .reloadFailed(let what, let message):
      return "\(what) failed: \(message)"
    case .unsafe(let text):
      return "refusing to write '\(text)' into a generated file"
    }
  }
}

/// `sriovctl persist`: the udev rule, systemd unit or .link file that recreates a PF's VFs at boot.
public enum Persistence {
  /// The mark every file sriovctl writes carries; `--remove` touches only files that have it.
  static let mark = "# Written by sriovctl"

  /// Renders the file for the request (nothing is written).
  public static func render(_ request: VFRequest, method: PersistMethod, root: HostRoot) throws -> PersistResult {
    try request.validate()
    let (pf, found) = try lookUp(request.pf, root: root)
    var notes: [String] = []
    if let found {
      try request.checkCount(on: found)
    } else {
      notes.append("no sysfs under \(root): --count \(request.count) was not checked against \(pf)'s sriov_totalvfs")
    }
    let content: String
    switch method {
    case .udev: content = try udevRule(request, pf: pf)
    case .systemd: content = try systemdUnit(request, pf: pf, root: root)
    case .link: content = try linkFile(request, pf: pf, root: root)
    }
    return PersistResult(pf: pf, method: method, path: method.path(for: pf), changed: false, content: content, notes: notes)
  }

  /// Renders and installs the file, then reloads udev or systemd (live) or enables the unit
  /// offline (another root).
  public static func install(_ request: VFRequest, method: PersistMethod, root: HostRoot) throws -> PersistResult {
    var result = try render(request, method: method, root: root)
    let lock = try RunLock(root: root, deadline: Deadline(secondsFromNow: request.timeout), timeout: request.timeout)
    defer { withExtendedLifetime(lock) {} }
    // Never overwrite a file sriovctl did not write (--remove refuses it likewise).
    // (A link there is not read: writeFileAtomically refuses it, naming it a link.)
    let previous = try root.readLink(result.path) == nil ? root.readBytes(result.path, limit: 1 << 20) : nil
    if let previous, !isOurs(previous) { throw PersistError.notOurs(result.path) }
    result.changed = try root.writeFileAtomically(result.path, result.content ?? "")
    if method == .systemd {
      let unit = PersistMethod.unitName(for: result.pf)
      do {
        if try enable(unit, root: root) { result.changed = true }
      } catch {
        // A unit that is not enabled would never run: put the tree back as it was.
        if result.changed {
          if let previous {
            _ = try? root.writeFileAtomically(result.path, String(decoding: previous, as: UTF8.self))
          } else {
            _ = try? root.removeFile(result.path)
          }
        }
        throw error
      }
    }
    if result.changed { result.notes += try reload(method, root: root, unit: PersistMethod.unitName(for: result.pf), enabled: true) }
    return result
  }

  /// Whether a file's content carries sriovctl's mark.
  static func isOurs(_ bytes: [UInt8]) -> Bool {
    String(decoding: bytes, as: UTF8.self).hasPrefix(mark)
  }

  /// The wants link `systemctl enable` makes for a unit, and the target it points to.
  static func wantsLink(_ unit: String) -> (path: String, target: String) {
    ("/etc/systemd/system/multi-user.target.wants/\(unit)", "/etc/systemd/system/\(unit)")
  }

  /// Removes what sriovctl wrote for the PF (with one method, or all), disabling the unit.
  ///
  /// - Parameter timeout: how long to wait for another sriovctl's run lock, in seconds.
  public static func remove(_ selector: PFSelector, method: PersistMethod?, root: HostRoot, timeout: Double = 60) throws -> [PersistResult] {
    let pf = try lookUp(selector, root: root).address
    let lock = try RunLock(root: root, deadline: Deadline(secondsFromNow: timeout), timeout: timeout)
    defer { withExtendedLifetime(lock) {} }
    var results: [PersistResult] = []
    for method in method.map({ [$0] }) ?? PersistMethod.allCases {
      let path = method.path(for: pf)
      var changed = false
      var notes: [String] = []
      let unit = PersistMethod.unitName(for: pf)
      if let bytes = try root.readBytes(path, limit: 1 << 20) {
        guard isOurs(bytes) else { throw PersistError.notOurs(path) }
        // systemd disables a unit only while its file exists.
        if method == .systemd, root.isLive, let manager = SystemdManager() {
          try manager.setEnabled(unit, false)
        }
        changed = try root.removeFile(path)
      }
      if method == .systemd {
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
      if changed { notes = try reload(method, root: root, unit: unit, enabled: false) + notes }
      results.append(PersistResult(pf: pf, method: method, path: path, changed: changed, content: nil, notes: notes))
    }
    return results
  }

  /// The PF: looked up when the root has a sysfs; under a root without one (an image) its
  /// address is taken as given, and there is no PF to check the request against.
  private static func lookUp(_ selector: PFSelector, root: HostRoot) throws -> (address: PCIAddress, pf: PhysicalFunction?) {
    if root.isDirectory("/sys/bus/pci/devices") {
      let pf = try Inventory.discover(root: root, names: false).select([selector], root: root)[0]
      return (pf.address, pf)
    }
    guard case .address(let address) = selector else { throw PersistError.needsAddress(selector) }
    return (address, nil)
  }

  // MARK: Enabling and reloading

  /// `systemctl enable` offline: the link `multi-user.target.wants/UNIT` that [Install] names.
  static func enable(_ unit: String, root: HostRoot) throws -> Bool {
    let link = wantsLink(unit)
    return try root.makeLink(link.path, to: link.target)
  }

  static func reload(_ method: PersistMethod, root: HostRoot, unit: String, enabled: Bool) throws -> [String] {
    guard root.isLive else {
      guard method == .systemd else { return ["takes effect at the next boot of \(root)"] }
      return [(enabled ? "enabled" : "disabled and removed") + " offline under \(root); takes effect at its next boot"]
    }
    switch method {
    case .udev, .link:
      // udevd rereads rules and .link files on this request (udevadm(8) control --reload).
      guard root.exists("/run/udev/control") else { return ["udevd is not running; takes effect at the next boot"] }
      try Subprocess.run(["udevadm", "control", "--reload"])
      return ["udev rules reloaded (udevadm control --reload)"]
    case .systemd:
      guard let manager = SystemdManager() else {
        return ["no system bus: the unit was \(enabled ? "enabled" : "disabled and removed") offline; takes effect at the next boot"]
      }
      if enabled {
        try manager.reload()
        try manager.setEnabled(unit, true)
      } else {
        // Disabled before its file was removed; now forget the file.
        try manager.reload()
      }
      return ["systemd reloaded and \(unit) \(enabled ? "enabled" : "disabled")"]
    }
  }

  // MARK: The files

  private static func header(_ request: VFRequest, pf: PCIAddress, method: PersistMethod) -> String {
    let timeout = request.timeout == VFRequest.defaultTimeout ? [] : ["--timeout", request.timeoutArgument]
    let reproduce = (["sriovctl", "persist", pf.description] + request.createArguments() + timeout + ["--method", method.rawValue])
      .joined(separator: " ")
    return """
      \(mark) \(SRIOVKit.version): \(request.count) VFs on PF \(pf) at boot.
      # Reproduce: \(reproduce) --install
      # Remove:    sriovctl persist \(pf) --method \(method.rawValue) --remove

      """
  }

  private static func udevRule(_ request: VFRequest, pf: PCIAddress) throws -> String {
    try checkCarried(request, by: .udev)
    // When the PF's interface appears its driver is bound; the count is written only from 0 (a
    // second add event, or a driver that already made VFs, must not give EBUSY).
    var assignments = ""
    if let autoprobe = request.autoprobe { assignments += ", ATTR{device/sriov_drivers_autoprobe}=\"\(autoprobe ? 1 : 0)\"" }
    assignments += ", ATTR{device/sriov_numvfs}=\"\(request.count)\""
    return header(request, pf: pf, method: .udev)
      + "ACTION==\"add\", SUBSYSTEM==\"net\", KERNELS==\"\(pf)\", ATTR{device/sriov_numvfs}==\"0\"\(assignments)\n"
  }

  private static func systemdUnit(_ request: VFRequest, pf: PCIAddress, root: HostRoot) throws -> String {
    guard let binary = ["/usr/local/bin/sriovctl", "/usr/bin/sriovctl", "/usr/sbin/sriovctl"].first(where: root.exists)
    else { throw PersistError.noBinary(root) }
    let arguments = [binary, "create-vfs", pf.description] + request.createArguments()
      + ["--wait-for-pf", "--timeout", request.timeoutArgument]
    try arguments.forEach(checkSafe)
    return header(request, pf: pf, method: .systemd) + """
      [Unit]
      Description=SR-IOV: \(request.count) VFs on \(pf) (sriovctl)
      Documentation=man:sriovctl(1)
      # Early, before networking and Kubernetes use the VFs. create-vfs follows the PF by its PCI
      # address and waits until udev has named its interface; udev's sockets come first, so
      # create-vfs can tell that udev runs.
      DefaultDependencies=no
      Wants=systemd-udev-trigger.service network-pre.target
      After=systemd-udevd-control.socket systemd-udevd-kernel.socket systemd-udev-trigger.service
      After=systemd-modules-load.service local-fs.target
      Before=network-pre.target kubelet.service shutdown.target
      Conflicts=shutdown.target

      [Service]
      Type=oneshot
      RemainAfterExit=yes
      ExecStart=\(arguments.joined(separator: " "))

      [Install]
      WantedBy=multi-user.target

      """
  }

  private static func linkFile(_ request: VFRequest, pf: PCIAddress, root: HostRoot) throws -> String {
    if let version = systemdVersion(root), version < 251 { throw PersistError.oldSystemd(version) }
    try checkCarried(request, by: .link)
    // A matching .link file replaces 99-default.link for the interface: keep its naming.
    var text = header(request, pf: pf, method: .link) + "[Match]\nPath=pci-\(pf)\n\n[Link]\n"
    text += defaultLinkSettings(root).map { "\($0)\n" }.joined()
    text += "SR-IOVVirtualFunctions=\(request.count)\n"
    for index in 0..<request.count {
      var lines: [String] = []
      for setting in VFSetting.allCases {
        guard let key = setting.linkFileKey, case .value(let change)? = request[setting].value(for: index) else { continue }
        lines.append("\(key)=\(change.linkFileValue)")
      }
      guard !lines.isEmpty else { continue }
      text += "\n[SR-IOV]\nVirtualFunction=\(index)\n" + lines.map { "\($0)\n" }.joined()
    }
    return text
  }

  /// The [Link] settings of 99-default.link that decide names and MACs, carried into our .link
  /// file because the first matching .link file wins (systemd.link(5)).
  static let namingKeys: Set<String> = [
    "NamePolicy", "Name", "AlternativeNamesPolicy", "AlternativeName", "MACAddressPolicy",
  ]

  /// The naming settings of the root's 99-default.link, or systemd's defaults. Only `Key=Value`
  /// lines of ``namingKeys`` with plain printable values are kept: the file is another package's,
  /// and whatever it holds must not break or inject into the file sriovctl writes.
  static func defaultLinkSettings(_ root: HostRoot) -> [String] {
    for path in ["/etc/systemd/network/99-default.link", "/usr/lib/systemd/network/99-default.link", "/lib/systemd/network/99-default.link"] {
      guard let bytes = try? root.readBytes(path, limit: 64 * 1024) else { continue }
      var inLink = false
      var settings: [String] = []
      for line in String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
        let trimmed = line.trimmingCharacters(in: " \t\r")
        if trimmed.hasPrefix("[") { inLink = trimmed == "[Link]"; continue }
        guard inLink, let equals = trimmed.firstIndex(of: "=") else { continue }
        let key = trimmed[..<equals].trimmingCharacters(in: " \t")
        let value = trimmed[trimmed.index(after: equals)...].trimmingCharacters(in: " \t")
        let plain = value.unicodeScalars.allSatisfy {
          $0.value >= 0x20 && $0.value < 0x7f && !"\"'%$\\".unicodeScalars.contains($0)
        }
        guard namingKeys.contains(key), !value.isEmpty, plain else { continue }
        settings.append("\(key)=\(value)")
      }
      return settings
    }
    return [
      "NamePolicy=keep kernel database onboard slot path",
      "AlternativeNamesPolicy=database onboard slot path",
      "MACAddressPolicy=persistent",
    ]
  }

  /// Refuses options a method's file cannot carry (a udev rule sets only sriov_numvfs and
  /// autoprobe; a .link file has no driver binding, rate or MTU): found from the request alone,
  /// so the command line reports it as a usage error.
  ///
  /// - Throws: ``PersistError/unsupported(_:_:)``.
  public static func checkCarried(_ request: VFRequest, by method: PersistMethod) throws {
    var extra: [String]
    switch method {
    case .systemd: return
    case .udev:
      extra = request.unsupportedOptions(keeping: ["--autoprobe"])
    case .link:
      extra = request.unsupportedOptions(
        keeping: Set(VFSetting.allCases.filter { $0.persistMethods.contains(.link) }.map(\.option)))
      if request.wantsDerivedMAC { extra.append("--mac auto") }
    }
    if !request.drivers.isEmpty { extra.append("--driver") }
    guard extra.isEmpty else { throw PersistError.unsupported(method, extra) }
  }

  /// The root's systemd version, from its libsystemd-shared-NNN.so.
  static func systemdVersion(_ root: HostRoot) -> Int? {
    for directory in ["/usr/lib/systemd", "/lib/systemd", "/usr/lib/x86_64-linux-gnu/systemd", "/usr/lib64/systemd"] {
      for name in (try? root.list(directory)) ?? [] where name.hasPrefix("libsystemd-shared-") {
        let digits = name.dropFirst("libsystemd-shared-".count).prefix(while: \.isNumber)
        if let version = Int(digits) { return version }
      }
    }
    return nil
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

extension VFRequest {
  /// The create-vfs options (after the PF) that reproduce this request, in a fixed order.
  public func createArguments() -> [String] {
    var arguments = ["--count", String(count)]
    func perVF<V>(_ option: String, _ values: PerVF<V>, _ text: (V) -> String) {
      if let all = values.all { arguments += [option, text(all)] }
      for index in values.byIndex.keys.sorted() { arguments += [option, "\(index)=\(text(values.byIndex[index]!))"] }
    }
    perVF("--driver", drivers) { $0.description }
    if let autoprobe { arguments += ["--autoprobe", autoprobe ? "on" : "off"] }
    for setting in VFSetting.allCases { perVF(setting.option, self[setting]) { $0.text } }
    if let mtu { arguments += ["--mtu", String(mtu)] }
    return arguments
  }

  /// `--timeout`'s value as create-vfs parses it back: whole seconds as an integer, anything
  /// else as the shortest decimal that reads back as the same Double (0.5, not 0).
  public var timeoutArgument: String { VFRequest.argument(forTimeout: timeout) }

  /// A `--timeout` value as sriovctl parses it back.
  public static func argument(forTimeout timeout: Double) -> String {
    // The timeout is validated (0 < t <= 3600) before any file is rendered: Int() cannot trap.
    guard VFRequest.isValidTimeout(timeout) else { return String(timeout) }
    return timeout == timeout.rounded() ? String(Int(timeout)) : String(timeout)
  }

  /// The options given that are not among `keeping` (the count is always kept).
  func unsupportedOptions(keeping: Set<String>) -> [String] {
    var given: [String] = []
    if autoprobe != nil { given.append("--autoprobe") }
    given += VFSetting.allCases.filter { !self[$0].isEmpty }.map(\.option)
    if mtu != nil { given.append("--mtu") }
    return given.filter { !keeping.contains($0) }
  }
}
