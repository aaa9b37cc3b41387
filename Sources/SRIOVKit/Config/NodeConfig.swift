import Glibc
import Yams

/// The node file: the VFs a whole node should have, as policies (`sriovctl apply`, `verify`,
/// `persist --config`, `device-plugin-config -f`). Two forms are read:
///
/// - sriovctl's own, `version: 1` and a `policies:` list;
/// - the SR-IOV network operator's `SriovNetworkNodePolicy` documents, one or many separated by
///   `---`, as a cluster holds them (sriovnetwork.openshift.io/v1), so that a cluster's policies
///   can be applied to a node without the operator.
///
/// Field names are the operator's wherever the concept is the same.
public struct NodeConfig: Sendable, Equatable {
  /// Where `apply` and the boot unit read the file, beneath the host root.
  public static let defaultPath = "/etc/sriovctl/sriovctl.yaml"
  /// The largest file read: a node file of a thousand policies is well below it.
  public static let maximumSize = 1 << 20

  /// Which form the file was written in.
  public enum Format: String, Sendable, Equatable {
    case sriovctl
    case `operator`
  }

  /// The file's name as the user gave it (for messages).
  public var file: String
  /// The file's text, as read.
  public var text: String
  public var format: Format
  public var policies: [NodePolicy]
  /// Facts about the file the plan should show (an operator `nodeSelector` not evaluated).
  public var notes: [String]

  /// Reads and parses the node file: `path` `nil` is ``defaultPath`` beneath `root`; `-` is
  /// standard input; any other path is the user's, on the running system.
  public static func load(path: String?, root: HostRoot) throws -> NodeConfig {
    let (bytes, name): ([UInt8]?, String)
    switch path {
    case nil:
      bytes = try root.readBytes(defaultPath, limit: maximumSize + 1)
      name = root.isLive ? defaultPath : "\(root)\(defaultPath)"
    case "-"?:
      bytes = readStandardInput(limit: maximumSize + 1)
      name = "<stdin>"
    case let path?:
      let absolute = path.hasPrefix("/") ? path : currentDirectory() + "/" + path
      bytes = try HostRoot.live.readBytes(absolute, limit: maximumSize + 1)
      name = path
    }
    guard let bytes else { throw NodeConfigError(file: name, message: "no such file; write one (see 'sriovctl help apply') or give -f FILE") }
    guard bytes.count <= maximumSize else {
      throw NodeConfigError(file: name, message: "larger than \(maximumSize) bytes; this is not a node file")
    }
    guard let text = String(validating: bytes, as: UTF8.self) else {
      throw NodeConfigError(file: name, message: "not UTF-8 text")
    }
    return try parse(text, file: name)
  }

  /// Parses the file's text. Every error names the line and column.
  ///
  /// - Throws: ``NodeConfigError``.
  public static func parse(_ text: String, file: String) throws -> NodeConfig {
    let reader = ConfigReader(file: file)
    var documents: [Node] = []
    do {
      // Parser.nextRoot, not compose_all's sequence, which stops quietly at an error.
      let parser = try Parser(yaml: text)
      while let document = try parser.nextRoot() { documents.append(document) }
    } catch let error as YamlError {
      throw reader.yamlError(error)
    }
    let nonEmpty = documents.filter { if case .scalar(let s) = $0, s.string.isEmpty { return false } else { return true } }
    guard let first = nonEmpty.first else { throw NodeConfigError(file: file, message: "empty file: expected 'version: 1' and 'policies'") }
    let top = try reader.mapping(first, what: "the file")
    if let kind = top.first(where: { $0.key == "kind" }) {
      var config = NodeConfig(file: file, text: text, format: .operator, policies: [], notes: [])
      var documents = nonEmpty
      // `kubectl get sriovnetworknodepolicies -o yaml` prints one List holding the policies.
      if nonEmpty.count == 1, ["List", "SriovNetworkNodePolicyList"].contains(try reader.scalar(kind.value, "kind")) {
        guard let items = top.first(where: { $0.key == "items" }) else { throw reader.error(at: first, "a List without items") }
        documents = try reader.sequence(items.value, "items")
      }
      for document in documents {
        let (policy, note) = try reader.operatorPolicy(document)
        config.policies.append(policy)
        if let note { config.notes.append(note) }
      }
      try reader.checkUniqueNames(config.policies)
      return config
    }
    guard nonEmpty.count == 1 else {
      throw reader.error(at: nonEmpty[1], "a sriovctl node file is one document; only SriovNetworkNodePolicy documents may be several")
    }
    try reader.allowKeys(top, ["version", "policies"], in: "the file")
    guard let version = top.first(where: { $0.key == "version" }) else {
      throw reader.error(at: first, "missing 'version: 1' (or give SriovNetworkNodePolicy documents)")
    }
    guard try reader.int(version.value, "version", range: 1...1) == 1 else { fatalError("unreachable") }
    guard let list = top.first(where: { $0.key == "policies" }) else {
      throw reader.error(at: first, "missing 'policies'")
    }
    var policies: [NodePolicy] = []
    for item in try reader.sequence(list.value, "policies") {
      policies.append(try reader.policy(item))
    }
    try reader.checkUniqueNames(policies)
    return NodeConfig(file: file, text: text, format: .sriovctl, policies: policies, notes: [])
  }

  private static func readStandardInput(limit: Int) -> [UInt8] {
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while bytes.count < limit {
      let count = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
      if count < 0 && errno == EINTR { continue }
      guard count > 0 else { break }
      bytes += buffer[0..<count]
    }
    return bytes
  }

  private static func currentDirectory() -> String {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    guard getcwd(&buffer, buffer.count) != nil else { return "." }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }
}

/// One policy: which PFs (and which of their VFs) it selects, and what they should be.
public struct NodePolicy: Sendable, Equatable {
  public var name: String
  /// Where the policy starts in the file (for messages).
  public var position: SourcePosition
  /// `pfNames`: interface names, each with optional VF ranges (`ens1f0#0-3`).
  public var pfNames: [DevicePluginConfig.PFSelection]
  /// `rootDevices`: the PFs' PCI addresses.
  public var rootDevices: [PCIAddress]
  /// `vendor`, `deviceID`: four lowercase hex digits, the PF's.
  public var vendor: String?
  public var deviceID: String?
  public var numVfs: Int
  /// `deviceType`: netdevice (the VFs' own kernel driver) or a driver such as vfio-pci.
  public var deviceType: VFDriver
  public var mtu: Int?
  /// Lower wins where two policies claim the same VFs.
  public var priority: Int
  /// The device plugin's resource name (the policy's name unless given).
  public var resourceName: String
  /// `vfSettings`: one value per setting, for every VF the policy selects.
  public var settings: [VFSetting: VFWanted]
  /// Whether the device plugin should mount /dev/vhost-net (the operator's `needVhostNet`).
  public var needVhostNet: Bool
  /// The device plugin's `excludeTopology`.
  public var excludeTopology: Bool
  /// Positions of the fields later checks point at.
  var numVfsPosition: SourcePosition
  var pfNamesPositions: [SourcePosition]
}

/// A line and column in the node file, both from 1.
public struct SourcePosition: Sendable, Equatable, CustomStringConvertible {
  public var line: Int
  public var column: Int
  public var description: String { "\(line):\(column)" }
}

/// A node file that cannot be used as written: `FILE:LINE:COLUMN: message`.
public struct NodeConfigError: Error, Equatable, CustomStringConvertible {
  public var file: String
  public var position: SourcePosition?
  public var message: String

  public init(file: String, position: SourcePosition? = nil, message: String) {
    self.file = file
    self.position = position
    self.message = message
  }

  public var description: String {
    "\(HostError.quoted(file, limit: 512)):" + (position.map { "\($0): " } ?? " ") + message
  }
}

/// Reads Yams nodes into policies, each mistake an error at its line and column.
private struct ConfigReader {
  let file: String

  func position(_ node: Node) -> SourcePosition? {
    node.mark.map { SourcePosition(line: $0.line, column: $0.column) }
  }

  func error(at node: Node, _ message: String) -> NodeConfigError {
    NodeConfigError(file: file, position: position(node), message: message)
  }

  func yamlError(_ error: YamlError) -> NodeConfigError {
    switch error {
    case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
      return NodeConfigError(file: file, position: SourcePosition(line: mark.line, column: mark.column), message: "not valid YAML: \(problem)")
    default:
      return NodeConfigError(file: file, message: "not valid YAML: \(HostError.quoted("\(error)"))")
    }
  }

  /// A mapping's entries, keys as text; repeated keys are an error.
  func mapping(_ node: Node, what: String) throws -> [(key: String, value: Node, keyNode: Node)] {
    guard case .mapping(let mapping) = node else { throw error(at: node, "\(what) must be a mapping (key: value)") }
    var entries: [(key: String, value: Node, keyNode: Node)] = []
    for (key, value) in mapping {
      guard case .scalar(let scalar) = key else { throw error(at: key, "a key must be plain text") }
      if entries.contains(where: { $0.key == scalar.string }) {
        throw error(at: key, "'\(HostError.quoted(scalar.string))' is given twice in \(what)")
      }
      entries.append((scalar.string, value, key))
    }
    return entries
  }

  func allowKeys(_ entries: [(key: String, value: Node, keyNode: Node)], _ allowed: [String], in what: String) throws {
    for entry in entries where !allowed.contains(entry.key) {
      throw error(at: entry.keyNode, "unknown key '\(HostError.quoted(entry.key))' in \(what) (expected \(allowed.joined(separator: ", ")))")
    }
  }

  func scalar(_ node: Node, _ key: String) throws -> String {
    guard case .scalar(let scalar) = node else { throw error(at: node, "\(key) must be a single value, not a list or mapping") }
    return scalar.string
  }

  func int(_ node: Node, _ key: String, range: ClosedRange<Int>) throws -> Int {
    let text = try scalar(node, key)
    guard let value = Int(text), range.contains(value) else {
      throw error(at: node, "\(key) '\(HostError.quoted(text))': expected a whole number from \(range.lowerBound) to \(range.upperBound)")
    }
    return value
  }

  func bool(_ node: Node, _ key: String) throws -> Bool {
    let text = try scalar(node, key)
    switch text {
    case "true", "True", "TRUE", "on", "yes": return true
    case "false", "False", "FALSE", "off", "no": return false
    default: throw error(at: node, "\(key) '\(HostError.quoted(text))': expected true or false")
    }
  }

  func sequence(_ node: Node, _ key: String) throws -> [Node] {
    guard case .sequence(let sequence) = node else { throw error(at: node, "\(key) must be a list") }
    return Array(sequence)
  }

  func name(_ node: Node, _ key: String) throws -> String {
    let text = try scalar(node, key)
    // A name reaches the device plugin's JSON, the plan and log lines: the characters of a
    // Kubernetes resource name, nothing to quote.
    let allowed = !text.isEmpty && text.count <= 63 && text.unicodeScalars.allSatisfy {
      ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" || $0 == "."
    }
    guard allowed else {
      throw error(at: node, "\(key) '\(HostError.quoted(text))': expected 1 to 63 letters, digits, '_', '-' or '.'")
    }
    return text
  }

  func hexID(_ node: Node, _ key: String) throws -> String {
    let text = try scalar(node, key).lowercased()
    guard text.count == 4, text.allSatisfy(\.isHexDigit) else {
      throw error(at: node, "\(key) '\(HostError.quoted(text))': expected four hex digits, as lspci -n shows (8086)")
    }
    return text
  }

  /// The selector both forms share.
  func nicSelector(_ node: Node, into policy: inout NodePolicy) throws {
    let entries = try mapping(node, what: "nicSelector")
    try allowKeys(entries, ["pfNames", "rootDevices", "vendor", "deviceID", "netFilter"], in: "nicSelector")
    for entry in entries {
      switch entry.key {
      case "pfNames":
        for item in try sequence(entry.value, "pfNames") {
          let text = try scalar(item, "pfNames")
          guard let selection = DevicePluginConfig.PFSelection(text), case .interface = selection.pf else {
            throw error(at: item, "pfNames '\(HostError.quoted(text))': expected an interface name with an optional VF range (ens1f0#0-3)")
          }
          policy.pfNames.append(selection)
          policy.pfNamesPositions.append(position(item) ?? policy.position)
        }
      case "rootDevices":
        for item in try sequence(entry.value, "rootDevices") {
          let text = try scalar(item, "rootDevices")
          guard let address = PCIAddress(text) else {
            throw error(at: item, "rootDevices '\(HostError.quoted(text))': expected a PCI address (0000:3b:00.0)")
          }
          policy.rootDevices.append(address)
        }
      case "vendor": policy.vendor = try hexID(entry.value, "vendor")
      case "deviceID": policy.deviceID = try hexID(entry.value, "deviceID")
      default:
        throw error(at: entry.keyNode, "nicSelector.netFilter selects cloud networks (OpenStack); sriovctl cannot evaluate it: remove it")
      }
    }
    if policy.pfNames.isEmpty && policy.rootDevices.isEmpty && policy.vendor == nil && policy.deviceID == nil {
      throw error(at: node, "nicSelector selects nothing: give pfNames, rootDevices, vendor or deviceID")
    }
  }

  func deviceType(_ node: Node) throws -> VFDriver {
    let text = try scalar(node, "deviceType")
    if text == "netdevice" { return .kernel }
    guard text != "kernel", let driver = DriverName(text) else {
      throw error(at: node, "deviceType '\(HostError.quoted(text))': expected netdevice or a driver name such as vfio-pci")
    }
    return .named(driver)
  }

  /// A policy of sriovctl's form.
  func policy(_ node: Node) throws -> NodePolicy {
    let entries = try mapping(node, what: "a policy")
    let keys = ["name", "nicSelector", "numVfs", "deviceType", "mtu", "priority", "resourceName", "vfSettings", "needVhostNet", "excludeTopology"]
    try allowKeys(entries, keys, in: "a policy")
    guard let nameEntry = entries.first(where: { $0.key == "name" }) else { throw error(at: node, "a policy needs a name") }
    var policy = try newPolicy(name: try name(nameEntry.value, "name"), at: node, defaultPriority: 99)
    try fill(&policy, from: entries, policyNode: node)
    if let settings = entries.first(where: { $0.key == "vfSettings" }) {
      let items = try mapping(settings.value, what: "vfSettings")
      try allowKeys(items, VFSetting.allCases.map(\.configKey), in: "vfSettings")
      for item in items {
        let setting = VFSetting.allCases.first { $0.configKey == item.key }!
        let text = try scalar(item.value, item.key)
        guard let wanted = setting.parse(text) else {
          throw error(at: item.value, "\(item.key) '\(HostError.quoted(text))': expected \(setting.expected)")
        }
        if case .value(.mac) = wanted, policy.numVfs > 1 || policy.pfNames.contains(where: { ($0.ranges.map(\.count).reduce(0, +)) != 1 }) {
          throw error(at: item.value, "mac \(text): one address cannot serve several VFs; give mac: auto, or a policy per VF")
        }
        policy.settings[setting] = wanted
      }
    }
    return policy
  }

  /// A `SriovNetworkNodePolicy` document, and a note when it has a node selector.
  func operatorPolicy(_ node: Node) throws -> (NodePolicy, String?) {
    let top = try mapping(node, what: "a SriovNetworkNodePolicy document")
    try allowKeys(top, ["apiVersion", "kind", "metadata", "spec", "status"], in: "a SriovNetworkNodePolicy document")
    // metadata carries namespace, labels, uid and the like: only its name is read.
    guard let kind = top.first(where: { $0.key == "kind" }), try scalar(kind.value, "kind") == "SriovNetworkNodePolicy" else {
      throw error(at: node, "expected kind: SriovNetworkNodePolicy (every document must be one)")
    }
    if let api = top.first(where: { $0.key == "apiVersion" }), try scalar(api.value, "apiVersion") != "sriovnetwork.openshift.io/v1" {
      throw error(at: api.value, "apiVersion must be sriovnetwork.openshift.io/v1")
    }
    guard let metadata = top.first(where: { $0.key == "metadata" }) else { throw error(at: node, "missing metadata.name") }
    let meta = try mapping(metadata.value, what: "metadata")
    guard let nameEntry = meta.first(where: { $0.key == "name" }) else { throw error(at: metadata.value, "missing metadata.name") }
    guard let specEntry = top.first(where: { $0.key == "spec" }) else { throw error(at: node, "missing spec") }
    let spec = try mapping(specEntry.value, what: "spec")
    let keys = [
      "resourceName", "nicSelector", "numVfs", "deviceType", "mtu", "priority", "nodeSelector", "isRdma",
      "eSwitchMode", "linkType", "needVhostNet", "excludeTopology", "vdpaType", "bridge",
    ]
    try allowKeys(spec, keys, in: "spec")
    // What sriovctl cannot honour is refused by name, never ignored.
    for entry in spec {
      switch entry.key {
      case "isRdma" where try bool(entry.value, "isRdma"):
        throw error(at: entry.value, "isRdma: true is not supported by sriovctl (RDMA devices are not configured); remove it")
      case "eSwitchMode" where try scalar(entry.value, "eSwitchMode") != "legacy":
        throw error(at: entry.value, "eSwitchMode: \(HostError.quoted(try scalar(entry.value, "eSwitchMode"))) is not supported by sriovctl (only legacy SR-IOV)")
      case "linkType" where !["eth", "ETH"].contains(try scalar(entry.value, "linkType")):
        throw error(at: entry.value, "linkType: \(HostError.quoted(try scalar(entry.value, "linkType"))) is not supported by sriovctl (only eth)")
      case "vdpaType":
        throw error(at: entry.keyNode, "vdpaType is not supported by sriovctl (vDPA devices are not configured); remove it")
      case "bridge":
        throw error(at: entry.keyNode, "bridge (switchdev bridging) is not supported by sriovctl; remove it")
      default: break
      }
    }
    var policy = try newPolicy(name: try name(nameEntry.value, "metadata.name"), at: node, defaultPriority: 0)
    try fill(&policy, from: spec, policyNode: specEntry.value)
    let note = spec.contains { $0.key == "nodeSelector" }
      ? "\(policy.name): nodeSelector not evaluated (sriovctl configures the node it runs on)" : nil
    return (policy, note)
  }

  private func newPolicy(name: String, at node: Node, defaultPriority: Int) throws -> NodePolicy {
    let here = position(node) ?? SourcePosition(line: 1, column: 1)
    return NodePolicy(
      name: name, position: here, pfNames: [], rootDevices: [], vendor: nil, deviceID: nil, numVfs: 0,
      deviceType: .kernel, mtu: nil, priority: defaultPriority, resourceName: name, settings: [:],
      needVhostNet: false, excludeTopology: false, numVfsPosition: here, pfNamesPositions: [])
  }

  /// The fields both forms share.
  private func fill(_ policy: inout NodePolicy, from entries: [(key: String, value: Node, keyNode: Node)], policyNode: Node) throws {
    guard let selector = entries.first(where: { $0.key == "nicSelector" }) else {
      throw error(at: policyNode, "policy '\(policy.name)' needs a nicSelector")
    }
    guard let numVfs = entries.first(where: { $0.key == "numVfs" }) else {
      throw error(at: policyNode, "policy '\(policy.name)' needs numVfs")
    }
    policy.numVfs = try int(numVfs.value, "numVfs", range: 0...VFRequest.maximumCount)
    policy.numVfsPosition = position(numVfs.value) ?? policy.position
    try nicSelector(selector.value, into: &policy)
    for entry in entries {
      switch entry.key {
      case "deviceType": policy.deviceType = try deviceType(entry.value)
      case "mtu": policy.mtu = try int(entry.value, "mtu", range: 68...65535)
      case "priority": policy.priority = try int(entry.value, "priority", range: 0...99)
      case "resourceName": policy.resourceName = try name(entry.value, "resourceName")
      case "needVhostNet": policy.needVhostNet = try bool(entry.value, "needVhostNet")
      case "excludeTopology": policy.excludeTopology = try bool(entry.value, "excludeTopology")
      default: break
      }
    }
    for (selection, position) in zip(policy.pfNames, policy.pfNamesPositions) {
      if let highest = selection.ranges.map(\.upperBound).max(), highest >= policy.numVfs {
        throw NodeConfigError(
          file: file, position: position,
          message: "pfNames '\(selection.text)' names VF \(highest), but policy '\(policy.name)' has numVfs \(policy.numVfs) (VFs 0 to \(policy.numVfs - 1))")
      }
    }
  }

  func checkUniqueNames(_ policies: [NodePolicy]) throws {
    var seen: Set<String> = []
    for policy in policies {
      guard seen.insert(policy.name).inserted else {
        throw NodeConfigError(file: file, position: policy.position, message: "a second policy named '\(policy.name)'")
      }
    }
  }
}
