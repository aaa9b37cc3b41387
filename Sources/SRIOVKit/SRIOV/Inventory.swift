/// What a host has: its SR-IOV physical functions with their VFs, and the other network
/// functions (so that a PF argument naming one of those can be answered precisely).
///
/// Built from libpci (enumeration, IDs, class, capabilities, names) and the kernel's sysfs
/// attributes (Documentation/ABI/testing/sysfs-bus-pci: `sriov_totalvfs`, `sriov_numvfs`,
/// `sriov_vf_device`, `sriov_drivers_autoprobe`, `virtfnN`, `physfn`), all beneath the host root.
public struct Inventory: Sendable {
  /// The SR-IOV PFs, sorted by PCI address.
  public var physicalFunctions: [PhysicalFunction]
  /// Network-class functions that are neither PFs nor VFs, sorted by PCI address.
  public var otherNetworkFunctions: [NetworkFunction]
  /// The class of every function that is not a network controller (a disk, a bridge), by address.
  public var otherFunctions: [PCIAddress: String]

  /// A network-class PCI function without SR-IOV.
  public struct NetworkFunction: Sendable, Equatable {
    public var address: PCIAddress
    public var interfaces: [String]
    public var driver: String?
  }

  public init(
    physicalFunctions: [PhysicalFunction], otherNetworkFunctions: [NetworkFunction],
    otherFunctions: [PCIAddress: String] = [:]
  ) {
    self.physicalFunctions = physicalFunctions
    self.otherNetworkFunctions = otherNetworkFunctions
    self.otherFunctions = otherFunctions
  }

  /// Reads the host beneath `root`. Vendor and device names come from pci.ids, which takes a
  /// parse of the whole database: callers that print no names pass `names: false`.
  public static func discover(root: HostRoot, names: Bool = true) throws -> Inventory {
    let bus = try PCIBus(root: root)
    let sysfs = PCIDeviceAttributes(root: root)
    var pfs: [PhysicalFunction] = []
    var others: [NetworkFunction] = []
    var otherFunctions: [PCIAddress: String] = [:]
    for function in bus.functions {
      let address = function.address
      guard function.isNetworkController else {
        let hex = "0x" + function.classCode.pciID
        otherFunctions[address] =
          (names ? bus.className(function.classCode) : nil).map { "\($0), class \(hex)" } ?? "class \(hex)"
        continue
      }
      if try sysfs.isVirtualFunction(address) { continue }
      let capability = try bus.sriovCapability(of: address)
      let sriov = try sysfs.sriovState(address)
      guard capability != nil || sriov != nil else {
        others.append(
          NetworkFunction(
            address: address, interfaces: try sysfs.interfaces(address),
            driver: try sysfs.driver(address)))
        continue
      }
      var vfs: [VirtualFunction] = []
      for (index, vfAddress) in try sysfs.virtualFunctionLinks(address) {
        vfs.append(
          VirtualFunction(
            index: index, address: vfAddress, interface: try sysfs.interfaces(vfAddress).first,
            driver: try sysfs.driver(vfAddress), iommuGroup: try sysfs.iommuGroup(vfAddress)))
      }
      // The VF device ID: the kernel's attribute, else config space, else a VF that exists.
      let firstVF = vfs.first.flatMap { vf in bus.functions.first { $0.address == vf.address } }
      let vfDeviceID = sriov?.vfDeviceID ?? capability?.vfDeviceID ?? firstVF?.deviceID
      pfs.append(
        PhysicalFunction(
          address: address,
          interfaces: try sysfs.interfaces(address),
          vendorID: function.vendorID,
          deviceID: function.deviceID,
          vendorName: names ? bus.vendorName(function.vendorID) : nil,
          deviceName: names ? bus.deviceName(vendor: function.vendorID, device: function.deviceID) : nil,
          driver: try sysfs.driver(address),
          numaNode: try sysfs.numaNode(address),
          iommuGroup: try sysfs.iommuGroup(address),
          // Without the kernel's attributes (TotalVFs 0 in config space: the kernel then sets up
          // no SR-IOV at all) the device's own figure is the truth.
          totalVFs: sriov?.totalVFs ?? capability?.totalVFs ?? 0,
          deviceTotalVFs: capability?.totalVFs,
          numVFs: sriov?.numVFs ?? 0,
          vfDeviceID: vfDeviceID,
          driversAutoprobe: sriov?.driversAutoprobe,
          vfs: vfs))
    }
    return Inventory(
      physicalFunctions: pfs, otherNetworkFunctions: others, otherFunctions: otherFunctions)
  }

  /// The PFs the selectors name, in PCI address order, each once; all PFs for no selectors.
  ///
  /// - Throws: ``SelectionError`` naming the selector that matched no PF, with what it is instead
  ///   when that can be told (a VF, a NIC without SR-IOV, a non-PCI interface) and the candidates.
  public func select(_ selectors: [PFSelector], root: HostRoot) throws -> [PhysicalFunction] {
    guard !selectors.isEmpty else { return physicalFunctions }
    var chosen = Set<PCIAddress>()
    for selector in selectors {
      if let pf = physicalFunctions.first(where: { selector.matches($0.address, $0.interfaces) }) {
        chosen.insert(pf.address)
        continue
      }
      throw explainMiss(selector, root: root)
    }
    return physicalFunctions.filter { chosen.contains($0.address) }
  }

  private func explainMiss(_ selector: PFSelector, root: HostRoot) -> SelectionError {
    let candidates = physicalFunctions.map { pf in
      pf.interfaces.isEmpty
        ? pf.address.description : "\(pf.address) (\(pf.interfaces.joined(separator: ", ")))"
    }
    for pf in physicalFunctions {
      if let vf = pf.vfs.first(where: { vf in
        selector.matches(vf.address, vf.interface.map { [$0] } ?? [])
      }) {
        return .virtualFunction(selector, vf: vf.address, pf: pf.address, candidates: candidates)
      }
    }
    if let other = otherNetworkFunctions.first(where: { selector.matches($0.address, $0.interfaces) }
    ) {
      return .noSRIOV(selector, address: other.address, driver: other.driver, candidates: candidates)
    }
    if case .address(let address) = selector, let kind = otherFunctions[address] {
      return .notNetwork(selector, kind: kind, candidates: candidates)
    }
    if case .interface(let name) = selector, root.exists("/sys/class/net/\(name)") {
      return .notPCI(selector, candidates: candidates)
    }
    return .noMatch(selector, candidates: candidates)
  }
}

/// A command-line reference to a PF: its interface name or its PCI address.
public enum PFSelector: Hashable, Sendable, CustomStringConvertible {
  case address(PCIAddress)
  case interface(InterfaceName)

  /// Parses a PCI address (`0000:3b:00.0` or `3b:00.0`) or, failing that, an interface name.
  public init?(_ text: String) {
    if let address = PCIAddress(text) {
      self = .address(address)
    } else if let name = InterfaceName(text) {
      self = .interface(name)
    } else {
      return nil
    }
  }

  public var description: String {
    switch self {
    case .address(let address): return address.description
    case .interface(let name): return name.description
    }
  }

  func matches(_ address: PCIAddress, _ interfaces: [String]) -> Bool {
    switch self {
    case .address(let wanted): return wanted == address
    case .interface(let name): return interfaces.contains(name.description)
    }
  }
}

/// A PF argument that names no SR-IOV physical function.
public enum SelectionError: Error, Equatable, CustomStringConvertible {
  case noMatch(PFSelector, candidates: [String])
  case virtualFunction(PFSelector, vf: PCIAddress, pf: PCIAddress, candidates: [String])
  case noSRIOV(PFSelector, address: PCIAddress, driver: String?, candidates: [String])
  case notPCI(PFSelector, candidates: [String])
  case notNetwork(PFSelector, kind: String, candidates: [String])

  public var description: String {
    switch self {
    case .noMatch(let selector, let candidates):
      let what: String
      switch selector {
      case .address: what = "no PCI function \(selector) exists"
      case .interface: what = "no network interface '\(selector)' exists"
      }
      return "\(what); \(SelectionError.listing(candidates))"
    case .virtualFunction(let selector, let vf, let pf, let candidates):
      let subject = selector.description == vf.description ? "\(vf)" : "'\(selector)' (\(vf))"
      return "\(subject) is a virtual function of \(pf), not a physical function; "
        + SelectionError.listing(candidates)
    case .noSRIOV(let selector, let address, let driver, let candidates):
      let bound = driver.map { ", driver \($0)" } ?? ""
      let subject =
        selector.description == address.description
        ? "\(address)\(bound.isEmpty ? "" : " (\(bound.dropFirst(2)))")"
        : "'\(selector)' (\(address)\(bound))"
      return "\(subject) has no SR-IOV capability; \(SelectionError.listing(candidates))"
    case .notNetwork(let selector, let kind, let candidates):
      return "\(selector) is not a network controller (\(kind)); "
        + SelectionError.listing(candidates)
    case .notPCI(let selector, let candidates):
      return "'\(selector)' is not a PCI network function (a virtual or software interface); "
        + SelectionError.listing(candidates)
    }
  }

  private static func listing(_ candidates: [String]) -> String {
    candidates.isEmpty
      ? "this host has no SR-IOV physical functions"
      : "SR-IOV physical functions here: " + candidates.joined(separator: ", ")
  }
}
