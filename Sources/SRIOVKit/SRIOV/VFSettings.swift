/// One VF setting made over rtnetlink (`ip link set PF vf N KEYWORD VALUE`), and every name it goes
/// by: the command-line option, the node file's key, the `ip link` keyword and the systemd `.link`
/// key. This is the one table of VF settings: parsing, validation, planning, verification, the
/// persisted files and the help all read it, so a new setting is added here (and to
/// ``VFLinkChange`` and NetworkLinks, which carry its value to the kernel).
///
/// The VF driver, `sriov_drivers_autoprobe` and the PF's MTU are not link settings; they are
/// ``VFRequest/drivers``, ``VFRequest/autoprobe`` and ``VFRequest/mtu``.
public enum VFSetting: String, CaseIterable, Sendable, Hashable {
  case mac
  case vlan
  case trust
  case spoofCheck
  case linkState
  case maxTxRate

  /// The `create-vfs` and `persist` option.
  public var option: String {
    switch self {
    case .mac: return "--mac"
    case .vlan: return "--vlan"
    case .trust: return "--trust"
    case .spoofCheck: return "--spoofchk"
    case .linkState: return "--link-state"
    case .maxTxRate: return "--max-tx-rate"
    }
  }

  /// The key under a node file policy's `vfSettings`, and the `field` verify reports.
  public var configKey: String {
    switch self {
    case .mac: return "mac"
    case .vlan: return "vlan"
    case .trust: return "trust"
    case .spoofCheck: return "spoofchk"
    case .linkState: return "linkState"
    case .maxTxRate: return "maxTxRate"
    }
  }

  /// The keyword of `ip link set PF vf N` (ip-link(8)).
  public var ipLinkKeyword: String {
    switch self {
    case .mac: return "mac"
    case .vlan: return "vlan"
    case .trust: return "trust"
    case .spoofCheck: return "spoofchk"
    case .linkState: return "state"
    case .maxTxRate: return "max_tx_rate"
    }
  }

  /// The key of a `.link` file's `[SR-IOV]` section (systemd.link(5)); `nil` where it has none.
  public var linkFileKey: String? {
    switch self {
    case .mac: return "MACAddress"
    case .vlan: return "VLANId"
    case .trust: return "Trust"
    case .spoofCheck: return "MACSpoofCheck"
    case .linkState: return "LinkState"
    case .maxTxRate: return nil
    }
  }

  /// The persist methods whose file carries the setting: the systemd unit runs sriovctl with it;
  /// a `.link` file has the keys above (and no `mac: auto`, which sriovctl derives); a udev rule
  /// only sets the count.
  public var persistMethods: Set<PersistMethod> {
    linkFileKey == nil ? [.systemd] : [.systemd, .link]
  }

  /// The value's form, for help and messages.
  public var valueName: String {
    switch self {
    case .mac: return "auto|MAC"
    case .vlan: return "VLAN"
    case .trust, .spoofCheck: return "on|off"
    case .linkState: return "auto|enable|disable"
    case .maxTxRate: return "MBPS"
    }
  }

  /// What a valid value is, for errors.
  public var expected: String {
    switch self {
    case .mac: return "auto or a unicast, non-zero MAC address (02:11:22:33:44:55)"
    case .vlan: return "a VLAN ID from 0 (none) to 4094"
    case .trust, .spoofCheck: return "on or off"
    case .linkState: return "auto, enable or disable"
    case .maxTxRate: return VFRequest.rateExpectation
    }
  }

  /// One line of help.
  public var help: String {
    switch self {
    case .mac: return "VF MAC, or auto for a stable address derived from the PF's permanent MAC."
    case .vlan: return "VF VLAN ID, 0 for none."
    case .trust: return "Let the VF change its MAC and use promiscuous modes."
    case .spoofCheck: return "Drop frames the VF sends with a MAC other than its own."
    case .linkState: return "VF link: follow the PF, always up, or always down."
    case .maxTxRate: return "VF transmit limit in Mbps, 0 for none."
    }
  }

  /// Parses a value as the command line and the node file write it; `nil` when invalid.
  public func parse(_ text: String) -> VFWanted? {
    let wanted: VFWanted
    switch self {
    case .mac:
      if text == "auto" { return .derivedMAC }
      guard let mac = MACAddress(text) else { return nil }
      wanted = .value(.mac(mac))
    case .vlan:
      guard let vlan = Int(text) else { return nil }
      wanted = .value(.vlan(vlan))
    case .trust:
      guard let on = parseOnOff(text) else { return nil }
      wanted = .value(.trust(on))
    case .spoofCheck:
      guard let on = parseOnOff(text) else { return nil }
      wanted = .value(.spoofCheck(on))
    case .linkState:
      guard let state = VFLinkState(rawValue: text) else { return nil }
      wanted = .value(.linkState(state))
    case .maxTxRate:
      guard let rate = Int(text) else { return nil }
      wanted = .value(.maxTxRate(rate))
    }
    return wanted.isValid ? wanted : nil
  }
}

/// What is asked of one VF setting: a value, or (for the MAC) an address derived from the PF's.
public enum VFWanted: Sendable, Hashable {
  case value(VFLinkChange)
  /// `mac: auto`: ``MACAddress/derived(from:index:)`` of the PF's permanent MAC.
  case derivedMAC

  /// The value as the command line and the node file write it.
  public var text: String {
    switch self {
    case .value(let change): return change.valueText
    case .derivedMAC: return "auto"
    }
  }

  /// Whether this is a value of `setting` and in its range.
  public func isValid(for setting: VFSetting) -> Bool {
    switch self {
    case .derivedMAC: return setting == .mac
    case .value(let change): return change.setting == setting && isValid
    }
  }

  /// Whether the value is in its setting's range (VLAN IDs, rates, unicast MACs).
  var isValid: Bool {
    switch self {
    case .derivedMAC: return true
    case .value(.mac(let mac)): return !mac.isMulticast && !mac.isZero
    case .value(.vlan(let vlan)): return (0...4094).contains(vlan)
    case .value(.maxTxRate(let rate)): return VFRequest.rateRange.contains(rate)
    case .value(.trust), .value(.spoofCheck), .value(.linkState): return true
    }
  }
}

extension VFLinkChange {
  /// The setting this changes.
  public var setting: VFSetting {
    switch self {
    case .mac: return .mac
    case .vlan: return .vlan
    case .trust: return .trust
    case .spoofCheck: return .spoofCheck
    case .linkState: return .linkState
    case .maxTxRate: return .maxTxRate
    }
  }

  /// The value as `ip link` and the node file write it.
  public var valueText: String {
    switch self {
    case .mac(let mac): return mac.description
    case .vlan(let vlan): return String(vlan)
    case .trust(let on), .spoofCheck(let on): return on ? "on" : "off"
    case .linkState(let state): return state.rawValue
    case .maxTxRate(let rate): return String(rate)
    }
  }

  /// The value as a `.link` file's `[SR-IOV]` section writes it (systemd.link(5)).
  public var linkFileValue: String {
    switch self {
    case .mac(let mac): return mac.description
    case .vlan(let vlan): return String(vlan)
    case .trust(let on), .spoofCheck(let on): return on ? "yes" : "no"
    case .linkState(let state): return state == .auto ? "auto" : state == .enable ? "yes" : "no"
    case .maxTxRate(let rate): return String(rate)
    }
  }

  /// Whether a VF's settings, as rtnetlink reports them, already are this.
  public func isSatisfied(by settings: VFLinkSettings) -> Bool {
    switch self {
    case .mac(let mac): return settings.mac == mac
    case .vlan(let vlan): return settings.vlan == vlan
    case .trust(let on): return settings.trust == on
    case .spoofCheck(let on): return settings.spoofCheck == on
    case .linkState(let state): return settings.linkState == state
    case .maxTxRate(let rate): return settings.maxTxRate == rate
    }
  }

  /// The VF's current value of this setting, as `ip link` would show it ("vlan 0", "no trust setting").
  public func reported(in settings: VFLinkSettings) -> String {
    guard let value = current(in: settings) else { return "no \(setting.ipLinkKeyword) setting" }
    return "\(setting.ipLinkKeyword) \(value)"
  }

  /// The VF's current value of this setting as text, `nil` when the driver reports none.
  public func current(in settings: VFLinkSettings) -> String? {
    switch self {
    case .mac: return settings.mac?.description
    case .vlan: return String(settings.vlan)
    case .trust: return settings.trust.map { $0 ? "on" : "off" }
    case .spoofCheck: return settings.spoofCheck.map { $0 ? "on" : "off" }
    case .linkState: return settings.linkState?.rawValue
    case .maxTxRate: return settings.maxTxRate.map(String.init)
    }
  }
}

/// The driver a VF is to be bound to.
public enum VFDriver: Sendable, Hashable, CustomStringConvertible {
  /// The VF's own kernel driver (the one its modalias loads, such as iavf or igbvf), with no
  /// `driver_override`: the operator's `deviceType: netdevice`.
  case kernel
  /// A given driver, bound through `driver_override` (vfio-pci for DPDK or a VM).
  case named(DriverName)

  /// `kernel` or the driver's name, as `--driver` and the node file write it.
  public var description: String {
    switch self {
    case .kernel: return "kernel"
    case .named(let name): return name.description
    }
  }

  /// Parses `kernel` or a driver name.
  public init?(_ text: String) {
    if text == "kernel" {
      self = .kernel
    } else if let name = DriverName(text) {
      self = .named(name)
    } else {
      return nil
    }
  }

  /// What a valid value is, for errors.
  public static let expected = "kernel (the VF's own driver) or a driver name such as vfio-pci"
}

extension VFRequest {
  /// The settings wanted for one VF, or `nil`.
  public subscript(setting: VFSetting) -> PerVF<VFWanted> {
    get { settings[setting] ?? PerVF() }
    set { settings[setting] = newValue.isEmpty ? nil : newValue }
  }

  /// The link changes VF `index` must have, in the table's order. `macBase` is the PF's
  /// permanent MAC, which `mac: auto` derives from; without it no derived MAC is asked for.
  public func linkChanges(forVF index: Int, macBase: MACAddress?) -> [VFLinkChange] {
    VFSetting.allCases.compactMap { setting in
      switch self[setting].value(for: index) {
      case .value(let change)?: return change
      case .derivedMAC?: return macBase.map { .mac(MACAddress.derived(from: $0, index: index)) }
      case nil: return nil
      }
    }
  }

  /// Whether any VF setting over netlink was asked for.
  public var wantsLinkSettings: Bool { settings.values.contains { !$0.isEmpty } }

  /// Whether any VF's MAC is to be derived from the PF's (`mac: auto`).
  public var wantsDerivedMAC: Bool {
    let macs = self[.mac]
    return macs.all == .derivedMAC || macs.byIndex.values.contains(.derivedMAC)
  }

  /// Whether any VF is to be bound to a named driver (through `driver_override`).
  var wantsNamedDriver: Bool {
    let all = [drivers.all].compactMap { $0 } + Array(drivers.byIndex.values)
    return all.contains { if case .named = $0 { return true } else { return false } }
  }
}
