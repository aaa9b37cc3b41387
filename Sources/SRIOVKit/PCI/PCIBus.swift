import CLibPCI
import Glibc

/// The SR-IOV extended capability of a function (PCIe base spec, "SR-IOV Extended Capability").
public struct SRIOVCapability: Sendable, Equatable {
  /// The capability's offset in config space.
  public var offset: Int
  /// TotalVFs as the device advertises it; the driver may allow fewer (`sriov_totalvfs`).
  public var totalVFs: Int
  /// The device ID every VF of this PF reports.
  public var vfDeviceID: UInt16
}

/// Config space that ends inside a capability sriovctl needs: a file cut short, never what the
/// kernel gives (64 bytes to a non-root reader, else the whole 256 or 4096).
public struct TruncatedConfig: Error, Equatable, CustomStringConvertible {
  public var length: Int
  public var capability: Int

  public var description: String {
    "config ends at byte 0x\(String(length, radix: 16)), inside the SR-IOV capability at "
      + "0x\(String(capability, radix: 16))"
  }
}

/// libpci over config space that sriovctl read itself: libpci walks the capabilities and names
/// vendors, devices and classes from pci.ids, but never opens a host path.
///
/// The config bytes of each function, read beneath the host root by ``HostRoot``, are handed to
/// libpci's "dump" method as `lspci -x` text in a memory file. libpci's own `linux-sysfs` method
/// would follow links under `ROOT/sys/bus/pci/devices` out of the root and trust the directory
/// names it parses there.
///
/// This is the only file that talks to libpci. Its fatal-error callback is trapped by the shim, so
/// malformed input becomes a thrown error.
public final class PCIBus {
  /// The conventional configuration space (header and capability list); the PCI Express extended
  /// capabilities, SR-IOV among them, follow it.
  public static let standardConfigSize = 256

  private let access: UnsafeMutablePointer<pci_access>
  private var devices: [PCIAddress: UnsafeMutablePointer<pci_dev>] = [:]
  private let configs: [PCIAddress: [UInt8]]

  /// Hands `configs` (up to 4096 bytes each; only the bytes present count) to libpci.
  ///
  /// - Throws: ``HostError/pciScanFailed(_:)`` when libpci cannot be set up.
  public init(configs: [PCIAddress: [UInt8]]) throws {
    guard let access = sriovctl_pci_alloc() else {
      throw HostError.pciScanFailed("libpci could not allocate its state")
    }
    // From here on deinit releases libpci's state, also when init throws.
    self.access = access
    self.configs = configs.mapValues { Array($0.prefix(4096)) }
    // Names come from pci.ids only, so the same tree gives the same names on every machine.
    access.pointee.id_lookup_mode = UInt32(PCI_LOOKUP_NO_HWDB.rawValue)
    // The dump names each function by its position in `ordered`, not by its address: dump.c reads
    // at most a 5-digit domain, and PCIAddress allows 8.
    let ordered = self.configs.keys.sorted()
    var text: [UInt8] = []
    text.reserveCapacity(ordered.reduce(0) { $0 + 3 * (self.configs[$1]?.count ?? 0) + 64 })
    for (index, address) in ordered.enumerated() {
      text += Array(PCIBus.dumpName(index).utf8) + Array(" function\n".utf8)
      let bytes = self.configs[address] ?? []
      for line in stride(from: 0, to: bytes.count, by: 16) {
        PCIBus.appendHex(line, digits: line < 0x100 ? 2 : 3, to: &text)
        text += [UInt8(ascii: ":")]
        for byte in bytes[line..<min(line + 16, bytes.count)] {
          text.append(UInt8(ascii: " "))
          PCIBus.appendHex(Int(byte), digits: 2, to: &text)
        }
        text.append(UInt8(ascii: "\n"))
      }
      text.append(UInt8(ascii: "\n"))
    }
    let status = text.withUnsafeBufferPointer { buffer in
      buffer.withMemoryRebound(to: CChar.self) { sriovctl_pci_init_dump(access, $0.baseAddress, $0.count) }
    }
    guard status == 0 else {
      throw HostError.pciScanFailed(String(cString: sriovctl_pci_last_error()))
    }
    var device = access.pointee.devices
    while let d = device {
      let index = Int(d.pointee.domain) << 13 | Int(d.pointee.bus) << 5 | Int(d.pointee.dev)
      if d.pointee.func == 0, ordered.indices.contains(index) { devices[ordered[index]] = d }
      device = d.pointee.next
    }
  }

  deinit {
    pci_cleanup(access)
  }

  /// `DDDD:BB:DD.0` for the function at `index` of the dump.
  private static func dumpName(_ index: Int) -> String {
    var text: [UInt8] = []
    appendHex(index >> 13, digits: 4, to: &text)
    text.append(UInt8(ascii: ":"))
    appendHex((index >> 5) & 0xff, digits: 2, to: &text)
    text.append(UInt8(ascii: ":"))
    appendHex(index & 0x1f, digits: 2, to: &text)
    return String(decoding: text, as: UTF8.self) + ".0"
  }

  private static func appendHex(_ value: Int, digits: Int, to text: inout [UInt8]) {
    let hex = Array("0123456789abcdef".utf8)
    for shift in stride(from: 4 * (digits - 1), through: 0, by: -4) {
      text.append(hex[(value >> shift) & 0xf])
    }
  }

  /// The SR-IOV capability in a function's config space.
  ///
  /// - Returns: `nil` when the function has none, or when its config space holds no extended
  ///   capabilities (a non-root reader of a live system gets 64 bytes); callers then fall back to
  ///   the kernel's `sriov_*` attributes.
  /// - Throws: ``TruncatedConfig`` when the bytes end inside the capability: libpci reads missing
  ///   bytes as 0xff, which would make TotalVFs 65535.
  public func sriovCapability(of address: PCIAddress) throws -> SRIOVCapability? {
    guard let d = devices[address], let bytes = configs[address] else { return nil }
    let offset = Int(sriovctl_pci_sriov_offset(d))
    if offset < 0 {
      throw HostError.pciScanFailed(
        "reading the capabilities of \(address): \(String(cString: sriovctl_pci_last_error()))")
    }
    guard offset > 0 else { return nil }
    // The capability is 0x40 bytes long (PCIe base spec); the kernel shows all of config space or
    // the first 64 bytes, never part of a capability.
    guard offset + 0x40 <= bytes.count else {
      throw TruncatedConfig(length: bytes.count, capability: offset)
    }
    func word(_ at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }
    return SRIOVCapability(
      offset: offset, totalVFs: Int(word(offset + 0x0e)), vfDeviceID: word(offset + 0x1a))
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
