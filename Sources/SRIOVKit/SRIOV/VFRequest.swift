/// A setting given for every VF (`--vlan 100`) or for one VF (`--vlan 2=100`); a per-VF value
/// wins over the value for all.
public struct PerVF<Value: Sendable & Equatable>: Sendable, Equatable {
  public var all: Value?
  public var byIndex: [Int: Value]

  public init(all: Value? = nil, byIndex: [Int: Value] = [:]) {
    self.all = all
    self.byIndex = byIndex
  }

  /// The value wanted for VF `index`, or `nil` when none was asked for.
  public func value(for index: Int) -> Value? { byIndex[index] ?? all }

  public var isEmpty: Bool { all == nil && byIndex.isEmpty }

  /// Parses the occurrences of one option: each `VALUE` or `INDEX=VALUE`.
  ///
  /// - Throws: ``VFRequestError/invalidValue(option:value:expected:)`` naming the option.
  public static func parse(
    _ occurrences: [String], option: String, expected: String, _ value: (String) -> Value?
  ) throws -> PerVF<Value> {
    var result = PerVF()
    for text in occurrences {
      if let equals = text.firstIndex(of: "=") {
        let indexText = text[..<equals]
        let valueText = String(text[text.index(after: equals)...])
        guard let index = Int(indexText), (0..<VFRequest.maximumCount).contains(index) else {
          throw VFRequestError.invalidValue(
            option: option, value: text, expected: "INDEX=VALUE with a VF index from 0 to \(VFRequest.maximumCount - 1)")
        }
        guard let parsed = value(valueText) else {
          throw VFRequestError.invalidValue(option: option, value: text, expected: expected)
        }
        guard result.byIndex[index] == nil else {
          throw VFRequestError.invalidValue(option: option, value: text, expected: "one value per VF")
        }
        result.byIndex[index] = parsed
      } else {
        guard let parsed = value(text) else {
          throw VFRequestError.invalidValue(option: option, value: text, expected: expected)
        }
        guard result.all == nil else {
          throw VFRequestError.invalidValue(option: option, value: text, expected: "one value for all VFs")
        }
        result.all = parsed
      }
    }
    return result
  }

  /// The largest VF index named, if any.
  var highestIndex: Int? { byIndex.keys.max() }
}

/// `on` or `off`, as `ip link` spells booleans.
public func parseOnOff(_ text: String) -> Bool? {
  switch text {
  case "on": return true
  case "off": return false
  default: return nil
  }
}

/// What `sriovctl create-vfs` is asked to bring a PF to. Built from validated values only.
public struct VFRequest: Sendable, Equatable {
  /// The most VFs a PF can have: TotalVFs is a 16-bit field of the SR-IOV extended capability
  /// (PCIe base specification, "SR-IOV Extended Capability"), so VF indexes are below this.
  public static let maximumCount = 65535

  /// The rates `--max-tx-rate` accepts: the kernel's `struct ifla_vf_rate` carries Mbps as a
  /// `__u32` (include/uapi/linux/if_link.h, IFLA_VF_RATE).
  public static let rateRange = 0...Int(UInt32.max)

  /// How a rate outside ``rateRange`` is explained.
  public static let rateExpectation = "a rate in Mbps from 0 (none) to \(UInt32.max)"

  /// The default of `--timeout`, in seconds.
  public static let defaultTimeout: Double = 60

  /// The timeouts accepted, in seconds: more than 0, at most an hour.
  public static func isValidTimeout(_ seconds: Double) -> Bool { seconds > 0 && seconds <= 3600 }

  public var pf: PFSelector
  public var count: Int
  /// The driver each VF is bound to (vfio-pci for DPDK through `driver_override`, or its own
  /// kernel driver); VFs not named keep whatever the kernel binds.
  public var drivers: PerVF<VFDriver>
  /// `sriov_drivers_autoprobe`.
  public var autoprobe: Bool?
  /// The VF link settings asked for (``VFSetting``), each for every VF or some.
  public var settings: [VFSetting: PerVF<VFWanted>]
  /// The PF's MTU.
  public var mtu: Int?
  /// Destroy VFs in use when the count must change.
  public var force: Bool
  /// Seconds for the whole run: the kernel's write, the VFs' drivers and udev.
  public var timeout: Double
  /// At boot: wait (within the timeout) for the PF to appear with its driver bound, rather than
  /// fail because udev has not finished with it yet.
  public var waitForPF: Bool = false
  /// The node file's policies that asked for this, in priority order; empty for create-vfs.
  public var policies: [String] = []

  public init(
    pf: PFSelector, count: Int, drivers: PerVF<VFDriver> = .init(), autoprobe: Bool? = nil,
    settings: [VFSetting: PerVF<VFWanted>] = [:], mtu: Int? = nil, force: Bool = false,
    timeout: Double = VFRequest.defaultTimeout
  ) {
    self.pf = pf
    self.count = count
    self.drivers = drivers
    self.autoprobe = autoprobe
    self.settings = settings.filter { !$0.value.isEmpty }
    self.mtu = mtu
    self.force = force
    self.timeout = timeout
  }

  /// Checks what can be checked without the host: counts, indexes and ranges.
  public func validate() throws {
    guard (0...VFRequest.maximumCount).contains(count) else { throw VFRequestError.invalidCount(count) }
    var highest: [(String, Int?)] = [("--driver", drivers.highestIndex)]
    highest += VFSetting.allCases.map { ($0.option, self[$0].highestIndex) }
    for (option, highest) in highest {
      if let highest, highest >= count {
        throw VFRequestError.indexOutOfRange(option: option, index: highest, count: count)
      }
    }
    for setting in VFSetting.allCases {
      let values = self[setting]
      for (index, wanted) in [(nil, values.all)] + values.byIndex.sorted(by: { $0.key < $1.key }).map({ ($0.key, $0.value) }) {
        guard let wanted else { continue }
        let given = index.map { "\($0)=\(wanted.text)" } ?? wanted.text
        guard wanted.isValid(for: setting) else {
          throw VFRequestError.invalidValue(option: setting.option, value: given, expected: setting.expected)
        }
      }
    }
    let macs = self[.mac]
    if case .value(let mac)? = macs.all {
      throw VFRequestError.invalidValue(
        option: "--mac", value: mac.valueText, expected: "INDEX=MAC or auto: one address cannot serve every VF")
    }
    let explicit = macs.byIndex.values.filter { $0 != .derivedMAC }
    if Set(explicit).count != explicit.count {
      throw VFRequestError.invalidValue(option: "--mac", value: "(repeated)", expected: "a different address for each VF")
    }
    if let mtu, !(68...65535).contains(mtu) {
      throw VFRequestError.invalidValue(option: "--mtu", value: String(mtu), expected: "an MTU from 68 to 65535")
    }
    // NaN and infinity fail both comparisons.
    guard VFRequest.isValidTimeout(timeout) else {
      throw VFRequestError.invalidValue(
        option: "--timeout", value: String(timeout), expected: "seconds, more than 0 and at most 3600")
    }
  }
}

extension VFRequest {
  /// Refuses a count the PF cannot take: above `sriov_totalvfs` (the kernel would answer ERANGE),
  /// or any VF on a PF that offers none (SR-IOV off in the firmware). `create-vfs` and `persist`
  /// both ask this, so a boot file never carries what create-vfs would refuse.
  ///
  /// - Throws: ``VFCreationError/countAboveTotal(pf:count:total:remedy:)``.
  public func checkCount(on pf: PhysicalFunction) throws {
    guard count <= pf.totalVFs else {
      throw VFCreationError.countAboveTotal(
        pf: pf.address, count: count, total: pf.totalVFs,
        remedy: pf.totalVFs == 0 ? Readiness.firmwareRemedy(pf) : nil)
    }
  }
}

/// A kernel driver's name, as in `vfio-pci` or `mlx5_core`: letters, digits, `_` and `-`.
public struct DriverName: Hashable, Sendable, CustomStringConvertible {
  public let description: String

  public init?(_ text: String) {
    guard !text.isEmpty, text.count <= 64,
      text.unicodeScalars.allSatisfy({
        ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-"
      })
    else { return nil }
    description = text
  }

  /// Drivers that claim a VF without creating a network interface.
  var isUserspaceIO: Bool { ["vfio-pci", "vfio_pci", "pci-stub", "uio_pci_generic", "igb_uio"].contains(description) }
}

/// A request that cannot be carried out as given.
public enum VFRequestError: Error, Equatable, CustomStringConvertible {
  case invalidCount(Int)
  case invalidValue(option: String, value: String, expected: String)
  case indexOutOfRange(option: String, index: Int, count: Int)

  public var description: String {
    switch self {
    case .invalidCount(let count):
      if count < 0 { return "--count '\(count)': expected a number of VFs, 0 or more" }
      return "--count '\(count)': expected a number of VFs from 0 to \(VFRequest.maximumCount) (the PCIe limit)"
    case .invalidValue(let option, let value, let expected):
      return "\(option) '\(value)': expected \(expected)"
    case .indexOutOfRange(let option, let index, let count):
      if count == 0 { return "\(option) names VF \(index), but --count 0 removes every VF" }
      return "\(option) names VF \(index), but only VFs 0 to \(count - 1) will exist (--count \(count))"
    }
  }
}
