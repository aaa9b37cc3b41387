/// What create-vfs's engine knows about one PF before it decides anything: a snapshot read
/// through ``HostOperations`` (``LiveHostOperations`` on a host), or built by hand in tests.
public struct PFState: Sendable, Equatable {
  /// One existing VF.
  public struct VF: Sendable, Equatable {
    public var index: Int
    public var address: PCIAddress
    public var driver: String?
    /// `driver_override`; `nil` when empty.
    public var driverOverride: String?
    public var iommuGroup: Int?
    /// As rtnetlink reports them; `nil` off the live system.
    public var settings: VFLinkSettings?

    public init(
      index: Int, address: PCIAddress, driver: String? = nil, driverOverride: String? = nil, iommuGroup: Int? = nil,
      settings: VFLinkSettings? = nil
    ) {
      (self.index, self.address, self.driver, self.driverOverride) = (index, address, driver, driverOverride)
      (self.iommuGroup, self.settings) = (iommuGroup, settings)
    }
  }

  public var address: PCIAddress
  /// The PF's interface (for messages and netlink); `nil` without one.
  public var interface: String?
  public var isUp: Bool
  public var mtu: Int?
  public var numVFs: Int
  public var totalVFs: Int
  /// Said when the PF offers no VFs at all (SR-IOV off in the firmware).
  public var firmwareRemedy: String?
  /// `sriov_drivers_autoprobe`.
  public var autoprobe: Bool?
  public var vfs: [VF]
  /// Why destroying the VFs would hurt (bound elsewhere, moved, up with addresses).
  public var inUse: [String]
  /// The modules that claim this PF's VFs, by modalias; the first is the one the kernel binds.
  public var vfDrivers: [String]
  /// Whether each module the request or the VFs need is loaded, built in or loadable.
  public var modules: [String: KernelModules.Availability]
  public var udevRunning: Bool
  /// The PF's MAC that `mac: auto` derives from, or why it could not be read.
  public var macBase: Result<MACAddress, VFCreationError>?

  public init(
    address: PCIAddress, interface: String?, isUp: Bool = true, mtu: Int? = nil, numVFs: Int, totalVFs: Int,
    firmwareRemedy: String? = nil, autoprobe: Bool? = true, vfs: [VF] = [], inUse: [String] = [],
    vfDrivers: [String] = [], modules: [String: KernelModules.Availability] = [:], udevRunning: Bool = true,
    macBase: Result<MACAddress, VFCreationError>? = nil
  ) {
    (self.address, self.interface, self.isUp, self.mtu) = (address, interface, isUp, mtu)
    (self.numVFs, self.totalVFs, self.firmwareRemedy, self.autoprobe) = (numVFs, totalVFs, firmwareRemedy, autoprobe)
    (self.vfs, self.inUse, self.vfDrivers, self.modules) = (vfs, inUse, vfDrivers, modules)
    (self.udevRunning, self.macBase) = (udevRunning, macBase)
  }
}

/// One step of a PF's plan. Its description is the sentence create-vfs and apply report.
public enum PFAction: Sendable, Equatable, CustomStringConvertible {
  case setAutoprobe(Bool)
  case setMTU(interface: String, mtu: Int)
  /// Write 0 to `sriov_numvfs`; `inUse` VFs go with `--force`.
  case removeVFs(count: Int, inUse: Int)
  case bringUp(interface: String)
  /// The VF driver, loaded because no udevd would load it when the VFs appear.
  case loadVFDriver(String)
  /// Write the count; with `suspendProbe` while `sriov_drivers_autoprobe` is held at 0 (named
  /// drivers follow); `expectedDriver` is what the new VFs are waited for with.
  case createVFs(count: Int, suspendProbe: Bool, expectedDriver: String?)
  case loadModule(String)
  /// Bind an existing VF.
  case bind(vf: Int, address: PCIAddress, driver: VFDriver, was: String?)
  /// Bind VFs that the plan creates (their addresses are known only then).
  case bindNew(vfs: ClosedRange<Int>, driver: VFDriver)
  case setLink(vf: Int, VFLinkChange)

  public var description: String {
    switch self {
    case .setAutoprobe(let on): return "set sriov_drivers_autoprobe to \(on ? 1 : 0)"
    case .setMTU(let interface, let mtu): return "set the MTU of \(interface) to \(mtu)"
    case .removeVFs(let count, let inUse):
      return "remove the \(count) VFs: write 0 to sriov_numvfs" + (inUse == 0 ? "" : " (--force: \(inUse) in use)")
    case .bringUp(let interface): return "bring \(interface) up"
    case .loadVFDriver(let name): return "load the VF driver \(name)"
    case .createVFs(let count, _, _): return "create \(count) VFs: write \(count) to sriov_numvfs"
    case .loadModule(let name): return "load the kernel module \(name)"
    case .bind(let vf, let address, let driver, let was):
      return "bind VF \(vf) (\(address)) to \(PFAction.target(driver))" + (was.map { " (was \($0))" } ?? "")
    case .bindNew(let vfs, let driver):
      let which = vfs.count == 1 ? "VF \(vfs.lowerBound)" : "VFs \(vfs.lowerBound)-\(vfs.upperBound)"
      switch driver {
      case .named(let name): return "bind \(which) to \(name) (driver_override)"
      case .kernel: return "bind \(which) to their own kernel driver"
      }
    case .setLink(let vf, let change): return "set VF \(vf) \(change)"
    }
  }

  static func target(_ driver: VFDriver) -> String {
    switch driver {
    case .named(let name): return name.description
    case .kernel: return "its own kernel driver"
    }
  }
}

/// create-vfs's decisions, without a host: the state and the request in, the ordered actions
/// that bring the PF to the request out (empty when it already is), or the reason it must not be
/// touched. The same rules for `create-vfs`, `apply` and every dry run.
public enum PFPlanner {
  /// - Throws: ``VFCreationError`` (above the total, no interface for settings, no MAC base,
  ///   VFs in use without `force`, a VF without IOMMU group for vfio) or ``VFRequestError``.
  public static func plan(_ request: VFRequest, _ state: PFState) throws -> [PFAction] {
    try request.validate()
    let count = request.count
    guard count <= state.totalVFs else {
      throw VFCreationError.countAboveTotal(pf: state.address, count: count, total: state.totalVFs, remedy: state.firmwareRemedy)
    }
    if request.wantsLinkSettings || request.mtu != nil, state.interface == nil {
      throw VFCreationError.noInterface(pf: state.address)
    }
    // Before any change: mac: auto that cannot be honoured must not leave VFs half made.
    var macBase: MACAddress?
    if request.wantsDerivedMAC, count > 0, state.interface != nil {
      switch state.macBase {
      case .success(let mac)?: macBase = mac
      case .failure(let error)?: throw error
      case nil: throw VFCreationError.noMACBase(pf: state.address, path: "the PF's address")
      }
    }
    var actions: [PFAction] = []
    if let wanted = request.autoprobe, state.autoprobe != wanted { actions.append(.setAutoprobe(wanted)) }
    if let mtu = request.mtu, let interface = state.interface, state.mtu != mtu {
      actions.append(.setMTU(interface: interface, mtu: mtu))
    }
    let changesCount = state.numVFs != count
    let autoprobe = request.autoprobe ?? state.autoprobe ?? true
    let suspendProbe = changesCount && request.wantsNamedDriver && autoprobe
    if changesCount {
      if state.numVFs > 0 {
        if !state.inUse.isEmpty && !request.force { throw VFCreationError.inUse(pf: state.address, state.inUse) }
        actions.append(.removeVFs(count: state.numVFs, inUse: state.inUse.count))
      }
      if count > 0 {
        // udev has finished with the interface, so bringing it up cannot stop a rename.
        if let interface = state.interface, !state.isUp { actions.append(.bringUp(interface: interface)) }
        var expected: String?
        if !suspendProbe, autoprobe, let driver = state.vfDrivers.first {
          switch state.modules[driver] {
          case .loaded?, .builtIn?: expected = driver
          case .loadable?, .blacklisted?:
            expected = driver
            if !state.udevRunning { actions.append(.loadVFDriver(driver)) }
          case .missing?, nil: break
          }
        }
        actions.append(.createVFs(count: count, suspendProbe: suspendProbe, expectedDriver: expected))
      }
    }
    guard count > 0 else { return actions }
    actions += try driverActions(request, state, changesCount: changesCount, suspendProbe: suspendProbe, autoprobe: autoprobe)
    for index in 0..<count {
      let current = changesCount ? nil : state.vfs.first { $0.index == index }?.settings
      for change in request.linkChanges(forVF: index, macBase: macBase) where !(current.map { change.isSatisfied(by: $0) } ?? false) {
        actions.append(.setLink(vf: index, change))
      }
    }
    return actions
  }

  /// The driver each VF is to end with: as asked, else (new VFs created unprobed for another
  /// VF's named driver) its own.
  static func wantedDriver(_ request: VFRequest, _ index: Int, suspendProbe: Bool) -> VFDriver? {
    request.drivers.value(for: index) ?? (suspendProbe ? .kernel : nil)
  }

  /// Whether a VF bound to `bound` with `override` already has `wanted`.
  static func has(_ wanted: VFDriver, bound: String?, override: String?, vfDrivers: [String]) -> Bool {
    switch wanted {
    case .named(let name):
      return bound?.replacingDashes() == name.description.replacingDashes() && override == name.description
    case .kernel:
      guard let bound, override == nil || override == "" || override == "(null)" else { return false }
      let defaults = Set(vfDrivers.map { $0.replacingDashes() })
      return defaults.isEmpty ? !(DriverName(bound)?.isUserspaceIO ?? false) : defaults.contains(bound.replacingDashes())
    }
  }

  /// The modules the binds need loaded, in order; a VF that vfio would take without an IOMMU
  /// group is refused (the planner asks it of existing VFs, the executor of VFs it created).
  static func modulesToLoad(for binds: [(PFState.VF, VFDriver)], _ state: PFState) throws -> [String] {
    var loads: [String] = []
    for (vf, wanted) in binds {
      guard case .named(let name) = wanted else { continue }
      if name.description.hasPrefix("vfio"), vf.iommuGroup == nil {
        throw VFCreationError.noIOMMUGroup(vf: vf.address, driver: name.description)
      }
      switch state.modules[name.description] {
      case .loaded?, .builtIn?, nil: break
      case .loadable?, .blacklisted?, .missing?: if !loads.contains(name.description) { loads.append(name.description) }
      }
    }
    return loads
  }

  private static func driverActions(
    _ request: VFRequest, _ state: PFState, changesCount: Bool, suspendProbe: Bool, autoprobe: Bool
  ) throws -> [PFAction] {
    let count = request.count
    if changesCount {
      // New VFs get their own driver by themselves when probed automatically.
      var runs: [(VFDriver, ClosedRange<Int>)] = []
      for index in 0..<count {
        guard let wanted = wantedDriver(request, index, suspendProbe: suspendProbe) else { continue }
        if wanted == .kernel && autoprobe && !suspendProbe { continue }
        if let last = runs.last, last.0 == wanted, last.1.upperBound == index - 1 {
          runs[runs.count - 1].1 = last.1.lowerBound...index
        } else {
          runs.append((wanted, index...index))
        }
      }
      return runs.map { .bindNew(vfs: $0.1, driver: $0.0) }
    }
    var pending: [(PFState.VF, VFDriver)] = []
    for vf in state.vfs where vf.index < count {
      guard let wanted = request.drivers.value(for: vf.index) else { continue }
      if !has(wanted, bound: vf.driver, override: vf.driverOverride, vfDrivers: state.vfDrivers) { pending.append((vf, wanted)) }
    }
    var actions = try modulesToLoad(for: pending, state).map { PFAction.loadModule($0) }
    // Named drivers first: a VF is given back to its own driver once they are bound.
    let ordered = pending.filter { $0.1 != .kernel } + pending.filter { $0.1 == .kernel }
    actions += ordered.map { .bind(vf: $0.0.index, address: $0.0.address, driver: $0.1, was: $0.0.driver) }
    return actions
  }
}
