import SRIOVKit

/// The configuration space of a PCI Express function, as the kernel exposes it in sysfs `config`:
/// 4096 bytes, little endian (PCI Express Base Specification, chapter 7).
///
/// The layout is fixed and small: the type 0 (endpoint) or type 1 (root port) header, the
/// capability list at 0x34 with a PCI Express capability at 0x40 and an optional MSI-X capability
/// after it, and the extended capability chain at 0x100 with, in order and each optional, Device
/// Serial Number, ARI and SR-IOV. libpci and lspci walk both chains, so they see exactly what
/// this value describes.
public struct PCIConfigSpace: Sendable, Equatable {
  /// What the function is, which decides its header, its PCI Express port type and what reads as
  /// zero.
  public enum Kind: Sendable, Equatable {
    /// An ordinary PCI Express endpoint, including an SR-IOV physical function.
    case endpoint
    /// A virtual function. As in hardware its Vendor and Device ID registers read 0xffff and its
    /// BARs read zero (the kernel takes the IDs and BAR addresses from the PF; sysfs `vendor`,
    /// `device` and `resource` show them), and it has no link of its own.
    case virtualFunction
    /// A root port (type 1 header) on `primaryBus` whose secondary side spans the given buses.
    case rootPort(primaryBus: UInt8, secondaryBus: UInt8, subordinateBus: UInt8)
  }

  /// A 64-bit memory BAR. It occupies its register and the next one.
  public struct MemoryBAR: Sendable, Equatable {
    /// The register it starts in, 0 to 4.
    public var index: Int
    public var address: UInt64
    /// A power of two, at least 16 bytes.
    public var size: UInt64
    public var isPrefetchable: Bool

    public init(index: Int, address: UInt64, size: UInt64, isPrefetchable: Bool = true) {
      self.index = index
      self.address = address
      self.size = size
      self.isPrefetchable = isPrefetchable
    }

    /// The flags the kernel shows in `resource` (IORESOURCE_MEM | IORESOURCE_MEM_64 |
    /// IORESOURCE_SIZEALIGN, IORESOURCE_PREFETCH, and the BAR's own low bits).
    var resourceFlags: UInt64 { isPrefetchable ? 0x0014_220c : 0x0014_0204 }
    /// The low bits of the BAR register: 64-bit memory, prefetchable or not.
    var registerFlags: UInt64 { isPrefetchable ? 0xc : 0x4 }
  }

  /// An MSI-X capability with its table at offset 0 of a BAR and its pending-bit array at 0x1000.
  public struct MSIX: Sendable, Equatable {
    public var vectors: Int
    /// The BAR register index holding the table.
    public var bar: Int

    public init(vectors: Int, bar: Int) {
      self.vectors = vectors
      self.bar = bar
    }
  }

  /// A PCI Express link: generation 1 to 5 (2.5, 5, 8, 16, 32 GT/s) and lane count.
  public struct Link: Sendable, Equatable {
    public var generation: Int
    public var width: Int

    public init(generation: Int, width: Int) {
      self.generation = generation
      self.width = width
    }

    /// The kernel's `current_link_speed` / `max_link_speed` text.
    public var speedText: String {
      ["2.5 GT/s PCIe", "5.0 GT/s PCIe", "8.0 GT/s PCIe", "16.0 GT/s PCIe", "32.0 GT/s PCIe"][
        min(max(generation, 1), 5) - 1]
    }
  }

  /// The SR-IOV extended capability (ID 0x0010, version 1; PCI Express Base Specification,
  /// "SR-IOV Extended Capability"). The kernel's `sriov_*` attributes derive from it.
  public struct SRIOVCapability: Sendable, Equatable {
    public var initialVFs: Int
    public var totalVFs: Int
    /// NumVFs; VF Enable and VF MSE are set when it is above zero.
    public var numVFs: Int
    public var firstVFOffset: Int
    public var vfStride: Int
    public var vfDeviceID: UInt16
    public var supportedPageSizes: UInt32
    /// The BARs of VF 0; VF n's lie n BAR sizes further on.
    public var vfBARs: [MemoryBAR]
    /// The MSI-X capability of each VF.
    public var vfMSIX: MSIX?

    /// - Parameter initialVFs: defaults to `totalVFs`, as on devices without VF migration.
    public init(
      totalVFs: Int, numVFs: Int = 0, firstVFOffset: Int, vfStride: Int, vfDeviceID: UInt16,
      initialVFs: Int? = nil, supportedPageSizes: UInt32 = 0x553, vfBARs: [MemoryBAR] = [],
      vfMSIX: MSIX? = nil
    ) {
      self.initialVFs = initialVFs ?? totalVFs
      self.totalVFs = totalVFs
      self.numVFs = numVFs
      self.firstVFOffset = firstVFOffset
      self.vfStride = vfStride
      self.vfDeviceID = vfDeviceID
      self.supportedPageSizes = supportedPageSizes
      self.vfBARs = vfBARs
      self.vfMSIX = vfMSIX
    }

    /// The address of VF `index` of the PF at `pf`: its routing ID is the PF's plus First VF
    /// Offset plus `index` strides, carrying into higher bus numbers (drivers/pci/iov.c,
    /// `pci_iov_virtfn_bus` and `pci_iov_virtfn_devfn`).
    ///
    /// - Throws: ``FixtureError/invalid(_:)`` when the routing ID runs past bus 255.
    public func virtualFunctionAddress(_ index: Int, of pf: PCIAddress) throws -> PCIAddress {
      let routingID =
        Int(pf.bus) << 8 + Int(pf.device) << 3 + Int(pf.function) + firstVFOffset + vfStride * index
      guard let address = PCIAddress(domain: pf.domain, routingID: routingID) else {
        throw FixtureError.invalid("VF \(index) of \(pf) would lie beyond bus ff")
      }
      return address
    }
  }

  public var kind: Kind
  public var vendorID: UInt16
  public var deviceID: UInt16
  /// Base class, subclass and programming interface, as in sysfs `class` (0x020000).
  public var classCode: UInt32
  public var revision: UInt8
  public var subsystemVendorID: UInt16
  public var subsystemID: UInt16
  /// The BARs; a virtual function's registers read zero whatever they hold.
  public var bars: [MemoryBAR]
  public var msix: MSIX?
  /// The link's capability and current state; `nil` reads as zero (a VF, or a link not trained).
  public var link: Link?
  /// A Device Serial Number extended capability.
  public var serialNumber: UInt64?
  /// An ARI extended capability with this Next Function Number.
  public var ariNextFunction: UInt8?
  public var sriov: SRIOVCapability?

  public init(
    vendorID: UInt16, deviceID: UInt16, classCode: UInt32, revision: UInt8 = 0,
    subsystemVendorID: UInt16 = 0, subsystemID: UInt16 = 0, kind: Kind = .endpoint,
    bars: [MemoryBAR] = [], msix: MSIX? = nil, link: Link? = nil, serialNumber: UInt64? = nil,
    ariNextFunction: UInt8? = nil, sriov: SRIOVCapability? = nil
  ) {
    self.kind = kind
    self.vendorID = vendorID
    self.deviceID = deviceID
    self.classCode = classCode
    self.revision = revision
    self.subsystemVendorID = subsystemVendorID
    self.subsystemID = subsystemID
    self.bars = bars
    self.msix = msix
    self.link = link
    self.serialNumber = serialNumber
    self.ariNextFunction = ariNextFunction
    self.sriov = sriov
  }

  /// The size of PCI Express config space.
  public static let size = 4096

  /// The config space of VF `index` of this PF: the PF's vendor, class, revision and subsystem, the
  /// capability's VF Device ID, VF BARs and VF MSI-X.
  ///
  /// - Throws: ``FixtureError/invalid(_:)`` when this function has no SR-IOV capability.
  public func virtualFunction(_ index: Int) throws -> PCIConfigSpace {
    guard let sriov else {
      throw FixtureError.invalid(
        "a device \(hex(vendorID)):\(hex(deviceID)) without SR-IOV has no VFs")
    }
    let bars = sriov.vfBARs.map { bar -> MemoryBAR in
      var vfBAR = bar
      vfBAR.address += bar.size * UInt64(index)
      return vfBAR
    }
    return PCIConfigSpace(
      vendorID: vendorID, deviceID: sriov.vfDeviceID, classCode: classCode, revision: revision,
      subsystemVendorID: subsystemVendorID, subsystemID: subsystemID, kind: .virtualFunction,
      bars: bars, msix: sriov.vfMSIX, ariNextFunction: ariNextFunction.map { _ in 0 })
  }

  /// Checks what the encoding cannot express: BARs that overlap or are not powers of two, an
  /// MSI-X table in a missing BAR, or VF counts out of order.
  ///
  /// - Throws: ``FixtureError/invalid(_:)`` naming the problem.
  public func validate() throws {
    for bars in [bars, sriov?.vfBARs ?? []] {
      var used = Set<Int>()
      for bar in bars {
        guard (0...4).contains(bar.index), used.insert(bar.index).inserted,
          used.insert(bar.index + 1).inserted
        else { throw FixtureError.invalid("BAR \(bar.index) overlaps another or is out of range") }
        guard bar.size >= 16, bar.size & (bar.size - 1) == 0, bar.address % bar.size == 0 else {
          throw FixtureError.invalid("BAR \(bar.index) must be a naturally aligned power of two")
        }
      }
    }
    for (msix, bars) in [(msix, bars), (sriov?.vfMSIX, sriov?.vfBARs ?? [])] {
      guard let msix else { continue }
      guard (1...2048).contains(msix.vectors), bars.contains(where: { $0.index == msix.bar }) else {
        throw FixtureError.invalid(
          "MSI-X needs 1-2048 vectors in an existing BAR (BAR \(msix.bar))")
      }
    }
    if let sriov {
      guard 0 <= sriov.numVFs, sriov.numVFs <= sriov.totalVFs, sriov.totalVFs <= 0xffff,
        sriov.initialVFs <= sriov.totalVFs, sriov.totalVFs == 0 || sriov.vfStride > 0
      else {
        throw FixtureError.invalid(
          "SR-IOV needs NumVFs <= InitialVFs <= TotalVFs <= 65535 and a stride")
      }
    }
  }

  /// The 4096 bytes of `config`.
  public var bytes: [UInt8] {
    var space = ConfigBytes()
    let isVF = kind == .virtualFunction
    space[u16: 0x00] = isVF ? 0xffff : vendorID
    space[u16: 0x02] = isVF ? 0xffff : deviceID
    // Command: memory space, bus master, INTx disable; a VF's memory enable is the PF's VF MSE.
    space[u16: 0x04] = isVF ? 0x0004 : 0x0406
    space[u16: 0x06] = 0x0010  // Status: capabilities list
    space[u32: 0x08] = classCode << 8 | UInt32(revision)
    space[u8: 0x34] = 0x40
    switch kind {
    case .endpoint, .virtualFunction:
      if !isVF {
        for bar in bars { space[u64: 0x10 + 4 * bar.index] = bar.address | bar.registerFlags }
        space[u8: 0x3d] = 1  // INTA
      }
      space[u16: 0x2c] = subsystemVendorID
      space[u16: 0x2e] = subsystemID
    case .rootPort(let primary, let secondary, let subordinate):
      space[u16: 0x04] = 0x0407  // also I/O space
      space[u8: 0x0e] = 1  // type 1 header
      space[u8: 0x18] = primary
      space[u8: 0x19] = secondary
      space[u8: 0x1a] = subordinate
      // Empty windows (base above limit), which lspci shows as [disabled].
      space[u8: 0x1c] = 0xf0
      space[u16: 0x20] = 0xfff0
      space[u32: 0x24] = 0x0001_fff1
      space[u8: 0x3d] = 1
    }
    writeExpressCapability(into: &space, at: 0x40, next: msix == nil ? 0 : 0x80)
    if let msix {
      space[u8: 0x80] = 0x11
      space[u16: 0x82] = UInt16(msix.vectors - 1)
      space[u32: 0x84] = UInt32(msix.bar)  // table at offset 0
      space[u32: 0x88] = 0x1000 | UInt32(msix.bar)  // pending bits at 0x1000
    }
    writeExtendedCapabilities(into: &space)
    return space.bytes
  }

  /// The PCI Express capability (ID 0x10, version 2), 0x3c bytes.
  private func writeExpressCapability(into space: inout ConfigBytes, at base: Int, next: UInt8) {
    var isRootPort = false
    if case .rootPort = kind { isRootPort = true }
    space[u8: base] = 0x10
    space[u8: base + 1] = next
    space[u16: base + 0x02] = isRootPort ? 0x0042 : 0x0002  // version 2, port type
    // Device capabilities: 512-byte payload, role-based errors, and for endpoints function level
    // reset (which SR-IOV requires of VFs).
    space[u32: base + 0x04] = isRootPort ? 0x0000_8002 : 0x1000_8002
    space[u16: base + 0x08] = 0x2830
    if let link {
      let generation = UInt8(min(max(link.generation, 1), 5))
      let status = UInt16(generation) | UInt16(link.width) << 4
      space[u32: base + 0x0c] = UInt32(status)
      space[u16: base + 0x12] = status
      space[u32: base + 0x2c] = ((1 << UInt32(generation)) - 1) << 1
      space[u16: base + 0x30] = UInt16(generation)
    }
    if isRootPort {
      // ARI Forwarding supported and enabled: VFs past device 0 of the bus are reachable.
      space[u32: base + 0x24] = 0x20
      space[u16: base + 0x28] = 0x20
    }
  }

  /// Device Serial Number, ARI and SR-IOV, chained from 0x100 in that order.
  private func writeExtendedCapabilities(into space: inout ConfigBytes) {
    var chain: [(id: UInt32, length: Int, body: (Int, inout ConfigBytes) -> Void)] = []
    if let serialNumber {
      chain.append((0x0003, 0x0c, { at, s in s[u64: at + 4] = serialNumber }))
    }
    if let ariNextFunction {
      chain.append((0x000e, 0x08, { at, s in s[u16: at + 4] = UInt16(ariNextFunction) << 8 }))
    }
    if let sriov {
      chain.append((0x0010, 0x40, { at, s in Self.writeSRIOV(sriov, into: &s, at: at) }))
    }
    var offset = 0x100
    for (position, capability) in chain.enumerated() {
      let next = position + 1 < chain.count ? (offset + capability.length + 0xf) & ~0xf : 0
      space[u32: offset] = capability.id | 1 << 16 | UInt32(next) << 20
      capability.body(offset, &space)
      offset = next
    }
  }

  private static func writeSRIOV(
    _ sriov: SRIOVCapability, into space: inout ConfigBytes, at base: Int
  ) {
    space[u16: base + 0x08] = sriov.numVFs > 0 ? 0x0009 : 0  // VF Enable, VF MSE
    space[u16: base + 0x0c] = UInt16(sriov.initialVFs)
    space[u16: base + 0x0e] = UInt16(sriov.totalVFs)
    space[u16: base + 0x10] = UInt16(sriov.numVFs)
    space[u16: base + 0x14] = UInt16(truncatingIfNeeded: sriov.firstVFOffset)
    space[u16: base + 0x16] = UInt16(truncatingIfNeeded: sriov.vfStride)
    space[u16: base + 0x1a] = sriov.vfDeviceID
    space[u32: base + 0x1c] = sriov.supportedPageSizes
    space[u32: base + 0x20] = 1  // System Page Size: 4 KiB
    for bar in sriov.vfBARs {
      space[u64: base + 0x24 + 4 * bar.index] = bar.address | bar.registerFlags
    }
  }
}

/// Config space under construction: zeroed, with little-endian fields (`space[u16: 0x02] = id`).
struct ConfigBytes {
  private(set) var bytes = [UInt8](repeating: 0, count: PCIConfigSpace.size)

  subscript(u8 offset: Int) -> UInt8 {
    get { UInt8(load(offset, width: 1)) }
    set { store(UInt64(newValue), at: offset, width: 1) }
  }
  subscript(u16 offset: Int) -> UInt16 {
    get { UInt16(load(offset, width: 2)) }
    set { store(UInt64(newValue), at: offset, width: 2) }
  }
  subscript(u32 offset: Int) -> UInt32 {
    get { UInt32(load(offset, width: 4)) }
    set { store(UInt64(newValue), at: offset, width: 4) }
  }
  subscript(u64 offset: Int) -> UInt64 {
    get { load(offset, width: 8) }
    set { store(newValue, at: offset, width: 8) }
  }

  private func load(_ offset: Int, width: Int) -> UInt64 {
    (0..<width).reduce(0) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
  }

  private mutating func store(_ value: UInt64, at offset: Int, width: Int) {
    for i in 0..<width { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
  }
}

func hex<T: BinaryInteger>(_ value: T, width: Int = 4) -> String {
  let digits = String(value, radix: 16)
  return String(repeating: "0", count: max(0, width - digits.count)) + digits
}
