/// An Ethernet MAC address, as in `02:11:22:33:44:55`.
public struct MACAddress: Hashable, Sendable, CustomStringConvertible {
  public let bytes: [UInt8]

  public init?(bytes: [UInt8]) {
    guard bytes.count == 6 else { return nil }
    self.bytes = bytes
  }

  /// Parses six two-digit hex octets separated by `:` (or `-`), in either case.
  public init?(_ text: String) {
    let parts = text.split(separator: text.contains("-") ? "-" : ":", omittingEmptySubsequences: false)
    guard parts.count == 6, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isHexDigit) }) else {
      return nil
    }
    self.bytes = parts.map { UInt8($0, radix: 16)! }
  }

  /// Lowercase, colon-separated, as `ip link` prints it.
  public var description: String {
    bytes.map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined(separator: ":")
  }

  public var isMulticast: Bool { bytes[0] & 0x01 != 0 }
  public var isZero: Bool { bytes.allSatisfy { $0 == 0 } }
  /// A locally administered address (bit 1 of the first octet), as opposed to a vendor's.
  public var isLocallyAdministered: Bool { bytes[0] & 0x02 != 0 }

  /// A stable, locally administered unicast address for VF `index` of the PF whose permanent
  /// address is `pf`: the same PF and index give the same address on every boot, and different
  /// PFs or indexes give different ones (FNV-1a over both, 46 bits kept).
  public static func derived(from pf: MACAddress, index: Int) -> MACAddress {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in pf.bytes + [UInt8(truncatingIfNeeded: index >> 8), UInt8(truncatingIfNeeded: index)] {
      hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
    }
    var bytes = (0..<6).map { UInt8(truncatingIfNeeded: hash >> (8 * UInt64($0))) }
    bytes[0] = (bytes[0] & 0xfc) | 0x02
    return MACAddress(bytes: bytes)!
  }
}
