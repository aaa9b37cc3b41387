import FoundationEssentials

/// How the SR-IOV network device plugin picks the devices of each resource, so that what
/// `device-plugin-config` writes and what `check --kubeconfig` reads are judged by one rule.
///
/// As the plugin does it (sriov-network-device-plugin `pkg/netdevice/netDeviceProvider.go`,
/// `pkg/resources/deviceSelectors.go`): its devices are the network-class PCI functions except
/// PFs with VFs enabled and functions carrying a default route; each present selector list
/// narrows them (`vendors`, `devices`, `drivers`, `pciAddresses`, `pfNames`, `rootDevices`, in
/// that order), an absent or empty one does not; a `selectors` array is several such sets, any of
/// which may select; and a device goes to the first resource in `resourceList` that selects it.
extension DevicePluginConfig {
  /// One `selectors` object of a `netDevice` resource.
  public struct Selectors: Sendable, Equatable {
    public var vendors: [String] = []
    public var devices: [String] = []
    public var drivers: [String] = []
    public var pciAddresses: [String] = []
    /// `NAME` or `NAME#RANGES` (VF indexes), compared without regard to case.
    public var pfNames: [String] = []
    /// A PF's PCI address, optionally `#RANGES`.
    public var rootDevices: [String] = []
    public var needVhostNet = false
    /// Selector keys present that sriovctl does not evaluate (linkTypes, isRdma, ddpProfiles,
    /// vdpaType, acpiIndexes, pKeys): the plugin may select fewer devices than sriovctl counts.
    public var unevaluated: [String] = []

    public init(
      vendors: [String] = [], devices: [String] = [], drivers: [String] = [], pciAddresses: [String] = [],
      pfNames: [String] = [], rootDevices: [String] = [], needVhostNet: Bool = false, unevaluated: [String] = []
    ) {
      self.vendors = vendors
      self.devices = devices
      self.drivers = drivers
      self.pciAddresses = pciAddresses
      self.pfNames = pfNames
      self.rootDevices = rootDevices
      self.needVhostNet = needVhostNet
      self.unevaluated = unevaluated
    }
  }

  /// A device the plugin would consider on this host.
  public struct Candidate: Sendable, Equatable {
    public var address: PCIAddress
    public var vendor: String
    public var device: String
    /// The bound driver; the plugin compares "" when there is none.
    public var driver: String?
    /// For a VF: its PF's first interface (the plugin reads `physfn/net`), its PF's address and
    /// its index.
    public var pfName: String?
    public var rootDevice: String?
    public var vfIndex: Int?

    public var isVF: Bool { vfIndex != nil }

    /// `VF 2 of ens1f0 (0000:3b:02.2)` or `0000:3b:00.1`.
    public var label: String {
      guard let vfIndex else { return address.description }
      return "VF \(vfIndex) of \(pfName ?? rootDevice ?? "?") (\(address))"
    }
  }

  /// The devices the plugin would consider beneath `root`: every VF, and every network function
  /// without VFs enabled, less those whose interface carries a default route
  /// (`/proc/net/route`, `/proc/net/ipv6_route`).
  public static func candidates(_ inventory: Inventory, root: HostRoot) -> [Candidate] {
    let routed = defaultRouteInterfaces(root)
    var result: [Candidate] = []
    for pf in inventory.physicalFunctions {
      if pf.numVFs == 0 || pf.vfs.isEmpty {
        if pf.interfaces.allSatisfy({ !routed.contains($0) }) {
          result.append(
            Candidate(address: pf.address, vendor: pf.vendorID.pciID, device: pf.deviceID.pciID, driver: pf.driver))
        }
        continue
      }
      guard let device = pf.vfDeviceID else { continue }
      for vf in pf.vfs where vf.interface.map({ !routed.contains($0) }) ?? true {
        result.append(
          Candidate(
            address: vf.address, vendor: pf.vendorID.pciID, device: device.pciID, driver: vf.driver,
            pfName: pf.interfaces.first, rootDevice: pf.address.description, vfIndex: vf.index))
      }
    }
    for function in inventory.otherNetworkFunctions where function.interfaces.allSatisfy({ !routed.contains($0) }) {
      guard let vendor = function.vendorID, let device = function.deviceID else { continue }
      result.append(Candidate(address: function.address, vendor: vendor.pciID, device: device.pciID, driver: function.driver))
    }
    return result.sorted { $0.address < $1.address }
  }

  /// Interfaces with an IPv4 or IPv6 default route, from the kernel's route tables.
  static func defaultRouteInterfaces(_ root: HostRoot) -> Set<String> {
    var names = Set<String>()
    // Iface Destination Gateway Flags RefCnt Use Metric Mask ...: a default route has
    // destination and mask 00000000.
    if let bytes = try? root.readBytes("/proc/net/route", limit: 1 << 20) {
      let text = String(decoding: bytes, as: UTF8.self)
      for line in text.split(separator: "\n").dropFirst() {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        if fields.count >= 8, fields[1] == "00000000", fields[7] == "00000000" { names.insert(String(fields[0])) }
      }
    }
    // dest prefixlen src srclen next metric refcnt use flags iface: ::/0, not the unreachable
    // route on lo.
    if let bytes = try? root.readBytes("/proc/net/ipv6_route", limit: 1 << 20) {
      let text = String(decoding: bytes, as: UTF8.self)
      for line in text.split(separator: "\n") {
        let fields = line.split(separator: " ")
        if fields.count == 10, fields[0].allSatisfy({ $0 == "0" }), fields[1] == "00", fields[9] != "lo" {
          names.insert(String(fields[9]))
        }
      }
    }
    return names
  }

  /// One selector list as the plugin applies it: the devices it was given and those it kept.
  struct Step {
    var key: String
    var values: [String]
    var before: [Candidate]
    var survivors: [Candidate]

    /// The list as written: `[i40evf, ixgbevf]`.
    var valuesText: String { "[" + values.joined(separator: ", ") + "]" }
  }

  /// Applies the lists in the plugin's order; `identityOnly` ignores what can change on a
  /// running host (drivers, VF index ranges), to tell a resource meant for this host's hardware
  /// from one meant for another's.
  static func steps(_ selectors: Selectors, _ candidates: [Candidate], identityOnly: Bool = false) -> [Step] {
    var current = candidates
    var steps: [Step] = []
    func narrow(_ key: String, _ values: [String], _ keep: (Candidate) -> Bool) {
      guard !values.isEmpty else { return }
      let before = current
      current = current.filter(keep)
      steps.append(Step(key: key, values: values, before: before, survivors: current))
    }
    narrow("vendors", selectors.vendors) { selectors.vendors.contains($0.vendor) }
    narrow("devices", selectors.devices) { selectors.devices.contains($0.device) }
    if !identityOnly { narrow("drivers", selectors.drivers) { selectors.drivers.contains($0.driver ?? "") } }
    narrow("pciAddresses", selectors.pciAddresses) { selectors.pciAddresses.contains($0.address.description) }
    narrow("pfNames", selectors.pfNames) { candidate in
      guard let name = candidate.pfName, let item = selectors.pfNames.first(where: { itemName($0).lowercased() == name.lowercased() })
      else { return false }
      return identityOnly || isSelected(candidate.vfIndex ?? -1, item)
    }
    narrow("rootDevices", selectors.rootDevices) { candidate in
      guard let address = candidate.rootDevice,
        let item = selectors.rootDevices.first(where: { itemName($0).lowercased() == address.lowercased() })
      else { return false }
      return identityOnly || isSelected(candidate.vfIndex ?? -1, item)
    }
    return steps
  }

  /// The devices the selectors take.
  public static func selected(by selectors: Selectors, from candidates: [Candidate]) -> [Candidate] {
    steps(selectors, candidates).last?.survivors ?? candidates
  }

  /// The PF part of a `pfNames` or `rootDevices` item: `ens1f0` of `ens1f0#0-3`.
  static func itemName(_ item: String) -> String { String(item.split(separator: "#", omittingEmptySubsequences: false)[0]) }

  /// The plugin's `isSelected`: `NAME#3-5,7` takes VF indexes 3, 4, 5 and 7; no `#` takes all;
  /// a malformed range takes none.
  static func isSelected(_ index: Int, _ item: String) -> Bool {
    let fields = item.split(separator: "#", omittingEmptySubsequences: false)
    guard fields.count > 1 else { return true }
    guard fields.count == 2 else { return false }
    for entry in fields[1].split(separator: ",", omittingEmptySubsequences: false) {
      let bounds = entry.split(separator: "-", omittingEmptySubsequences: false)
      // Bounded before comparing: indexes are below 65535.
      guard (1...2).contains(bounds.count), let low = Int(bounds[0]), let high = Int(bounds[bounds.count - 1]),
        (0..<VFRequest.maximumCount).contains(low), (0..<VFRequest.maximumCount).contains(high)
      else { return false }
      if low <= index && index <= high { return true }
    }
    return false
  }
}

extension DevicePluginConfig.Resource {
  /// What the generated resource selects, in the plugin's terms: the generator's output is read
  /// back by the same rule that judges a ConfigMap.
  public var selectors: DevicePluginConfig.Selectors {
    .init(
      vendors: vendors, devices: devices, drivers: drivers, pfNames: pfNames, rootDevices: rootDevices,
      needVhostNet: needVhostNet)
  }
}
