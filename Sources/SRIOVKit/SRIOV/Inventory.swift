/// What a host has: its SR-IOV physical functions with their VFs, and the other network
/// functions (so that a PF argument naming one of those can be answered precisely).
///
/// Built from the kernel's sysfs attributes (Documentation/ABI/testing/sysfs-bus-pci: `class`,
/// `vendor`, `device`, `config`, `sriov_totalvfs`, `sriov_numvfs`, `sriov_vf_device`,
/// `sriov_drivers_autoprobe`, `virtfnN`, `physfn`), all read beneath the host root, and libpci
/// (capabilities and names) over the config bytes read there.
///
/// A function whose entry or attributes hold what the kernel would never write is not dropped
/// silently and does not fail the whole host: it is listed in ``malformed`` with the reasons.
public struct Inventory: Sendable {
  /// The SR-IOV PFs, sorted by PCI address.
  public var physicalFunctions: [PhysicalFunction]
  /// Network-class functions that are neither PFs nor VFs, sorted by PCI address.
  public var otherNetworkFunctions: [NetworkFunction]
  /// The class of every function that is not a network controller (a disk, a bridge), by address.
  public var otherFunctions: [PCIAddress: String]
  /// Entries of `/sys/bus/pci/devices` that could not be read as a function, and network
  /// functions (PFs among them) whose attributes could not be trusted, sorted by entry name.
  public var malformed: [MalformedFunction]

  /// A network-class PCI function without SR-IOV.
  public struct NetworkFunction: Sendable, Equatable {
    public var address: PCIAddress
    public var interfaces: [String]
    public var driver: String?
    /// Its PCI vendor and device IDs, `nil` when sysfs does not say (the device plugin matches
    /// them).
    public var vendorID: UInt16? = nil
    public var deviceID: UInt16? = nil
    /// How many bytes of its `config` could be read, when too few to see its capabilities (the
    /// kernel shows 64 to anyone but root): whether it has SR-IOV is then unknown, unless the
    /// kernel set SR-IOV up for it. `nil` when the whole configuration space was read.
    public var readableConfigBytes: Int? = nil

    /// Whether it has SR-IOV could not be told from what was readable.
    public var sriovUnknown: Bool { readableConfigBytes != nil }

    /// `{"pci_address", "interfaces", "driver", "reason"}`, for `list`'s "unknown".
    public var unknownJSON: JSON {
      .object([
        ("pci_address", .string(address.description)), ("interfaces", .array(interfaces.map(JSON.string))),
        ("driver", .string(driver)), ("reason", .string(sriovUnknownReason)),
      ])
    }

    /// Why its SR-IOV is unknown, for `list` and `check`.
    public var sriovUnknownReason: String? {
      readableConfigBytes.map {
        "only \($0) bytes of its PCI configuration space are readable, and the SR-IOV capability lies beyond "
          + "them (the kernel shows the whole space to root only)"
      }
    }
  }

  public init(
    physicalFunctions: [PhysicalFunction], otherNetworkFunctions: [NetworkFunction],
    otherFunctions: [PCIAddress: String] = [:], malformed: [MalformedFunction] = []
  ) {
    self.physicalFunctions = physicalFunctions
    self.otherNetworkFunctions = otherNetworkFunctions
    self.otherFunctions = otherFunctions
    self.malformed = malformed
  }

  /// Reads the host beneath `root`. Vendor and device names come from pci.ids, which takes a
  /// parse of the whole database: callers that print no names pass `names: false`.
  ///
  /// - Throws: ``HostError`` only when `/sys/bus/pci/devices` itself cannot be read; anything
  ///   wrong with one function lands in ``malformed``.
  public static func discover(root: HostRoot, names: Bool = true) throws -> Inventory {
    let sysfs = PCIDeviceAttributes(root: root)
    guard root.isDirectory(PCIDeviceAttributes.devicesDirectory) else {
      throw HostError.pciScanFailed(
        "\(root.resolve(PCIDeviceAttributes.devicesDirectory)) does not exist (is sysfs mounted?)")
    }
    var malformed: [MalformedFunction] = []
    var otherClasses: [PCIAddress: UInt16] = [:]
    // Network functions that are not VFs: PFs, or NICs without SR-IOV.
    var candidates: [PCIAddress] = []
    for name in try sysfs.entries() {
      guard let address = PCIAddress(sysfsName: name) else {
        malformed.append(
          MalformedFunction(
            entry: HostError.quoted(name), address: nil,
            problems: [
              "not a PCI function: the kernel names each entry DDDD:BB:DD.F (device 00-1f, function 0-7)"
            ]))
        continue
      }
      do {
        guard let classCode = try sysfs.classCode(address) else {
          throw FunctionProblem(
            root.isDirectory(sysfs.directory(address))
              ? "it has no class attribute"
              : "no such function directory (a dangling link, or one that leaves the root)")
        }
        guard classCode >> 16 == 0x02 else {
          otherClasses[address] = UInt16(classCode >> 8)
          continue
        }
        if try sysfs.isVirtualFunction(address) { continue }
        candidates.append(address)
      } catch {
        malformed.append(MalformedFunction(entry: name, address: address, problems: ["\(error)"]))
      }
    }

    // Config space only where a capability walk is needed.
    var configs: [PCIAddress: [UInt8]] = [:]
    var unreadableConfig: [PCIAddress: String] = [:]
    for address in candidates {
      do {
        configs[address] = try sysfs.config(address)
      } catch {
        unreadableConfig[address] = "\(error)"
      }
    }
    let bus = try PCIBus(configs: configs)

    var pfs: [PhysicalFunction] = []
    var others: [NetworkFunction] = []
    for address in candidates {
      var problems = unreadableConfig[address].map { [$0] } ?? []
      func attempt<T>(_ read: () throws -> T) -> T? {
        do { return try read() } catch {
          problems.append("\(error)")
          return nil
        }
      }
      let capability = attempt { try bus.sriovCapability(of: address) } ?? nil
      let sriov =
        attempt { try sysfs.sriovState(address, deviceTotalVFs: capability?.totalVFs) } ?? nil
      let interfaces = attempt { try sysfs.interfaces(address) } ?? []
      let driver = attempt { try sysfs.driver(address) } ?? nil
      guard capability != nil || sriov != nil || !problems.isEmpty else {
        // SR-IOV is a PCI Express extended capability, at offset 256 or beyond: shorter config
        // space (64 bytes for a user who is not root) cannot show it.
        let readable = configs[address].map(\.count).flatMap { $0 < PCIBus.standardConfigSize ? $0 : nil }
        others.append(
          NetworkFunction(
            address: address, interfaces: interfaces, driver: driver,
            vendorID: (try? sysfs.identifier(address, "vendor")) ?? nil,
            deviceID: (try? sysfs.identifier(address, "device")) ?? nil, readableConfigBytes: readable))
        continue
      }
      let vendorID = attempt { try sysfs.identifier(address, "vendor") } ?? nil
      let deviceID = attempt { try sysfs.identifier(address, "device") } ?? nil
      for (name, id) in [("vendor", vendorID), ("device", deviceID)] where id == nil && problems.isEmpty {
        problems.append("it has no \(name) attribute")
      }
      let numaNode = attempt { try sysfs.numaNode(address) } ?? nil
      let iommuGroup = attempt { try sysfs.iommuGroup(address) } ?? nil
      // Without the kernel's attributes (TotalVFs 0 in config space: the kernel then sets up
      // no SR-IOV at all) the device's own figure is the truth.
      let totalVFs = sriov?.totalVFs ?? capability?.totalVFs ?? 0
      var vfs: [VirtualFunction] = []
      // A total already found wrong bounds nothing: the links are then checked only for form.
      let linkBound = problems.isEmpty ? totalVFs : PCIDeviceAttributes.maximumVFs
      for (index, vfAddress) in attempt({ try sysfs.virtualFunctionLinks(address, totalVFs: linkBound) }) ?? [] {
        vfs.append(
          VirtualFunction(
            index: index, address: vfAddress,
            interface: attempt { try sysfs.interfaces(vfAddress).first } ?? nil,
            driver: attempt { try sysfs.driver(vfAddress) } ?? nil,
            iommuGroup: attempt { try sysfs.iommuGroup(vfAddress) } ?? nil))
      }
      guard problems.isEmpty, let vendorID, let deviceID else {
        malformed.append(
          MalformedFunction(
            entry: address.description, address: address, interfaces: interfaces, isNetworkFunction: true,
            problems: problems))
        continue
      }
      // The VF device ID: the kernel's attribute, else config space, else a VF that exists.
      let vfDeviceID =
        sriov?.vfDeviceID ?? capability?.vfDeviceID
        ?? vfs.first.flatMap { vf in (try? sysfs.identifier(vf.address, "device")) ?? nil }
      pfs.append(
        PhysicalFunction(
          address: address,
          interfaces: interfaces,
          vendorID: vendorID,
          deviceID: deviceID,
          vendorName: names ? bus.vendorName(vendorID) : nil,
          deviceName: names ? bus.deviceName(vendor: vendorID, device: deviceID) : nil,
          driver: driver,
          numaNode: numaNode,
          iommuGroup: iommuGroup,
          totalVFs: totalVFs,
          deviceTotalVFs: capability?.totalVFs,
          numVFs: sriov?.numVFs ?? 0,
          vfDeviceID: vfDeviceID,
          driversAutoprobe: sriov?.driversAutoprobe,
          vfs: vfs))
    }
    var otherFunctions: [PCIAddress: String] = [:]
    for (address, classCode) in otherClasses {
      let hex = "0x" + classCode.pciID
      otherFunctions[address] =
        (names ? bus.className(classCode) : nil).map { "\($0), class \(hex)" } ?? "class \(hex)"
    }
    return Inventory(
      physicalFunctions: pfs.sorted { $0.address < $1.address },
      otherNetworkFunctions: others.sorted { $0.address < $1.address },
      otherFunctions: otherFunctions, malformed: malformed.sorted { $0.entry < $1.entry })
  }

  /// Throws for the first network function (a PF, or a NIC whose SR-IOV could not be told) whose
  /// sysfs data is malformed: for commands that act on every PF, which must not leave one out
  /// silently.
  public func requireReadable() throws {
    if let bad = malformed.first(where: \.isNetworkFunction) { throw bad }
  }

  /// The PFs the selectors name, in PCI address order, each once, and the malformed functions
  /// they name; all of both for no selectors.
  ///
  /// - Throws: ``SelectionError`` for a selector that names neither (see ``select(_:root:)``).
  public func selection(_ selectors: [PFSelector], root: HostRoot) throws -> (
    pfs: [PhysicalFunction], malformed: [MalformedFunction]
  ) {
    guard !selectors.isEmpty else { return (physicalFunctions, malformed) }
    var chosen = Set<PCIAddress>()
    var chosenMalformed = Set<String>()
    for selector in selectors {
      if let pf = physicalFunctions.first(where: { selector.matches($0.address, $0.interfaces) }) {
        chosen.insert(pf.address)
      } else if let bad = malformed.first(where: { $0.isNamed(by: selector) }) {
        chosenMalformed.insert(bad.entry)
      } else {
        throw explainMiss(selector, root: root)
      }
    }
    return (
      physicalFunctions.filter { chosen.contains($0.address) },
      malformed.filter { chosenMalformed.contains($0.entry) }
    )
  }

  /// The PFs the selectors name, in PCI address order, each once; all PFs for no selectors.
  ///
  /// - Throws: ``SelectionError`` naming the selector that matched no PF, with what it is instead
  ///   when that can be told (a VF, a NIC without SR-IOV, a non-PCI interface) and the candidates.
  ///   A selector naming a PF whose attributes are malformed throws
  ///   ``SelectionError/malformed(_:entry:problems:)``: nothing may act on a PF it cannot read.
  public func select(_ selectors: [PFSelector], root: HostRoot) throws -> [PhysicalFunction] {
    let chosen = try selection(selectors, root: root)
    if let bad = chosen.malformed.first, let selector = selectors.first(where: { bad.isNamed(by: $0) }) {
      throw SelectionError.malformed(selector, entry: bad.entry, problems: bad.problems)
    }
    return chosen.pfs
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
      if let reason = other.sriovUnknownReason {
        return .sriovUnknown(selector, address: other.address, reason: reason)
      }
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
  /// The selector names a NIC whose capabilities could not be read (not root).
  case sriovUnknown(PFSelector, address: PCIAddress, reason: String)
  case notPCI(PFSelector, candidates: [String])
  case notNetwork(PFSelector, kind: String, candidates: [String])
  /// The selector names a function whose sysfs data is malformed.
  case malformed(PFSelector, entry: String, problems: [String])

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
    case .sriovUnknown(let selector, let address, let reason):
      let subject = selector.description == address.description ? "\(address)" : "'\(selector)' (\(address))"
      return "cannot tell whether \(subject) has SR-IOV: \(reason); run sriovctl as root"
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
    case .malformed(let selector, let entry, let problems):
      let subject = selector.description == entry ? entry : "'\(selector)' (\(entry))"
      return "\(subject) cannot be used: " + problems.joined(separator: "; ")
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

/// A `/sys/bus/pci/devices` entry sriovctl could not use: a name that is no PCI address, or a
/// function whose attributes hold what the kernel would never write (a negative
/// `sriov_totalvfs`, `sriov_numvfs` above it, a `virtfn-1` link, config space cut short).
public struct MalformedFunction: Sendable, Equatable, JSONRepresentable {
  /// The entry's name in `/sys/bus/pci/devices`.
  public var entry: String
  /// Its address, when the name is one.
  public var address: PCIAddress?
  /// Its network interfaces, as far as they could be read.
  public var interfaces: [String]
  /// Whether it is known to be a network function that is not a VF (a PF, or a NIC whose SR-IOV
  /// could not be told); `false` when not even its class could be read.
  public var isNetworkFunction: Bool
  /// What is wrong, one line each.
  public var problems: [String]

  public init(
    entry: String, address: PCIAddress?, interfaces: [String] = [], isNetworkFunction: Bool = false,
    problems: [String]
  ) {
    self.entry = entry
    self.address = address
    self.interfaces = interfaces
    self.isNetworkFunction = isNetworkFunction
    self.problems = problems
  }

  func isNamed(by selector: PFSelector) -> Bool {
    switch selector {
    case .address(let wanted): return address == wanted
    case .interface(let name): return interfaces.contains(name.description)
    }
  }

  public var json: JSON {
    .object([
      ("entry", .string(entry)),
      ("pci_address", .string(address?.description)),
      ("interfaces", .array(interfaces.map(JSON.string))),
      ("problems", .array(problems.map(JSON.string))),
    ])
  }
}

extension MalformedFunction: Error, CustomStringConvertible {
  /// `0000:3b:00.1 cannot be used: sriov_totalvfs holds '-5', expected ...`
  public var description: String {
    "\(entry) cannot be used: " + problems.joined(separator: "; ")
  }
}
