/// One way the host differs from the node file.
public struct Difference: Sendable, Equatable, JSONRepresentable {
  public var pf: PCIAddress
  /// The VF, or `nil` for a PF field.
  public var vf: Int?
  /// `numVfs`, `mtu`, `deviceType`, or a VF setting's node-file key (``VFSetting/configKey``).
  public var field: String
  public var want: String
  public var have: String

  public var json: JSON {
    .object([
      ("pf", .string(pf.description)), ("vf", .int(vf)), ("field", .string(field)),
      ("want", .string(want)), ("have", .string(have)),
    ])
  }
}

/// What `sriovctl verify` found.
public struct VerifyResult: Sendable, JSONRepresentable {
  public var differences: [Difference]
  public var unmatched: [String]
  public var notes: [String]

  public var inSync: Bool { differences.isEmpty }

  public var json: JSON {
    .object([
      ("in_sync", .bool(inSync)), ("differences", .array(differences.map(\.json))),
      ("unmatched", .array(unmatched.map(JSON.string))), ("notes", .array(notes.map(JSON.string))),
    ])
  }
}

/// `sriovctl verify`: compares the host with the node file and changes nothing. What it compares
/// is what `apply` sets: each PF's VF count and MTU, each VF's driver and link settings.
public enum NodeVerify {
  public static func run(_ targets: NodeTargets, root: HostRoot) throws -> VerifyResult {
    let links = root.isLive ? try NetworkLinks() : nil
    var differences: [Difference] = []
    for target in targets.pfs {
      differences += try compare(target, root: root, links: links)
    }
    return VerifyResult(differences: differences, unmatched: targets.unmatched, notes: targets.notes)
  }

  private static func compare(_ target: PFTarget, root: HostRoot, links: NetworkLinks?) throws -> [Difference] {
    let pf = target.pf
    let request = target.request
    var differences: [Difference] = []
    func differ(_ vf: Int?, _ field: String, _ want: String, _ have: String) {
      differences.append(Difference(pf: pf.address, vf: vf, field: field, want: want, have: have))
    }
    if pf.numVFs != request.count {
      differ(nil, "numVfs", String(request.count), String(pf.numVFs))
    }
    let sysfs = PCIDeviceAttributes(root: root)
    let readiness = try InterfaceReadiness.of(device: sysfs.directory(pf.address), root: root)
    var link: NetworkLink?
    var interface: String?
    switch readiness {
    case .ready(let name, let index), .pending(let name, let index):
      interface = name
      link = try links?.link(ifindex: index)
    case .renaming(let name): interface = name
    case .absent: break
    }
    if let mtu = request.mtu {
      let have = try link?.mtu ?? interface.flatMap { try root.readInteger("/sys/class/net/\($0)/mtu") }
      if have != mtu { differ(nil, "mtu", String(mtu), have.map(String.init) ?? "unknown") }
    }
    // The VFs that exist and should: their drivers, then their link settings.
    let defaults = Set(VFCreation.vfDefaultDrivers(pf, root: root).map { $0.replacingDashes() })
    for vf in pf.vfs where vf.index < request.count {
      guard let wanted = request.drivers.value(for: vf.index) else { continue }
      let bound = vf.driver
      let override = try root.readAttribute(sysfs.directory(vf.address) + "/driver_override")
      let ok: Bool
      switch wanted {
      case .named(let name):
        ok = bound?.replacingDashes() == name.description.replacingDashes()
      case .kernel:
        let overridden = !(override == nil || override == "" || override == "(null)")
        ok = bound.map { defaults.isEmpty ? !(DriverName($0)?.isUserspaceIO ?? false) : defaults.contains($0.replacingDashes()) } ?? false
          && !overridden
      }
      if !ok { differ(vf.index, "deviceType", wanted == .kernel ? "netdevice" : wanted.description, bound ?? "none") }
    }
    guard request.wantsLinkSettings, request.count > 0 else { return differences }
    guard let link else {
      differ(nil, "vfSettings", "readable over rtnetlink", interface == nil ? "the PF has no network interface" : "not read (not the live system)")
      return differences
    }
    var macBase: MACAddress?
    if request.wantsDerivedMAC, let interface { macBase = try? VFCreation.macBase(pf: pf.address, interface: interface, root: root) }
    for index in 0..<min(request.count, pf.numVFs) {
      guard let settings = link.vfs.first(where: { $0.index == index }) else { continue }
      for change in request.linkChanges(forVF: index, macBase: macBase) where !change.isSatisfied(by: settings) {
        differ(index, change.setting.configKey, change.valueText, change.current(in: settings) ?? "none")
      }
    }
    return differences
  }
}
