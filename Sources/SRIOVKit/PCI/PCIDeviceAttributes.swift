/// The kernel's sysfs attributes of PCI functions (Documentation/ABI/testing/sysfs-bus-pci),
/// read beneath a host root from `/sys/bus/pci/devices/ADDRESS`.
public struct PCIDeviceAttributes: Sendable {
  public let root: HostRoot

  public init(root: HostRoot) {
    self.root = root
  }

  /// The SR-IOV state the kernel keeps for a PF.
  public struct SRIOVState: Sendable, Equatable {
    public var totalVFs: Int
    public var numVFs: Int
    public var vfDeviceID: UInt16?
    public var driversAutoprobe: Bool?
  }

  /// The sysfs directory of a function.
  public func directory(_ address: PCIAddress) -> String {
    "/sys/bus/pci/devices/\(address)"
  }

  /// Whether the function is a VF (it has a `physfn` link).
  public func isVirtualFunction(_ address: PCIAddress) throws -> Bool {
    try root.readLink(directory(address) + "/physfn") != nil
  }

  /// The kernel's SR-IOV attributes, or `nil` when it set up no SR-IOV for the function (no
  /// capability, or a capability advertising TotalVFs 0).
  public func sriovState(_ address: PCIAddress) throws -> SRIOVState? {
    let dir = directory(address)
    guard let total = try root.readInteger(dir + "/sriov_totalvfs") else { return nil }
    let vfDevice = try root.readAttribute(dir + "/sriov_vf_device")
    var vfDeviceID: UInt16?
    if let vfDevice {
      guard let id = UInt16(vfDevice.hasPrefix("0x") ? String(vfDevice.dropFirst(2)) : vfDevice,
        radix: 16)
      else { throw HostError.malformed(dir + "/sriov_vf_device", value: vfDevice, expected: "a PCI device ID") }
      vfDeviceID = id
    }
    return SRIOVState(
      totalVFs: total,
      numVFs: try root.readInteger(dir + "/sriov_numvfs") ?? 0,
      vfDeviceID: vfDeviceID,
      driversAutoprobe: try root.readInteger(dir + "/sriov_drivers_autoprobe").map { $0 != 0 })
  }

  /// The `virtfnN` links of a PF, by N.
  public func virtualFunctionLinks(_ address: PCIAddress) throws -> [(Int, PCIAddress)] {
    let dir = directory(address)
    var links: [(Int, PCIAddress)] = []
    for name in try root.list(dir) where name.hasPrefix("virtfn") {
      guard let index = Int(name.dropFirst("virtfn".count)) else { continue }
      guard let target = try root.linkName(dir + "/" + name) else { continue }
      guard let vf = PCIAddress(target) else {
        throw HostError.malformed(dir + "/" + name, value: target, expected: "a link to a PCI function")
      }
      links.append((index, vf))
    }
    return links.sorted { $0.0 < $1.0 }
  }

  /// The network interfaces of a function (`net/*`), sorted.
  public func interfaces(_ address: PCIAddress) throws -> [String] {
    try root.list(directory(address) + "/net")
  }

  /// The bound driver's name, or `nil` when no driver is bound.
  public func driver(_ address: PCIAddress) throws -> String? {
    try root.linkName(directory(address) + "/driver")
  }

  /// The NUMA node, or `nil` when the kernel reports none (-1) or the attribute is absent.
  public func numaNode(_ address: PCIAddress) throws -> Int? {
    guard let node = try root.readInteger(directory(address) + "/numa_node"), node >= 0 else {
      return nil
    }
    return node
  }

  /// The IOMMU group, or `nil` when the function is in none (no IOMMU active).
  public func iommuGroup(_ address: PCIAddress) throws -> Int? {
    try root.linkName(directory(address) + "/iommu_group").flatMap { Int($0) }
  }
}
