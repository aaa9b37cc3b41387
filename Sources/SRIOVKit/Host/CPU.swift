/// The CPU vendor, which decides the IOMMU: Intel VT-d or AMD-Vi.
public enum CPUVendor: String, Sendable, Equatable {
  case intel = "GenuineIntel"
  case amd = "AuthenticAMD"

  /// The vendor in `/proc/cpuinfo` (`vendor_id`), or `nil` when absent or another vendor.
  public static func read(root: HostRoot) throws -> CPUVendor? {
    guard let bytes = try root.readBytes("/proc/cpuinfo", limit: 256 * 1024) else { return nil }
    for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n")
    where line.hasPrefix("vendor_id") {
      guard let colon = line.firstIndex(of: ":") else { continue }
      let value = line[line.index(after: colon)...].trimmingCharacters(in: " \t")
      return CPUVendor(rawValue: value)
    }
    return nil
  }

  /// The name of the IOMMU as firmware setup screens call it.
  public var iommuName: String { self == .intel ? "Intel VT-d" : "AMD-Vi" }
  /// The ACPI table the firmware publishes when the IOMMU is enabled.
  public var acpiTable: String { self == .intel ? "DMAR" : "IVRS" }
}

extension Substring {
  func trimmingCharacters(in set: String) -> String {
    var text = self
    while let first = text.first, set.contains(first) { text.removeFirst() }
    while let last = text.last, set.contains(last) { text.removeLast() }
    return String(text)
  }
}
