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
      return "sriovctl is not installed under \(root) (/usr/sbin, /usr/bin or /usr/local): the unit runs it at boot; install the package or run 'make install' first"
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
  /// Renders the file for the request (nothing is written).
  public static func render(_ request: VFRequest, method: PersistMethod, root: HostRoot) throws -> PersistResult {
    try render(request, method: method, root: root, for: .review)
  }

  static func render(_ request: VFRequest, method: PersistMethod, root: HostRoot, for purpose: BootFilePurpose) throws -> PersistResult {
    try request.validate()
    let (pf, found) = try lookUp(request.pf, root: root)
    var notes: [String] = []
    if let found {
      try request.checkCount(on: found)
    } else {
      notes.append("no sysfs under \(root): --count \(request.count) was not checked against \(pf)'s sriov_totalvfs")
    }
    let content = try bootFile(request, method: method, pf: pf).render(root: root, for: purpose)
    if method == .systemd, let note = BootFiles.missingBinaryNote(root: root) { notes.append(note) }
    return PersistResult(pf: pf, method: method, path: method.path(for: pf), changed: false, content: content, notes: notes)
  }

  /// The boot file of a method for one PF.
  static func bootFile(_ request: VFRequest, method: PersistMethod, pf: PCIAddress) -> any BootFile {
    switch method {
    case .udev: return UdevRule(request: request, pf: pf)
    case .systemd: return PFUnit(request: request, pf: pf)
    case .link: return LinkFile(request: request, pf: pf)
    }
  }

  /// Renders and installs the file, then reloads udev or systemd (live) or enables the unit
  /// offline (another root).
  public static func install(_ request: VFRequest, method: PersistMethod, root: HostRoot) throws -> PersistResult {
    var result = try render(request, method: method, root: root, for: .install)
    let lock = try RunLock(root: root, deadline: Deadline(secondsFromNow: request.timeout), timeout: request.timeout)
    defer { withExtendedLifetime(lock) {} }
    let (changed, notes) = try BootFiles.install(
      bootFile(request, method: method, pf: result.pf), content: result.content ?? "", root: root)
    result.changed = changed
    result.notes += notes
    return result
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
      let file = bootFile(VFRequest(pf: .address(pf), count: 0), method: method, pf: pf)
      let (changed, notes) = try BootFiles.remove(path: file.path, reader: file.reader, root: root)
      results.append(PersistResult(pf: pf, method: method, path: file.path, changed: changed, content: nil, notes: notes))
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
