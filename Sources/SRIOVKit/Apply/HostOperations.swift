/// What create-vfs's executor does to one PF: the writes, binds, netlink calls and waits, and
/// the reads it needs once VFs exist. ``LiveHostOperations`` does them on a host; tests give a
/// double (a `sriov_numvfs` write that blocks, a bind that fails).
public protocol HostOperations: AnyObject {
  /// The state the plan is made from.
  func readState() throws -> PFState
  /// `sriov_numvfs`, bounded by the run's deadline, the kernel's refusal explained.
  func writeNumVFs(_ count: Int) throws
  /// `sriov_drivers_autoprobe`.
  func writeAutoprobe(_ on: Bool) throws
  /// `ip link set PF mtu N`.
  func setMTU(_ mtu: Int) throws
  /// `ip link set PF up`.
  func bringUp() throws
  /// `modprobe NAME`.
  func loadModule(_ name: String) throws
  /// The VFs as they are now (after a count change).
  func virtualFunctions() throws -> [PFState.VF]
  /// Binds a VF through `driver_override` (cleared for its own driver) and `drivers_probe`,
  /// checking the driver it ends with.
  func bind(_ vf: PFState.VF, to driver: VFDriver, vfDrivers: [String]) throws
  /// `ip link set PF vf N ...`.
  func setLink(vf: Int, _ change: VFLinkChange) throws
  /// The VFs' link settings as rtnetlink reports them; empty off the live system.
  func linkSettings() throws -> [VFLinkSettings]
  /// Starts listening for the events of a change about to be made.
  func watch() throws
  /// Waits (on the events watched for, or from now) until `count` VFs exist, bound to `drivers`
  /// where given, with their interfaces named.
  func waitUntilReady(count: Int, drivers: [Int: String], interfacesExpected: Bool) throws
  /// The PF's interface and its VFs as they ended.
  func finalState(count: Int, dryRun: Bool) throws -> (interface: String?, vfs: [VFState])
}

/// Carries a plan out through ``HostOperations``, in the plan's order, and reports what it did.
/// Steps the plan made for VFs it creates (their binds and link settings) are resolved once they
/// exist, and one already as asked is left alone. A dry run carries nothing out.
public enum PFExecutor {
  public static func run(
    _ plan: [PFAction], request: VFRequest, state: PFState, operations: HostOperations, dryRun: Bool,
    progress: (String) -> Void = { _ in }
  ) throws -> VFCreationResult {
    let count = request.count
    var done: [String] = []
    if dryRun {
      done = plan.map(\.description)
    } else {
      var suspended = false
      defer { if suspended { try? operations.writeAutoprobe(true) } }
      func record(_ action: String) {
        done.append(action)
        progress(action)
      }
      var index = 0
      while index < plan.count {
        let action = plan[index]
        switch action {
        case .setAutoprobe(let on):
          record(action.description)
          try operations.writeAutoprobe(on)
        case .setMTU(_, let mtu):
          record(action.description)
          try operations.setMTU(mtu)
        case .removeVFs:
          record(action.description)
          try operations.writeNumVFs(0)
        case .bringUp:
          record(action.description)
          try operations.bringUp()
        case .loadVFDriver(let name), .loadModule(let name):
          record(action.description)
          try operations.loadModule(name)
        case .createVFs(let count, let suspendProbe, let expected):
          try operations.watch()
          if suspendProbe {
            try operations.writeAutoprobe(false)
            suspended = true
          }
          record(action.description)
          try operations.writeNumVFs(count)
          if !suspendProbe {
            let drivers = expected.map { driver in Dictionary(uniqueKeysWithValues: (0..<count).map { ($0, driver) }) } ?? [:]
            try operations.waitUntilReady(count: count, drivers: drivers, interfacesExpected: true)
          }
        case .bind, .bindNew:
          // The binds, together: then one wait for their drivers and interfaces.
          var binds: [PFAction] = []
          while index < plan.count, case .bind = plan[index] { binds.append(plan[index]); index += 1 }
          while index < plan.count, case .bindNew = plan[index] { binds.append(plan[index]); index += 1 }
          index -= 1
          try operations.watch()
          let expected = try bind(binds, request: request, state: state, operations: operations, suspended: &suspended, record: record)
          try operations.waitUntilReady(count: count, drivers: expected, interfacesExpected: true)
        case .setLink:
          var changes: [(Int, VFLinkChange)] = []
          while index < plan.count, case .setLink(let vf, let change) = plan[index] { changes.append((vf, change)); index += 1 }
          index -= 1
          let current = try operations.linkSettings()
          for (vf, change) in changes {
            // VFs just created may already be as asked (VLAN 0, spoof checking on).
            if let now = current.first(where: { $0.index == vf }), change.isSatisfied(by: now) { continue }
            record(PFAction.setLink(vf: vf, change).description)
            try operations.setLink(vf: vf, change)
          }
          // Read back: a driver may accept a setting and not apply it.
          let after = try operations.linkSettings()
          for (vf, change) in changes {
            guard let settings = after.first(where: { $0.index == vf }) else { continue }
            if !change.isSatisfied(by: settings) {
              throw VFCreationError.notApplied(vf: vf, setting: change.description, reported: change.reported(in: settings))
            }
          }
        }
        index += 1
      }
      if suspended {
        try operations.writeAutoprobe(true)
        suspended = false
      }
      if count > 0 {
        // The report names interfaces as they are: none that udev is still renaming.
        try operations.waitUntilReady(count: count, drivers: [:], interfacesExpected: false)
      }
    }
    let final = try operations.finalState(count: count, dryRun: dryRun)
    return VFCreationResult(
      pf: state.address, interface: final.interface, changed: !done.isEmpty, dryRun: dryRun, previous: state.numVFs,
      numVFs: dryRun ? count : final.vfs.count, actions: done, vfs: final.vfs)
  }

  /// Binds, resolving VFs the plan created; returns the driver each VF must end with.
  private static func bind(
    _ binds: [PFAction], request: VFRequest, state: PFState, operations: HostOperations, suspended: inout Bool,
    record: (String) -> Void
  ) throws -> [Int: String] {
    let vfs = binds.contains { if case .bindNew = $0 { return true } else { return false } }
      ? try operations.virtualFunctions() : state.vfs
    var pending: [(PFState.VF, VFDriver)] = []
    for action in binds {
      switch action {
      case .bind(let index, _, let driver, _):
        if let vf = vfs.first(where: { $0.index == index }) { pending.append((vf, driver)) }
      case .bindNew(let range, let driver):
        for vf in vfs where range.contains(vf.index) {
          if !PFPlanner.has(driver, bound: vf.driver, override: vf.driverOverride, vfDrivers: state.vfDrivers) {
            pending.append((vf, driver))
          }
        }
      default: break
      }
    }
    var expected: [Int: String] = [:]
    for (vf, driver) in pending {
      switch driver {
      case .named(let name): expected[vf.index] = name.description
      case .kernel: if let first = state.vfDrivers.first { expected[vf.index] = first }
      }
    }
    let created = binds.contains { if case .bindNew = $0 { return true } else { return false } }
    if created {
      // What the planner checks for existing VFs, checked now that these exist.
      let loads = try PFPlanner.modulesToLoad(for: pending, state)
      for name in loads {
        record(PFAction.loadModule(name).description)
        try operations.loadModule(name)
      }
    }
    // Named drivers first. The PCI core probes a VF without driver_override only while its PF's
    // sriov_drivers_autoprobe is 1 (pci_device_can_probe): it is restored before a VF is given
    // back to its own driver.
    for (vf, driver) in pending.filter({ $0.1 != .kernel }) + pending.filter({ $0.1 == .kernel }) {
      if driver == .kernel && suspended {
        try operations.writeAutoprobe(true)
        suspended = false
      }
      record(PFAction.bind(vf: vf.index, address: vf.address, driver: driver, was: vf.driver).description)
      try operations.bind(vf, to: driver, vfDrivers: state.vfDrivers)
    }
    return expected
  }
}
