import SRIOVKit

/// A machine described as data and written out as the tree a program sees beneath `--root`:
/// sysfs in `sys/`, procfs in `proc/`, the kernel log in `dev/kmsg`, and `etc/` and `run/`.
///
/// PCI functions sit below root ports at the paths the kernel uses
/// (`sys/devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0`), with every sysfs link relative, as
/// the kernel writes them, so the tree can be moved or read through `HostRoot`. Root ports are
/// added for the `upstreamPort`s functions name. The attributes follow
/// Documentation/ABI/testing/sysfs-bus-pci and sysfs-class-net; in particular a function whose
/// SR-IOV capability advertises TotalVFs 0 gets no `sriov_*` attributes, as `sriov_init()` in
/// drivers/pci/iov.c returns before creating them.
///
/// ```swift
/// var host = FixtureHost(cpu: .xeon, kernelCommandLine: "intel_iommu=on", iommu: .intel)
/// try host.addPhysicalFunction(pf, vfDriver: "iavf") { index in
///   try .init(name: "ens1f0v\(index)", mac: vfMAC + index)
/// }
/// try host.write(to: "/tmp/host")
/// ```
public struct FixtureHost: Sendable {
  /// One PCI function and the kernel state around it.
  public struct Function: Sendable {
    public var address: PCIAddress
    public var config: PCIConfigSpace
    /// The root port above the function; `nil` places it on the host bridge, as an integrated
    /// device.
    public var upstreamPort: PCIAddress?
    /// The bound driver, or `nil` for none.
    public var driver: String?
    public var interfaces: [NetworkInterface]
    /// `nil` when the platform reports none (`numa_node` shows -1).
    public var numaNode: Int?
    /// The legacy interrupt line (`irq`); 0 for VFs.
    public var irq: Int
    /// The IOMMU group; `nil` picks the next unused number when the host has an IOMMU.
    public var iommuGroup: Int?
    /// `sriov_totalvfs` when the driver allows fewer VFs than the capability's TotalVFs
    /// (`pci_sriov_set_totalvfs()`).
    public var driverTotalVFs: Int?
    /// `sriov_drivers_autoprobe`.
    public var sriovDriversAutoprobe: Bool
    /// For a VF, its PF; `config.kind` must then be `.virtualFunction`.
    public var physicalFunction: PCIAddress?

    public init(
      address: PCIAddress, config: PCIConfigSpace, upstreamPort: PCIAddress? = nil,
      driver: String? = nil, interfaces: [NetworkInterface] = [], numaNode: Int? = nil,
      irq: Int = 0, iommuGroup: Int? = nil, driverTotalVFs: Int? = nil,
      sriovDriversAutoprobe: Bool = true, physicalFunction: PCIAddress? = nil
    ) {
      self.address = address
      self.config = config
      self.upstreamPort = upstreamPort
      self.driver = driver
      self.interfaces = interfaces
      self.numaNode = numaNode
      self.irq = irq
      self.iommuGroup = iommuGroup
      self.driverTotalVFs = driverTotalVFs
      self.sriovDriversAutoprobe = sriovDriversAutoprobe
      self.physicalFunction = physicalFunction
    }
  }

  /// A network interface of a function (`DEVICE/net/NAME`, linked from `/sys/class/net`).
  public struct NetworkInterface: Sendable {
    public var name: InterfaceName
    public var mac: MACAddress
    public var mtu: Int
    /// `operstate` up with `carrier` 1, or down with no readable carrier.
    public var isUp: Bool
    /// `addr_assign_type`: 0 permanent, 1 random, 3 set by user space.
    public var addressAssignType: Int
    /// `phys_port_name`, as mlx5 reports `p0` (which udev turns into the `np0` suffix).
    public var physicalPortName: String?

    /// - Throws: ``FixtureError/invalid(_:)`` when `name` is not a valid interface name.
    public init(
      name: String, mac: MACAddress, mtu: Int = 1500, isUp: Bool = true, addressAssignType: Int = 0,
      physicalPortName: String? = nil
    ) throws {
      guard let valid = InterfaceName(name) else {
        throw FixtureError.invalid("'\(name)' is not an interface name")
      }
      self.name = valid
      self.mac = mac
      self.mtu = mtu
      self.isUp = isUp
      self.addressAssignType = addressAssignType
      self.physicalPortName = physicalPortName
    }
  }

  /// A 48-bit Ethernet address; adding an integer counts up from it.
  public struct MACAddress: Sendable, Equatable, CustomStringConvertible {
    public let value: UInt64

    public init(_ value: UInt64) {
      self.value = value & 0xffff_ffff_ffff
    }

    /// `3c:fd:fe:9e:a0:00`.
    public var description: String {
      stride(from: 40, through: 0, by: -8).map {
        hex(UInt8(truncatingIfNeeded: value >> $0), width: 2)
      }
      .joined(separator: ":")
    }

    public static func + (mac: MACAddress, offset: Int) -> MACAddress {
      MACAddress(mac.value &+ UInt64(offset))
    }
  }

  /// The processors, for `/proc/cpuinfo`, NUMA nodes and `local_cpulist`.
  public struct CPU: Sendable {
    /// `vendor_id`: GenuineIntel or AuthenticAMD.
    public var vendor: String
    public var modelName: String
    public var family: Int
    public var model: Int
    /// Logical processors, spread evenly over the NUMA nodes.
    public var processors: Int
    public var numaNodes: Int
    public var flags: [String]

    public init(
      vendor: String, modelName: String, family: Int, model: Int, processors: Int, numaNodes: Int,
      flags: [String]
    ) {
      self.vendor = vendor
      self.modelName = modelName
      self.family = family
      self.model = model
      self.processors = processors
      self.numaNodes = numaNodes
      self.flags = flags
    }

    static let commonFlags =
      "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht syscall nx pdpe1gb rdtscp lm constant_tsc nopl xtopology cpuid pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt aes xsave avx f16c rdrand lahf_lm abm 3dnowprefetch avx2 bmi1 bmi2 smep erms"
      .split(separator: " ").map(String.init)

    /// A two-socket Xeon with VT-x (`vmx`), 16 threads.
    public static let xeon = CPU(
      vendor: "GenuineIntel", modelName: "Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz", family: 6,
      model: 85, processors: 16, numaNodes: 2, flags: commonFlags + ["vmx", "avx512f"])
    /// A two-socket EPYC with AMD-V (`svm`), 16 threads.
    public static let epyc = CPU(
      vendor: "AuthenticAMD", modelName: "AMD EPYC 7302 16-Core Processor", family: 23, model: 49,
      processors: 16, numaNodes: 2, flags: commonFlags + ["svm", "sme"])
    /// A QEMU guest's processors: one node, no virtualization extensions.
    public static let qemu = CPU(
      vendor: "GenuineIntel", modelName: "QEMU Virtual CPU version 2.5+", family: 6, model: 6,
      processors: 2, numaNodes: 1, flags: commonFlags + ["hypervisor"])
  }

  /// An active IOMMU: its `/sys/class/iommu` entry and the ACPI table that describes it.
  public struct IOMMU: Sendable {
    /// `dmar0` or `ivhd0`.
    public var name: String
    /// `DMAR` (Intel VT-d) or `IVRS` (AMD-Vi), under `/sys/firmware/acpi/tables`.
    public var acpiTable: String
    /// The groups' `type`: `identity` with `iommu=pt`, else `DMA` or `DMA-FQ`.
    public var domainType: String

    public init(name: String, acpiTable: String, domainType: String) {
      self.name = name
      self.acpiTable = acpiTable
      self.domainType = domainType
    }

    public static let intel = IOMMU(name: "dmar0", acpiTable: "DMAR", domainType: "identity")
    public static let amd = IOMMU(name: "ivhd0", acpiTable: "IVRS", domainType: "identity")
  }

  /// A kernel log record; a string literal is an informational (level 6) message.
  public struct KernelMessage: Sendable, ExpressibleByStringLiteral {
    /// syslog level, 0 (emergency) to 7 (debug).
    public var level: Int
    public var text: String

    public init(level: Int = 6, _ text: String) {
      self.level = level
      self.text = text
    }

    public init(stringLiteral text: String) {
      self.init(text)
    }
  }

  public var hostname: String
  public var cpu: CPU
  /// `/proc/cmdline`, without the trailing newline.
  public var kernelCommandLine: String
  /// `nil` for a host without an active IOMMU: no groups, nothing in `/sys/class/iommu`.
  public var iommu: IOMMU?
  /// `/dev/kmsg`, oldest first.
  public var kernelLog: [KernelMessage]
  /// The functions, in any order; root ports named as `upstreamPort` are added when written.
  public var functions: [Function]
  /// The kernel release (`/proc/sys/kernel/osrelease`, `uname -r`).
  public var kernelRelease: String = "6.1.0-31-amd64"
  /// The kernel's modules in `/lib/modules/RELEASE`, or `nil` for a host without that directory.
  public var kernelModules: [KernelModule]?
  /// Reserved huge pages: page size in KiB -> pages per NUMA node (index = node). Written to
  /// `/sys/kernel/mm/hugepages/hugepages-SIZEkB` (the sums) and each node's `hugepages` directory,
  /// every page free. Empty: the directories exist with no pages reserved.
  public var hugepages: [Int: [Int]] = [:]
  /// Character devices the host has, written as the kernel registers them (`/sys/class/misc/NAME/dev`)
  /// and, when `nodes` is set, as device nodes under `/dev` (mknod: needs root).
  public var miscDevices: [MiscDevice] = []
  public var deviceNodes = true

  /// A misc character device: vfio (10:196), vhost-net (10:238), tun (10:200).
  public struct MiscDevice: Sendable {
    public var name: String
    public var path: String
    public var minor: UInt32
    public init(name: String, path: String, minor: UInt32) {
      (self.name, self.path, self.minor) = (name, path, minor)
    }
    public static let vfio = MiscDevice(name: "vfio", path: "/dev/vfio/vfio", minor: 196)
    public static let vhostNet = MiscDevice(name: "vhost-net", path: "/dev/vhost-net", minor: 238)
    public static let tun = MiscDevice(name: "tun", path: "/dev/net/tun", minor: 200)
  }

  /// How many bytes of each function's `config` are readable, as the kernel shows them to the
  /// user reading them: `nil` for all of it (root), 64 for anyone else (the standard header only;
  /// no capability list, so no SR-IOV capability).
  public var readableConfigBytes: Int?
  /// The vendor and device ID of the root ports written for `upstreamPort`s.
  public var rootPortVendorID: UInt16
  public var rootPortDeviceID: UInt16

  public init(
    hostname: String = "fixture", cpu: CPU, kernelCommandLine: String, iommu: IOMMU? = nil,
    kernelLog: [KernelMessage] = [], rootPortVendorID: UInt16 = 0x8086,
    rootPortDeviceID: UInt16 = 0x2030
  ) {
    self.hostname = hostname
    self.cpu = cpu
    self.kernelCommandLine = kernelCommandLine
    self.iommu = iommu
    self.kernelLog = kernelLog
    self.functions = []
    self.rootPortVendorID = rootPortVendorID
    self.rootPortDeviceID = rootPortDeviceID
  }

  /// Adds a function as it is.
  public mutating func add(_ function: Function) {
    functions.append(function)
  }

  /// Adds a PF and the VFs its SR-IOV capability has enabled (NumVFs), at the addresses First VF
  /// Offset and VF Stride give, each beside the PF with the PF's NUMA node.
  ///
  /// - Parameters:
  ///   - vfDriver: the driver bound to each VF, or `nil` to leave them unbound.
  ///   - vfInterface: the network interface of VF `index`, or `nil` for none.
  /// - Returns: the VFs' addresses, VF 0 first.
  /// - Throws: ``FixtureError/invalid(_:)`` when the PF has no SR-IOV capability or a VF would
  ///   lie past bus ff.
  @discardableResult
  public mutating func addPhysicalFunction(
    _ pf: Function, vfDriver: String?, vfInterface: (_ index: Int) throws -> NetworkInterface?
  ) throws -> [PCIAddress] {
    guard let sriov = pf.config.sriov else {
      throw FixtureError.invalid("\(pf.address) has no SR-IOV capability")
    }
    functions.append(pf)
    var addresses: [PCIAddress] = []
    for index in 0..<sriov.numVFs {
      let address = try sriov.virtualFunctionAddress(index, of: pf.address)
      functions.append(
        Function(
          address: address, config: try pf.config.virtualFunction(index),
          upstreamPort: pf.upstreamPort, driver: vfDriver,
          interfaces: try vfInterface(index).map { [$0] } ?? [], numaNode: pf.numaNode,
          physicalFunction: pf.address))
      addresses.append(address)
    }
    return addresses
  }
}
