import CLibPCI
import Glibc

/// One PCI function as libpci reports it.
public struct PCIFunction: Sendable, Equatable {
  public var address: PCIAddress
  public var vendorID: UInt16
  public var deviceID: UInt16
  /// Base class and subclass, as in `0x0200` for an Ethernet controller.
  public var classCode: UInt16

  /// Whether the function is a network controller (PCI base class 0x02).
  public var isNetworkController: Bool { classCode >> 8 == 0x02 }
}

/// The SR-IOV extended capability of a function (PCIe base spec, "SR-IOV Extended Capability").
public struct SRIOVCapability: Sendable, Equatable {
  /// The capability's offset in config space.
  public var offset: Int
  /// TotalVFs as the device advertises it; the driver may allow fewer (`sriov_totalvfs`).
  public var totalVFs: Int
  /// The device ID every VF of this PF reports.
  public var vfDeviceID: UInt16
}

/// libpci, reading the PCI bus of a host root: `ROOT/sys/bus/pci` through its `linux-sysfs`
/// method, the same way `lspci -A linux-sysfs -O sysfs.path=ROOT/sys/bus/pci` does.
///
/// This is the only file that talks to libpci. Its fatal-error callback is trapped by the shim, so
/// a malformed tree or a function that disappears during the scan becomes a thrown error.
public final class PCIBus {
  private let access: UnsafeMutablePointer<pci_access>
  private var devices: [PCIAddress: UnsafeMutablePointer<pci_dev>] = [:]
  /// Every function on the bus, sorted by address.
  public private(set) var functions: [PCIFunction] = []

  /// Scans the bus beneath `root`.
  ///
  /// - Throws: ``HostError/pciScanFailed(_:)`` when libpci cannot read the tree.
  public init(root: HostRoot) throws {
    let sysfsPath = root.resolve("/sys/bus/pci")
    guard root.isDirectory("/sys/bus/pci/devices") else {
      throw HostError.pciScanFailed("\(sysfsPath)/devices does not exist (is sysfs mounted?)")
    }
    guard let access = sriovctl_pci_alloc() else {
      throw HostError.pciScanFailed("libpci could not allocate its state")
    }
    // From here on deinit releases libpci's state, also when init throws.
    self.access = access
    access.pointee.method = UInt32(PCI_ACCESS_SYS_BUS_PCI.rawValue)
    // Names come from pci.ids only, so the same tree gives the same names on every machine.
    access.pointee.id_lookup_mode = UInt32(PCI_LOOKUP_NO_HWDB.rawValue)
    // pci_set_param() copies both strings.
    var name = Array("sysfs.path".utf8CString)
    var value = Array(sysfsPath.utf8CString)
    _ = pci_set_param(access, &name, &value)
    guard sriovctl_pci_init_and_scan(access) == 0 else {
      throw HostError.pciScanFailed(String(cString: sriovctl_pci_last_error()))
    }
    var device = access.pointee.devices
    while let d = device {
      let known = sriovctl_pci_fill_info(d, Int32(PCI_FILL_IDENT | PCI_FILL_CLASS))
      if known < 0 {
        throw HostError.pciScanFailed(String(cString: sriovctl_pci_last_error()))
      }
      let address = PCIAddress(
        domain: UInt32(truncatingIfNeeded: d.pointee.domain), bus: d.pointee.bus,
        device: d.pointee.dev, function: d.pointee.func)
      devices[address] = d
      functions.append(
        PCIFunction(
          address: address, vendorID: d.pointee.vendor_id, deviceID: d.pointee.device_id,
          classCode: d.pointee.device_class))
      device = d.pointee.next
    }
    functions.sort { $0.address < $1.address }
  }

  deinit {
    pci_cleanup(access)
  }

  /// The SR-IOV capability in a function's config space.
  ///
  /// - Returns: `nil` when the function has none, or when its extended config space cannot be read
  ///   (a non-root reader of a live system gets only 64 bytes); callers then fall back to the
  ///   kernel's `sriov_*` attributes.
  public func sriovCapability(of address: PCIAddress) throws -> SRIOVCapability? {
    guard let d = devices[address] else { return nil }
    let offset = Int(sriovctl_pci_sriov_offset(d))
    if offset < 0 {
      throw HostError.pciScanFailed(
        "reading the capabilities of \(address): \(String(cString: sriovctl_pci_last_error()))")
    }
    guard offset > 0 else { return nil }
    // Offsets within the capability: TotalVFs at 0x0e, VF Device ID at 0x1a.
    let total = sriovctl_pci_read_word(d, Int32(offset + 0x0e))
    let vfDevice = sriovctl_pci_read_word(d, Int32(offset + 0x1a))
    guard total >= 0, vfDevice >= 0 else { return nil }
    return SRIOVCapability(offset: offset, totalVFs: Int(total), vfDeviceID: UInt16(vfDevice))
  }

  /// The class's name in pci.ids ("Ethernet controller", "Non-Volatile memory controller"), or
  /// `nil` when the database does not know it.
  public func className(_ classCode: UInt16) -> String? {
    var buffer = [CChar](repeating: 0, count: 256)
    guard let name = sriovctl_pci_class_name(access, &buffer, Int32(buffer.count), Int32(classCode))
    else { return nil }
    return String(cString: name)
  }

  /// The vendor's name in pci.ids, or `nil` when the database does not know it.
  public func vendorName(_ vendor: UInt16) -> String? {
    var buffer = [CChar](repeating: 0, count: 256)
    guard let name = sriovctl_pci_vendor_name(access, &buffer, Int32(buffer.count), Int32(vendor))
    else { return nil }
    return String(cString: name)
  }

  /// The device's name in pci.ids, or `nil` when the database does not know it.
  public func deviceName(vendor: UInt16, device: UInt16) -> String? {
    var buffer = [CChar](repeating: 0, count: 256)
    guard
      let name = sriovctl_pci_device_name(
        access, &buffer, Int32(buffer.count), Int32(vendor), Int32(device))
    else { return nil }
    return String(cString: name)
  }
}
