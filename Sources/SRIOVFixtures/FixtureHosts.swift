import SRIOVKit

/// Named machines for tests, demos and the benchmark. Each exists as a description, to adjust
/// before writing, and as `NAME(at:)`, which writes it into an empty or new directory and returns
/// the description.
public enum FixtureHosts {
  /// The names the `sriovctl-fixture` tool accepts.
  public static let names = ["x710", "connectx5-disabled", "no-sriov", "large"]

  /// An Intel host with VT-d on (`intel_iommu=on iommu=pt`) and:
  /// - a dual-port X710 (8086:1572, i40e) at 0000:3b:00.0 (`ens1f0`) and 0000:3b:00.1 (`ens1f1`),
  ///   NUMA node 0, TotalVFs 64, VF device 154c; port 0 has VFs 0000:3b:02.0-3 enabled (iavf,
  ///   `ens1f0v0`-`ens1f0v3`; First VF Offset 16, stride 1), port 1 none (offset 79, as on the real
  ///   card, so the two ports' VF routing IDs do not collide);
  /// - an NVMe controller (144d:a824, nvme) at 0000:5e:00.0 with SR-IOV (TotalVFs 32, none
  ///   enabled): SR-IOV but not a network function;
  /// - an I210 (8086:1533, igb, `eno1`) at 0000:04:00.0: a network function without SR-IOV.
  public static func x710() throws -> FixtureHost {
    var host = FixtureHost(
      hostname: "x710-host", cpu: .xeon,
      kernelCommandLine: commandLine("intel_iommu=on iommu=pt"), iommu: .intel)
    for port in 0..<2 {
      let base: UInt64 = 0x387f_0000_0000 + UInt64(port) * 0x0400_0000
      let config = PCIConfigSpace(
        vendorID: 0x8086, deviceID: 0x1572, classCode: 0x020000, revision: 0x02,
        subsystemVendorID: 0x8086, subsystemID: 0x0007,
        bars: [
          .init(index: 0, address: base, size: 0x100_0000),
          .init(index: 3, address: base + 0x100_0000, size: 0x8000),
        ],
        msix: .init(vectors: 129, bar: 3), link: .init(generation: 3, width: 8),
        serialNumber: 0x3cfd_feff_ff9e_a000, ariNextFunction: port == 0 ? 1 : 0,
        sriov: .init(
          totalVFs: 64, numVFs: port == 0 ? 4 : 0, firstVFOffset: port == 0 ? 16 : 79, vfStride: 1,
          vfDeviceID: 0x154c,
          vfBARs: [
            .init(index: 0, address: base + 0x200_0000, size: 0x1_0000),
            .init(index: 3, address: base + 0x280_0000, size: 0x4000),
          ],
          vfMSIX: .init(vectors: 5, bar: 3)))
      let pf = FixtureHost.Function(
        address: PCIAddress(bus: 0x3b, device: 0, function: UInt8(port))!, config: config,
        upstreamPort: PCIAddress(bus: 0x3a, device: 0, function: 0)!, driver: "i40e",
        interfaces: [try .init(name: "ens1f\(port)", mac: .init(0x3cfd_fe9e_a000) + port)],
        numaNode: 0, irq: 35 + port)
      try host.addPhysicalFunction(pf, vfDriver: "iavf") { index in
        try .init(name: "ens1f\(port)v\(index)", mac: .init(0x029e_a03b_0200) + (port << 8 | index))
      }
    }
    let nvme = PCIConfigSpace(
      vendorID: 0x144d, deviceID: 0xa824, classCode: 0x010802, subsystemVendorID: 0x144d,
      subsystemID: 0xa801,
      bars: [.init(index: 0, address: 0xc5e0_0000, size: 0x8000, isPrefetchable: false)],
      msix: .init(vectors: 64, bar: 0), link: .init(generation: 4, width: 4),
      serialNumber: 0x0025_3851_0170_1a2b,
      sriov: .init(
        totalVFs: 32, firstVFOffset: 1, vfStride: 1, vfDeviceID: 0xa824,
        vfBARs: [.init(index: 0, address: 0xc5f0_0000, size: 0x8000, isPrefetchable: false)],
        vfMSIX: .init(vectors: 4, bar: 0)))
    host.add(
      .init(
        address: PCIAddress(bus: 0x5e, device: 0, function: 0)!, config: nvme,
        upstreamPort: PCIAddress(bus: 0x5d, device: 0, function: 0)!, driver: "nvme", numaNode: 0,
        irq: 40))
    let i210 = PCIConfigSpace(
      vendorID: 0x8086, deviceID: 0x1533, classCode: 0x020000, revision: 0x03,
      subsystemVendorID: 0x15d9, subsystemID: 0x1533,
      bars: [
        .init(index: 0, address: 0xc7a0_0000, size: 0x2_0000, isPrefetchable: false),
        .init(index: 3, address: 0xc7a2_0000, size: 0x4000, isPrefetchable: false),
      ],
      msix: .init(vectors: 5, bar: 3), link: .init(generation: 1, width: 1))
    host.add(
      .init(
        address: PCIAddress(bus: 0x04, device: 0, function: 0)!, config: i210,
        upstreamPort: PCIAddress(bus: 0, device: 0x1c, function: 0)!, driver: "igb",
        interfaces: [try .init(name: "eno1", mac: .init(0xac1f_6b00_1a2b))], numaNode: 0, irq: 16))
    host.kernelLog = bootLog(
      host,
      [
        "DMAR: IOMMU enabled", "DMAR: Host address width 46",
        "DMAR-IR: Enabled IRQ remapping in x2apic mode",
        "iommu: Default domain type: Passthrough (set via kernel command line)",
        "i40e: Intel(R) Ethernet Connection XL710 Network Driver",
        "i40e 0000:3b:00.0: fw 8.5.67516 api 1.15 nvm 8.50 0x8000bc9b 1.3179.0 [8086:1572] [8086:0007]",
        "i40e 0000:3b:00.0: Allocating 4 VFs.",
      ])
    host.kernelModules = [
      .init("i40e", aliases: ["pci:v00008086d00001572sv*sd*bc*sc*i*"]),
      .init("iavf", aliases: ["pci:v00008086d0000154Csv*sd*bc*sc*i*", "i40evf"]),
      .init("igb", aliases: ["pci:v00008086d00001533sv*sd*bc*sc*i*"]),
      .init("nvme", aliases: ["pci:v*d*sv*sd*bc01sc08i02*"]),
      .init("vfio-pci", aliases: ["vfio_pci:v*d*sv*sd*bc*sc*i*"]),
    ]
    // Ready for DPDK: 1 GiB pages on the NIC's NUMA node, VFIO, vhost-net and tun.
    host.hugepages = [1_048_576: [8, 0]]
    host.miscDevices = [.vfio, .vhostNet, .tun]
    return host
  }

  /// An AMD host (AMD-Vi on, `amd_iommu=on iommu=pt`) with a ConnectX-5 (15b3:1017, mlx5_core,
  /// `ens2f0np0`) at 0000:af:00.0 on NUMA node 1 whose SR-IOV capability advertises TotalVFs 0
  /// (SR-IOV disabled in the adapter's firmware), VF device 1018: so the kernel created no
  /// `sriov_*` attributes.
  public static func connectX5SRIOVDisabled() throws -> FixtureHost {
    var host = FixtureHost(
      hostname: "cx5-host", cpu: .epyc, kernelCommandLine: commandLine("amd_iommu=on iommu=pt"),
      iommu: .amd, rootPortVendorID: 0x1022, rootPortDeviceID: 0x1483)
    let base: UInt64 = 0x3bff_fe00_0000
    let config = PCIConfigSpace(
      vendorID: 0x15b3, deviceID: 0x1017, classCode: 0x020000, subsystemVendorID: 0x15b3,
      subsystemID: 0x0008, bars: [.init(index: 0, address: base, size: 0x200_0000)],
      msix: .init(vectors: 64, bar: 0), link: .init(generation: 3, width: 16),
      serialNumber: 0xb859_9f03_00a1_b2c3, ariNextFunction: 0,
      sriov: .init(totalVFs: 0, firstVFOffset: 2, vfStride: 1, vfDeviceID: 0x1018))
    host.add(
      .init(
        address: PCIAddress(bus: 0xaf, device: 0, function: 0)!, config: config,
        upstreamPort: PCIAddress(bus: 0xae, device: 3, function: 1)!, driver: "mlx5_core",
        interfaces: [
          try .init(name: "ens2f0np0", mac: .init(0xb859_9fa1_b2c3), physicalPortName: "p0")
        ],
        numaNode: 1, irq: 70))
    host.kernelLog = bootLog(
      host,
      [
        "pci 0000:00:00.2: AMD-Vi: IOMMU performance counters supported",
        "AMD-Vi: Interrupt remapping enabled",
        "iommu: Default domain type: Passthrough (set via kernel command line)",
        "mlx5_core 0000:af:00.0: firmware version: 16.35.2000",
        "mlx5_core 0000:af:00.0: E-Switch: Total vports 2, per vport: max uc(128) max mc(2048)",
      ])
    host.kernelModules = [
      .init(
        "mlx5_core",
        aliases: ["pci:v000015B3d00001017sv*sd*bc*sc*i*", "pci:v000015B3d00001018sv*sd*bc*sc*i*"]),
      .init("vfio-pci", builtIn: true),
    ]
    // Ready but for the NIC's firmware: 1 GiB pages on its node, VFIO, vhost-net and tun.
    host.hugepages = [1_048_576: [0, 16]]
    host.miscDevices = [.vfio, .vhostNet, .tun]
    return host
  }

  /// A QEMU guest without an IOMMU and without SR-IOV: a virtio-net NIC (1af4:1041, virtio-pci,
  /// `enp1s0`; its netdev placed under the PCI function for simplicity, where the kernel puts it
  /// under `virtio0`) at 0000:01:00.0 and an integrated e1000e (8086:15bb, `eno1`) at
  /// 0000:00:1f.6.
  public static func noSRIOV() throws -> FixtureHost {
    var host = FixtureHost(
      hostname: "guest", cpu: .qemu, kernelCommandLine: commandLine("console=ttyS0"),
      rootPortVendorID: 0x1b36, rootPortDeviceID: 0x000c)
    let virtio = PCIConfigSpace(
      vendorID: 0x1af4, deviceID: 0x1041, classCode: 0x020000, revision: 0x01,
      subsystemVendorID: 0x1af4, subsystemID: 0x1100,
      bars: [.init(index: 4, address: 0xfe00_0000, size: 0x4000)], msix: .init(vectors: 3, bar: 4))
    host.add(
      .init(
        address: PCIAddress(bus: 0x01, device: 0, function: 0)!, config: virtio,
        upstreamPort: PCIAddress(bus: 0, device: 2, function: 0)!, driver: "virtio-pci",
        interfaces: [try .init(name: "enp1s0", mac: .init(0x5254_0012_3456))], irq: 22))
    let e1000e = PCIConfigSpace(
      vendorID: 0x8086, deviceID: 0x15bb, classCode: 0x020000, revision: 0x10,
      subsystemVendorID: 0x8086, subsystemID: 0x0000,
      bars: [.init(index: 0, address: 0xfea0_0000, size: 0x2_0000, isPrefetchable: false)])
    host.add(
      .init(
        address: PCIAddress(bus: 0, device: 0x1f, function: 6)!, config: e1000e, driver: "e1000e",
        interfaces: [try .init(name: "eno1", mac: .init(0x5254_0065_4321))], irq: 16))
    host.kernelLog = bootLog(host, ["iommu: Default domain type: Translated"])
    return host
  }

  /// A benchmark host: `pfs` Intel E810 PFs (8086:159b, ice, TotalVFs 256, VF device 1889), PF k at
  /// 0000:BB:00.0 with BB = 2 + 2k below root port 0000:00:(k+1).0, `ens(k+1)f0`, each with
  /// `vfsPerPF` VFs enabled (iavf, `ens(k+1)f0vN`), on alternating NUMA nodes, with VT-d on.
  ///
  /// - Throws: ``FixtureError/invalid(_:)`` unless `pfs` is 1-31 and `vfsPerPF` 0-256.
  public static func large(pfs: Int = 8, vfsPerPF: Int = 128) throws -> FixtureHost {
    guard (1...31).contains(pfs), (0...256).contains(vfsPerPF) else {
      throw FixtureError.invalid("the large host takes 1-31 PFs with 0-256 VFs each")
    }
    var host = FixtureHost(
      hostname: "large-host", cpu: .xeon, kernelCommandLine: commandLine("intel_iommu=on iommu=pt"),
      iommu: .intel)
    for k in 0..<pfs {
      let base = 0x2000_0000_0000 + UInt64(k) * 0x1_0000_0000
      let config = PCIConfigSpace(
        vendorID: 0x8086, deviceID: 0x159b, classCode: 0x020000, revision: 0x02,
        subsystemVendorID: 0x8086, subsystemID: 0x0002,
        bars: [
          .init(index: 0, address: base, size: 0x200_0000),
          .init(index: 3, address: base + 0x200_0000, size: 0x1_0000),
        ],
        msix: .init(vectors: 1024, bar: 3), link: .init(generation: 4, width: 16),
        serialNumber: 0xb496_91ff_ff00_0000 | UInt64(k), ariNextFunction: 0,
        sriov: .init(
          totalVFs: 256, numVFs: vfsPerPF, firstVFOffset: 8, vfStride: 1, vfDeviceID: 0x1889,
          vfBARs: [
            .init(index: 0, address: base + 0x400_0000, size: 0x2_0000),
            .init(index: 3, address: base + 0x600_0000, size: 0x4000),
          ],
          vfMSIX: .init(vectors: 17, bar: 3)))
      let pf = FixtureHost.Function(
        address: PCIAddress(bus: UInt8(2 + 2 * k), device: 0, function: 0)!, config: config,
        upstreamPort: PCIAddress(bus: 0, device: UInt8(k + 1), function: 0)!, driver: "ice",
        interfaces: [try .init(name: "ens\(k + 1)f0", mac: .init(0xb496_9100_0000) + k << 8)],
        numaNode: k % 2, irq: 32 + k)
      try host.addPhysicalFunction(pf, vfDriver: "iavf") { index in
        try .init(name: "ens\(k + 1)f0v\(index)", mac: .init(0x0200_0000_0000) + (k << 16 | index))
      }
    }
    host.kernelLog = bootLog(
      host,
      [
        "DMAR: IOMMU enabled",
        "iommu: Default domain type: Passthrough (set via kernel command line)",
      ])
    host.hugepages = [1_048_576: [4, 4]]
    host.miscDevices = [.vfio, .vhostNet, .tun]
    return host
  }

  /// Writes ``x710()`` into `directory`.
  @discardableResult
  public static func x710(at directory: String) throws -> FixtureHost {
    try written(x710(), to: directory)
  }

  /// Writes ``connectX5SRIOVDisabled()`` into `directory`.
  @discardableResult
  public static func connectX5SRIOVDisabled(at directory: String) throws -> FixtureHost {
    try written(connectX5SRIOVDisabled(), to: directory)
  }

  /// Writes ``noSRIOV()`` into `directory`.
  @discardableResult
  public static func noSRIOV(at directory: String) throws -> FixtureHost {
    try written(noSRIOV(), to: directory)
  }

  /// Writes ``large(pfs:vfsPerPF:)`` into `directory`.
  @discardableResult
  public static func large(at directory: String, pfs: Int = 8, vfsPerPF: Int = 128) throws
    -> FixtureHost
  {
    try written(large(pfs: pfs, vfsPerPF: vfsPerPF), to: directory)
  }

  /// The description of the host called `name` (one of ``names``), or `nil` for an unknown name.
  /// `pfs` and `vfsPerPF` apply to `large` only.
  public static func host(named name: String, pfs: Int = 8, vfsPerPF: Int = 128) throws
    -> FixtureHost?
  {
    switch name {
    case "x710": return try x710()
    case "connectx5-disabled": return try connectX5SRIOVDisabled()
    case "no-sriov": return try noSRIOV()
    case "large": return try large(pfs: pfs, vfsPerPF: vfsPerPF)
    default: return nil
    }
  }

  private static func written(_ host: FixtureHost, to directory: String) throws -> FixtureHost {
    try host.write(to: directory)
    return host
  }

  private static func commandLine(_ extra: String) -> String {
    "BOOT_IMAGE=/boot/vmlinuz-6.1.0-18-amd64 root=UUID=6f1c2a7e-0b7a-4c1e-9d53-8a1c0e6d2b11 ro quiet "
      + extra
  }

  /// A boot log: the banner and command line, the PCI core's line for each function as it is
  /// enumerated, then the host's own messages.
  private static func bootLog(_ host: FixtureHost, _ messages: [FixtureHost.KernelMessage])
    -> [FixtureHost.KernelMessage]
  {
    let banner: [FixtureHost.KernelMessage] = [
      .init(
        level: 5,
        "Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)"
      ),
      .init("Command line: \(host.kernelCommandLine)"),
    ]
    let enumeration = host.functions.sorted { $0.address < $1.address }.map { function in
      let config = function.config
      return FixtureHost.KernelMessage(
        "pci \(function.address): [\(hex(config.vendorID)):\(hex(config.deviceID))] type 00 class 0x\(hex(config.classCode, width: 6))"
      )
    }
    return banner + enumeration + messages
  }
}
