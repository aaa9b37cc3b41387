/// Something about one PCI function that the kernel would never show, in one line.
public struct FunctionProblem: Error, Equatable, CustomStringConvertible {
  public var description: String

  public init(_ description: String) {
    self.description = description
  }
}

/// The kernel's sysfs attributes of PCI functions (Documentation/ABI/testing/sysfs-bus-pci),
/// read beneath a host root from `/sys/bus/pci/devices/ADDRESS`.
///
/// Every value is checked against what the kernel can write there before it is used; anything
/// else throws ``HostError/malformed(_:value:expected:)`` naming the attribute relative to the
/// function's directory (`sriov_totalvfs holds '-5', expected ...`), so that callers can report
/// it as a finding about that function.
public struct PCIDeviceAttributes: Sendable {
  public let root: HostRoot

  /// Where the kernel lists every PCI function, one entry (a link) per function.
  public static let devicesDirectory = "/sys/bus/pci/devices"

  /// The most VFs a PF can have: TotalVFs is a 16-bit field of the SR-IOV capability.
  public static let maximumVFs = 0xffff

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
    "\(PCIDeviceAttributes.devicesDirectory)/\(address)"
  }

  /// The names in `/sys/bus/pci/devices`, as they are (not yet checked to be addresses).
  public func entries() throws -> [String] {
    try root.list(PCIDeviceAttributes.devicesDirectory)
  }

  /// Whether the function is a VF (it has a `physfn` link).
  public func isVirtualFunction(_ address: PCIAddress) throws -> Bool {
    try root.readLink(directory(address) + "/physfn") != nil
  }

  /// The `class` attribute (`0x020000`: base class, subclass, programming interface), or `nil`
  /// when it is absent.
  public func classCode(_ address: PCIAddress) throws -> UInt32? {
    try hex(address, "class", maximum: 0xff_ffff, expected: "a 24-bit class code such as 0x020000")
      .map(UInt32.init)
  }

  /// The `vendor` or `device` attribute (`0x8086`), or `nil` when it is absent.
  public func identifier(_ address: PCIAddress, _ name: String) throws -> UInt16? {
    try hex(address, name, maximum: 0xffff, expected: "a 16-bit ID such as 0x8086").map(UInt16.init)
  }

  /// The raw config space (`config`), at most 4096 bytes; empty when absent.
  public func config(_ address: PCIAddress) throws -> [UInt8] {
    try root.readBytes(directory(address) + "/config", limit: 4096) ?? []
  }

  /// The kernel's SR-IOV attributes, or `nil` when it set up no SR-IOV for the function (no
  /// capability, or a capability advertising TotalVFs 0).
  ///
  /// - Parameter deviceTotalVFs: TotalVFs from config space when known: the driver may lower the
  ///   kernel's total (`pci_sriov_set_totalvfs`), never raise it.
  public func sriovState(_ address: PCIAddress, deviceTotalVFs: Int?) throws -> SRIOVState? {
    let bound = deviceTotalVFs ?? PCIDeviceAttributes.maximumVFs
    guard
      let total = try decimal(
        address, "sriov_totalvfs", in: 0...bound,
        expected: deviceTotalVFs.map { "a number of VFs from 0 to the device's TotalVFs, \($0)" }
          ?? "a number of VFs from 0 to \(bound)")
    else { return nil }
    let numVFs =
      try decimal(
        address, "sriov_numvfs", in: 0...total, expected: "a number of VFs from 0 to sriov_totalvfs, \(total)")
      ?? 0
    let vfDeviceID = try identifier(address, "sriov_vf_device")
    let autoprobe = try decimal(address, "sriov_drivers_autoprobe", in: 0...1, expected: "0 or 1")
    return SRIOVState(
      totalVFs: total, numVFs: numVFs, vfDeviceID: vfDeviceID, driversAutoprobe: autoprobe.map { $0 != 0 })
  }

  /// The `virtfnN` links of a PF, by N, each checked: N a plain decimal below `totalVFs` (the
  /// PF's validated total; any 16-bit count when not given), the target a PCI function's
  /// directory.
  public func virtualFunctionLinks(_ address: PCIAddress, totalVFs: Int = PCIDeviceAttributes.maximumVFs)
    throws -> [(Int, PCIAddress)]
  {
    let dir = directory(address)
    var links: [(Int, PCIAddress)] = []
    for name in try root.list(dir) where name.hasPrefix("virtfn") {
      let digits = name.dropFirst("virtfn".count)
      // The kernel writes "virtfn%u" (drivers/pci/iov.c): no sign, no leading zero.
      guard let index = PCIDeviceAttributes.plainDecimal(digits), index < totalVFs else {
        throw FunctionProblem(
          "\(HostError.quoted(name)) is not a VF link the kernel makes: expected virtfnN, "
            + (totalVFs > 0 ? "N from 0 to \(totalVFs - 1)" : "and sriov_totalvfs allows no VFs"))
      }
      guard let target = try root.linkName(dir + "/" + name), let vf = PCIAddress(sysfsName: target)
      else {
        let target = ((try? root.readLink(dir + "/" + name)) ?? nil).map { HostError.quoted($0) }
        throw FunctionProblem(
          "\(name) " + (target.map { "points at '\($0)'" } ?? "is not a link")
            + ", expected a link to a PCI function's directory")
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
    let path = directory(address) + "/numa_node"
    guard let text = try root.readAttribute(path) else { return nil }
    if text == "-1" { return nil }
    // MAX_NUMNODES is at most 1 << 10 (CONFIG_NODES_SHIFT).
    guard let node = PCIDeviceAttributes.plainDecimal(Substring(text)), node < 1024 else {
      throw HostError.malformed(
        "numa_node", value: HostError.quoted(text), expected: "-1 or a NUMA node from 0 to 1023")
    }
    return node
  }

  /// The IOMMU group, or `nil` when the function is in none (no IOMMU active).
  public func iommuGroup(_ address: PCIAddress) throws -> Int? {
    guard let name = try root.linkName(directory(address) + "/iommu_group") else { return nil }
    guard let group = PCIDeviceAttributes.plainDecimal(Substring(name)) else {
      throw HostError.malformed(
        "iommu_group", value: HostError.quoted(name), expected: "a link to /sys/kernel/iommu_groups/N")
    }
    return group
  }

  // MARK: Checked values

  /// An attribute the kernel writes as `0x%0Nx`; `nil` when absent.
  private func hex(_ address: PCIAddress, _ name: String, maximum: Int, expected: String) throws -> Int? {
    guard let text = try root.readAttribute(directory(address) + "/" + name) else { return nil }
    let digits = text.hasPrefix("0x") ? text.dropFirst(2) : Substring(text)
    guard (1...8).contains(digits.count), digits.allSatisfy(\.isHexDigit),
      let value = Int(digits, radix: 16), value <= maximum
    else {
      throw HostError.malformed(name, value: HostError.quoted(text), expected: expected)
    }
    return value
  }

  /// An attribute the kernel writes as `%u` or `%d`, within `range`; `nil` when absent.
  private func decimal(_ address: PCIAddress, _ name: String, in range: ClosedRange<Int>, expected: String)
    throws -> Int?
  {
    guard let text = try root.readAttribute(directory(address) + "/" + name) else { return nil }
    guard let value = PCIDeviceAttributes.plainDecimal(Substring(text)), range.contains(value) else {
      throw HostError.malformed(name, value: HostError.quoted(text), expected: expected)
    }
    return value
  }

  /// A non-negative decimal as the kernel prints one: digits only, no sign, no leading zero, at
  /// most 9 digits (so it fits any Int); `nil` for anything else.
  static func plainDecimal(_ text: Substring) -> Int? {
    guard (1...9).contains(text.count), text.allSatisfy({ $0.isASCII && $0.isNumber }),
      text == "0" || text.first != "0"
    else { return nil }
    return Int(text)
  }
}
