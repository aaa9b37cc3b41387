/// A PCI function address: domain, bus, device and function, as in `0000:3b:00.0`.
///
/// Parsed once at the edge; everything inside the library takes this type, so a malformed address
/// can never reach a sysfs path or a generated file.
public struct PCIAddress: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
  public let domain: UInt32
  public let bus: UInt8
  public let device: UInt8
  public let function: UInt8

  /// An address from its parts; `nil` for a device above 31 or a function above 7, which no PCI
  /// bus can carry (the device and function share one 8-bit devfn).
  public init?(domain: UInt32 = 0, bus: UInt8, device: UInt8, function: UInt8) {
    guard device < 32, function < 8 else { return nil }
    self.domain = domain
    self.bus = bus
    self.device = device
    self.function = function
  }

  /// Parses `DDDD:BB:DD.F` or the short `BB:DD.F` (domain 0), in either case of hex digits.
  ///
  /// Returns `nil` for anything else: a wrong number of digits, a device above 1f, a function
  /// above 7, or stray characters.
  public init?(_ text: String) {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false)
    let domainText: Substring
    let busText: Substring
    let rest: Substring
    switch parts.count {
    case 3: (domainText, busText, rest) = (parts[0], parts[1], parts[2])
    case 2: (domainText, busText, rest) = ("0000", parts[0], parts[1])
    default: return nil
    }
    let deviceFunction = rest.split(separator: ".", omittingEmptySubsequences: false)
    guard deviceFunction.count == 2,
      (4...8).contains(domainText.count), busText.count == 2,
      deviceFunction[0].count == 2, deviceFunction[1].count == 1,
      let domain = PCIAddress.hex(domainText), let bus = PCIAddress.hex(busText),
      let device = PCIAddress.hex(deviceFunction[0]),
      let function = PCIAddress.hex(deviceFunction[1]),
      device < 32, function < 8
    else { return nil }
    self.init(
      domain: domain, bus: UInt8(truncatingIfNeeded: bus), device: UInt8(truncatingIfNeeded: device),
      function: UInt8(truncatingIfNeeded: function))
  }

  /// The function whose 16-bit routing ID (bus << 8 | device << 3 | function) is `routingID`, on
  /// `domain`; `nil` outside 0...0xffff.
  public init?(domain: UInt32 = 0, routingID: Int) {
    guard (0...0xffff).contains(routingID) else { return nil }
    self.init(
      domain: domain, bus: UInt8(routingID >> 8), device: UInt8((routingID >> 3) & 0x1f),
      function: UInt8(routingID & 7))
  }

  /// The address exactly as the kernel names the function's directory in
  /// `/sys/bus/pci/devices` (`%04x:%02x:%02x.%d`, drivers/pci/probe.c); `nil` for any other
  /// spelling (upper case, the short form, a device or function out of range).
  public init?(sysfsName name: String) {
    guard let address = PCIAddress(name), address.description == name else { return nil }
    self = address
  }

  private static func hex(_ text: Substring) -> UInt32? {
    guard text.allSatisfy(\.isHexDigit) else { return nil }
    return UInt32(text, radix: 16)
  }

  /// The kernel's canonical form, `0000:3b:00.0`, as used in sysfs.
  public var description: String {
    hex(domain, width: 4) + ":" + hex(bus, width: 2) + ":" + hex(device, width: 2) + "."
      + String(function)
  }

  private func hex<T: BinaryInteger>(_ value: T, width: Int) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
  }

  public static func < (a: PCIAddress, b: PCIAddress) -> Bool {
    (a.domain, a.bus, a.device, a.function) < (b.domain, b.bus, b.device, b.function)
  }

  public init(from decoder: Decoder) throws {
    let text = try decoder.singleValueContainer().decode(String.self)
    guard let address = PCIAddress(text) else {
      throw DecodingError.dataCorrupted(
        .init(codingPath: decoder.codingPath, debugDescription: "not a PCI address: \(text)"))
    }
    self = address
  }

  public func encode(to encoder: Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(description)
  }
}
