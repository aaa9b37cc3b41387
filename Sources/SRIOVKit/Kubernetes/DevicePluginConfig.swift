/// The configuration of the SR-IOV network device plugin (k8snetworkplumbingwg/
/// sriov-network-device-plugin): its `resourceList`, built from the VFs this host really has, in
/// the `sriovdp-config` ConfigMap under the key `config.json`.
public struct DevicePluginConfig: Sendable, Equatable {
  /// How PFs are put into resources.
  public enum Grouping: String, Sendable, CaseIterable {
    /// One resource per PF (or per selected VF range of a PF).
    case pf
    /// One resource per vendor and VF device ID.
    case vendor
  }

  /// A PF, optionally with the VF indexes that go into its resource (`ens1f0#0-3`).
  public struct PFSelection: Sendable, Equatable {
    public var pf: PFSelector
    /// Inclusive ranges of VF indexes; empty for every VF.
    public var ranges: [ClosedRange<Int>]

    /// Parses `PF` or `PF#RANGES`, RANGES being `N` or `N-M` separated by commas.
    public init?(_ text: String) {
      let parts = text.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
      guard let selector = PFSelector(String(parts[0])) else { return nil }
      pf = selector
      ranges = []
      guard parts.count == 2 else { return }
      for item in parts[1].split(separator: ",", omittingEmptySubsequences: false) {
        let bounds = item.split(separator: "-", omittingEmptySubsequences: false)
        // Bounded before any arithmetic: a VF index is below 65535 (TotalVFs is 16 bits).
        let indexes = 0..<VFRequest.maximumCount
        guard (1...2).contains(bounds.count), let low = Int(bounds[0]), let high = Int(bounds.last!),
          indexes.contains(low), indexes.contains(high), low <= high
        else { return nil }
        ranges.append(low...high)
      }
    }

    /// The selection as given on the command line, normalised.
    public var text: String { "\(pf)\(suffix)" }

    /// The VF indexes selected; every possible index when no range was given.
    var selectedRanges: [ClosedRange<Int>] { ranges.isEmpty ? [0...(VFRequest.maximumCount - 1)] : ranges }

    /// The first VF index both selections take, if any.
    func firstShared(with other: PFSelection) -> Int? {
      var shared: Int?
      for a in selectedRanges {
        for b in other.selectedRanges where a.overlaps(b) {
          let low = Swift.max(a.lowerBound, b.lowerBound)
          shared = Swift.min(shared ?? low, low)
        }
      }
      return shared
    }

    var suffix: String {
      ranges.isEmpty ? "" : "#" + ranges.map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: ",")
    }
  }

  /// One entry of `resourceList`.
  public struct Resource: Sendable, Equatable, JSONRepresentable {
    public var resourceName: String
    public var resourcePrefix: String
    public var vendors: [String]
    public var devices: [String]
    public var drivers: [String]
    public var pfNames: [String]
    /// PCI addresses of PFs that have no interface to name.
    public var rootDevices: [String]
    /// The device plugin mounts /dev/vhost-net into the pod (the operator's `needVhostNet`).
    public var needVhostNet = false
    /// The device plugin ignores NUMA topology for the resource (`excludeTopology`).
    public var excludeTopology = false

    public var json: JSON {
      var selectors: [(String, JSON)] = [
        ("vendors", .array(vendors.map(JSON.string))),
        ("devices", .array(devices.map(JSON.string))),
      ]
      if !drivers.isEmpty { selectors.append(("drivers", .array(drivers.map(JSON.string)))) }
      if !pfNames.isEmpty { selectors.append(("pfNames", .array(pfNames.map(JSON.string)))) }
      if !rootDevices.isEmpty { selectors.append(("rootDevices", .array(rootDevices.map(JSON.string)))) }
      if needVhostNet { selectors.append(("needVhostNet", .bool(true))) }
      var fields: [(String, JSON)] = [
        ("resourceName", .string(resourceName)),
        ("resourcePrefix", .string(resourcePrefix)),
      ]
      if excludeTopology { fields.append(("excludeTopology", .bool(true))) }
      return .object(fields + [("deviceType", .string("netDevice")), ("selectors", .object(selectors))])
    }
  }

  /// A configuration that cannot be made as asked.
  public enum Failure: Error, Equatable, CustomStringConvertible {
    case noVFDevice(PCIAddress)
    case rangeBeyondTotal(String, total: Int)
    case oneNameManyResources(Int)
    case invalidName(String)
    case invalidPrefix(String)
    case nothingToOffer
    case overlap(String, String, vf: Int, pf: String)
    case rangeWithoutInterface(String, pf: PCIAddress)
    case duplicateName(String)

    public var description: String {
      switch self {
      case .noVFDevice(let pf):
        return "\(pf): the VF device ID is unknown (no VFs, and the SR-IOV capability could not be read); create VFs first"
      case .rangeBeyondTotal(let selection, let total):
        return "'\(selection)' names VFs the PF does not have (it allows \(total))"
      case .oneNameManyResources(let count):
        return "--resource-name names one resource, but \(count) would be made; select one PF with --pf or use --group-by vendor"
      case .invalidName(let name):
        return "--resource-name '\(name)' is not a device plugin resource name (1 to 63 letters, digits and '_')"
      case .invalidPrefix(let prefix):
        return "--resource-prefix '\(prefix)' is not a resource prefix (a DNS subdomain such as intel.com)"
      case .nothingToOffer:
        return "this host has no SR-IOV PF with VFs to offer (see 'sriovctl check')"
      case .overlap(let first, let second, let vf, let pf):
        return "--pf '\(first)' and --pf '\(second)' both select VF \(vf) of \(pf); a VF can be in one resource only"
      case .rangeWithoutInterface(let selection, let pf):
        return "'\(selection)': a VF range is selected through the PF's interface name (pfNames), and \(pf) has "
          + "no network interface; select the whole PF or bind its network driver"
      case .duplicateName(let name):
        return "two resources would be named '\(name)'; select the PFs differently or use --group-by vendor"
      }
    }
  }

  public var resources: [Resource]

  /// Checks the names given for the resources: the device plugin's rule for a resource name, a
  /// DNS subdomain for the prefix.
  public static func checkNames(resourceName: String?, resourcePrefix: String) throws {
    guard LabelKey.isSubdomain(Substring(resourcePrefix)) else { throw Failure.invalidPrefix(resourcePrefix) }
    if let resourceName, !isResourceName(resourceName) { throw Failure.invalidName(resourceName) }
  }

  /// Refuses selections that name the same PF the same way and share VFs (`--pf ens1f0 --pf
  /// ens1f0`): a usage error, found without looking at the host. ``build(inventory:root:selections:grouping:resourceName:resourcePrefix:)``
  /// also catches one PF named by interface and by address.
  public static func checkSelections(_ selections: [PFSelection]) throws {
    for (i, first) in selections.enumerated() {
      for second in selections[(i + 1)...] where first.pf == second.pf {
        if let vf = first.firstShared(with: second) {
          throw Failure.overlap(first.text, second.text, vf: vf, pf: first.pf.description)
        }
      }
    }
  }

  /// Builds the resources for the selected PFs (all SR-IOV PFs when none are selected).
  public static func build(
    inventory: Inventory, root: HostRoot, selections: [PFSelection], grouping: Grouping,
    resourceName: String?, resourcePrefix: String
  ) throws -> DevicePluginConfig {
    try checkNames(resourceName: resourceName, resourcePrefix: resourcePrefix)
    var chosen: [(PhysicalFunction, PFSelection?)] = []
    if selections.isEmpty {
      chosen = inventory.physicalFunctions.filter { $0.totalVFs > 0 || $0.vfDeviceID != nil }.map { ($0, nil) }
    } else {
      try checkSelections(selections)
      for selection in selections {
        let pf = try inventory.select([selection.pf], root: root)[0]
        if let highest = selection.ranges.map(\.upperBound).max(), highest >= max(pf.totalVFs, pf.numVFs) {
          throw Failure.rangeBeyondTotal(selection.text, total: pf.totalVFs)
        }
        // Without pfNames the device plugin selects by rootDevices, which takes every VF.
        if !selection.ranges.isEmpty, pf.interfaces.isEmpty {
          throw Failure.rangeWithoutInterface(selection.text, pf: pf.address)
        }
        // The same PF by another name (interface and address): the VFs must not be shared.
        for (other, earlier) in chosen where other.address == pf.address {
          if let earlier, let vf = earlier.firstShared(with: selection) {
            throw Failure.overlap(earlier.text, selection.text, vf: vf, pf: pf.address.description)
          }
        }
        chosen.append((pf, selection))
      }
    }
    guard !chosen.isEmpty else { throw Failure.nothingToOffer }
    let modules = try? KernelModules(root: root)
    struct Entry {
      var pf: PhysicalFunction
      var selection: PFSelection?
      var device: String
      var drivers: [String]
    }
    let entries: [Entry] = try chosen.map { pf, selection in
      guard let device = pf.vfDeviceID else { throw Failure.noVFDevice(pf.address) }
      var drivers = Array(Set(pf.vfs.compactMap(\.driver))).sorted()
      if drivers.isEmpty, let modules, let alias = Readiness.vfModalias(pf, root: root) {
        drivers = Array(modules.modules(matching: alias).prefix(1))
      }
      return Entry(pf: pf, selection: selection, device: device.pciID, drivers: drivers)
    }
    var resources: [Resource] = []
    func resource(_ name: String, _ members: [Entry]) -> Resource {
      Resource(
        resourceName: name, resourcePrefix: resourcePrefix,
        vendors: Array(Set(members.map(\.pf.vendorID.pciID))).sorted(),
        devices: Array(Set(members.map(\.device))).sorted(),
        drivers: Array(Set(members.flatMap(\.drivers))).sorted(),
        pfNames: members.compactMap { entry in entry.pf.interfaces.first.map { $0 + (entry.selection?.suffix ?? "") } },
        rootDevices: members.filter { $0.pf.interfaces.isEmpty }.map(\.pf.address.description))
    }
    switch grouping {
    case .pf:
      for entry in entries {
        let base = entry.pf.interfaces.first ?? entry.pf.address.description
        resources.append(resource(sanitized("sriov_" + base + (entry.selection?.suffix ?? "")), [entry]))
      }
    case .vendor:
      var groups: [String: [Entry]] = [:]
      for entry in entries { groups[entry.pf.vendorID.pciID + ":" + entry.device, default: []].append(entry) }
      let vendorsWithSeveral = Dictionary(grouping: groups.keys, by: { $0.prefix(4) }).filter { $0.value.count > 1 }.keys
      for key in groups.keys.sorted() {
        let vendor = String(key.prefix(4))
        let device = String(key.suffix(4))
        var name = vendorName(vendor) + "_sriov_netdevice"
        if vendorsWithSeveral.contains(Substring(vendor)) { name += "_" + device }
        resources.append(resource(name, groups[key]!))
      }
    }
    if let resourceName {
      guard resources.count == 1 else { throw Failure.oneNameManyResources(resources.count) }
      resources[0].resourceName = resourceName
    }
    // Names are sanitised (ens1f0#0-1 and ens1f0#0,1, a.b and a_b): the device plugin would
    // merge or reject resources that share one.
    var names = Set<String>()
    for resource in resources where !names.insert(resource.resourceName).inserted {
      throw Failure.duplicateName(resource.resourceName)
    }
    return DevicePluginConfig(resources: resources)
  }

  /// The device plugin's own rule for resource names.
  static func isResourceName(_ name: String) -> Bool {
    !name.isEmpty && name.count <= 63 && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
  }

  private static func sanitized(_ text: String) -> String {
    String(text.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" }.prefix(63))
  }

  private static func vendorName(_ id: String) -> String {
    switch id {
    case "8086": return "intel"
    case "15b3": return "mellanox"
    case "14e4": return "broadcom"
    case "1077": return "qlogic"
    case "1924": return "solarflare"
    case "19ee": return "netronome"
    default: return "vendor_" + id
    }
  }

  /// config.json: `{"resourceList": [...]}`.
  public var json: JSON { .object([("resourceList", .array(resources.map(\.json)))]) }

  /// The ConfigMap, as JSON.
  public func configMap(namespace: String) -> JSON {
    .object([
      ("apiVersion", .string("v1")),
      ("kind", .string("ConfigMap")),
      ("metadata", .object([("name", .string("sriovdp-config")), ("namespace", .string(namespace))])),
      ("data", .object([("config.json", .string(json.rendered()))])),
    ])
  }

  /// The ConfigMap as YAML, ready for `kubectl apply -f -`; config.json as a literal block, or
  /// as a double-quoted scalar when it holds a character a literal block cannot carry.
  public func configMapYAML(namespace: String) -> String {
    let config = json.rendered()
    var yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sriovdp-config\n  namespace: \(YAML.scalar(namespace))\ndata:\n"
    guard YAML.fitsLiteralBlock(config) else {
      return yaml + "  config.json: \(YAML.doubleQuoted(config))\n"
    }
    yaml += "  config.json: |\n"
    for line in config.split(separator: "\n", omittingEmptySubsequences: false) where !line.isEmpty {
      yaml += "    \(line)\n"
    }
    return yaml
  }
}
