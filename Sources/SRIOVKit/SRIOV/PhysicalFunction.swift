/// An SR-IOV physical function: a network-class PCI function with the SR-IOV capability.
public struct PhysicalFunction: Sendable, Equatable, JSONRepresentable {
  public var address: PCIAddress
  /// The PF's network interfaces (usually one), sorted.
  public var interfaces: [String]
  public var vendorID: UInt16
  public var deviceID: UInt16
  public var vendorName: String?
  public var deviceName: String?
  /// The bound driver, or `nil` when none is bound.
  public var driver: String?
  /// The NUMA node, or `nil` on a single-node machine (the kernel writes -1).
  public var numaNode: Int?
  /// The IOMMU group, or `nil` when no IOMMU is active.
  public var iommuGroup: Int?
  /// The number of VFs the driver allows (`sriov_totalvfs`). 0 when the device advertises none,
  /// which is how SR-IOV switched off in the BIOS or the NIC's firmware shows up.
  public var totalVFs: Int
  /// TotalVFs as the device's config space advertises it, when it could be read.
  public var deviceTotalVFs: Int?
  /// The number of VFs enabled now (`sriov_numvfs`).
  public var numVFs: Int
  /// The device ID of this PF's VFs.
  public var vfDeviceID: UInt16?
  /// Whether VFs are probed by their driver when created (`sriov_drivers_autoprobe`).
  public var driversAutoprobe: Bool?
  public var vfs: [VirtualFunction]

  /// Every name this PF answers to on the command line: its interfaces and its PCI address.
  public var names: [String] { interfaces + [address.description] }

  public var json: JSON {
    .object([
      ("pci_address", .string(address.description)),
      ("interfaces", .array(interfaces.map(JSON.string))),
      ("vendor_id", .string(vendorID.pciID)),
      ("device_id", .string(deviceID.pciID)),
      ("vendor_name", .string(vendorName)),
      ("device_name", .string(deviceName)),
      ("driver", .string(driver)),
      ("numa_node", .int(numaNode)),
      ("iommu_group", .int(iommuGroup)),
      ("total_vfs", .int(totalVFs)),
      ("device_total_vfs", .int(deviceTotalVFs)),
      ("num_vfs", .int(numVFs)),
      ("vf_device_id", .string(vfDeviceID?.pciID)),
      ("drivers_autoprobe", driversAutoprobe.map(JSON.bool) ?? .null),
      ("vfs", .array(vfs.map(\.json))),
    ])
  }
}

/// A virtual function of a PF, as the kernel lists it through the PF's `virtfnN` links.
public struct VirtualFunction: Sendable, Equatable, JSONRepresentable {
  /// N in `virtfnN`.
  public var index: Int
  public var address: PCIAddress
  /// The VF's network interface, or `nil` when no network driver is bound (vfio-pci, none).
  public var interface: String?
  public var driver: String?
  public var iommuGroup: Int?

  public var json: JSON {
    .object([
      ("index", .int(index)),
      ("pci_address", .string(address.description)),
      ("interface", .string(interface)),
      ("driver", .string(driver)),
      ("iommu_group", .int(iommuGroup)),
    ])
  }
}
