/// One VF after `create-vfs`, as read back from sysfs and rtnetlink.
public struct VFState: Sendable, Equatable, JSONRepresentable {
  public var index: Int
  public var address: PCIAddress
  public var interface: String?
  public var driver: String?
  public var settings: VFLinkSettings?

  public init(index: Int, address: PCIAddress, interface: String?, driver: String?, settings: VFLinkSettings?) {
    (self.index, self.address, self.interface, self.driver, self.settings) = (index, address, interface, driver, settings)
  }

  public var json: JSON {
    .object([
      ("index", .int(index)),
      ("pci_address", .string(address.description)),
      ("interface", .string(interface)),
      ("driver", .string(driver)),
      ("mac", .string(settings?.mac?.description)),
      ("vlan", .int(settings?.vlan)),
      ("trust", settings?.trust.map(JSON.bool) ?? .null),
      ("spoofchk", settings?.spoofCheck.map(JSON.bool) ?? .null),
      ("link_state", .string(settings?.linkState?.rawValue)),
      ("max_tx_rate", .int(settings?.maxTxRate)),
    ])
  }
}

/// What `create-vfs` did, or with `--dry-run` would do.
public struct VFCreationResult: Sendable, Equatable, JSONRepresentable {
  public var pf: PCIAddress
  public var interface: String?
  public var changed: Bool
  public var dryRun: Bool
  /// The VF count before the run.
  public var previous: Int
  /// The VF count after it (with `--dry-run`, the count asked for).
  public var numVFs: Int
  /// Each change, in the order made, as a sentence.
  public var actions: [String]
  public var vfs: [VFState]

  public init(
    pf: PCIAddress, interface: String?, changed: Bool, dryRun: Bool, previous: Int, numVFs: Int,
    actions: [String], vfs: [VFState]
  ) {
    (self.pf, self.interface, self.changed, self.dryRun) = (pf, interface, changed, dryRun)
    (self.previous, self.numVFs, self.actions, self.vfs) = (previous, numVFs, actions, vfs)
  }

  public var json: JSON {
    .object([
      ("pf", .string(pf.description)),
      ("interface", .string(interface)),
      ("changed", .bool(changed)),
      ("dry_run", .bool(dryRun)),
      ("previous", .int(previous)),
      ("num_vfs", .int(numVFs)),
      ("actions", .array(actions.map(JSON.string))),
      ("vfs", .array(vfs.map(\.json))),
    ])
  }
}

/// Why `create-vfs` stopped. Each description says what happened and what to do.
public enum VFCreationError: Error, Equatable, CustomStringConvertible {
  case notLive(HostRoot)
  case countAboveTotal(pf: PCIAddress, count: Int, total: Int, remedy: String?)
  case noInterface(pf: PCIAddress)
  case inUse(pf: PCIAddress, [String])
  case kernelRefused(pf: PCIAddress, message: String, remedy: String, actual: Int)
  case writeHung(pf: PCIAddress, count: Int, seconds: Double)
  case notReady(pf: PCIAddress, seconds: Double, missing: [String])
  case pfNotReady(pf: PCIAddress, seconds: Double)
  /// udev had not finished naming the PF's interface by the deadline.
  case pfNotNamed(pf: PCIAddress, interface: String, seconds: Double)
  case noIOMMUGroup(vf: PCIAddress, driver: String)
  case bindFailed(vf: PCIAddress, driver: String, reason: String)
  case settingFailed(String)
  /// The PF's driver does not implement a VF setting (the kernel said EOPNOTSUPP).
  case settingUnsupported(pf: PCIAddress, driver: String?, vf: Int, VFLinkChange)
  case notApplied(vf: Int, setting: String, reported: String)
  case noMACBase(pf: PCIAddress, path: String)

  public var description: String {
    switch self {
    case .notLive(let root):
      return "create-vfs changes the running kernel; under --root \(root) only --dry-run is possible"
    case .countAboveTotal(let pf, let count, let total, let remedy):
      if total == 0 {
        return "\(pf) offers no VFs (sriov_totalvfs is 0): SR-IOV is disabled in the NIC's firmware or the BIOS"
          + (remedy.map { "; \($0)" } ?? "")
      }
      return "\(pf) allows at most \(total) VFs (sriov_totalvfs); \(count) were asked for. Nothing was changed"
    case .noInterface(let pf):
      return "\(pf) has no network interface, which VF settings (--mac, --vlan, ...) are made through; bind the PF's network driver first"
    case .inUse(let pf, let vfs):
      return "\(pf): changing the VF count destroys every VF, and these are in use: "
        + vfs.joined(separator: "; ") + ". Nothing was changed; stop using them or add --force"
    case .kernelRefused(let pf, let message, let remedy, let actual):
      return "\(pf): \(message); \(remedy). The PF now has \(actual) VFs"
    case .writeHung(let pf, let count, let seconds):
      return "\(pf): writing \(count) to sriov_numvfs had not returned after \(Int(seconds)) s: the PF driver "
        + "is stuck (see the kernel log); the write may still complete"
    case .notReady(let pf, let seconds, let missing):
      return "\(pf): the VFs were not ready after \(Int(seconds)) s: " + missing.joined(separator: "; ")
    case .pfNotReady(let pf, let seconds):
      return "\(pf) had no driver bound (or no network interface) after \(Int(seconds)) s; check that its driver is installed (sriovctl check)"
    case .pfNotNamed(let pf, let interface, let seconds):
      return "\(pf): udev had not finished naming its interface \(interface) after \(Int(seconds)) s, and an interface "
        + "must not be touched before (see journalctl -u systemd-udevd); nothing was changed"
    case .noIOMMUGroup(let vf, let driver):
      return "\(vf) is in no IOMMU group, which \(driver) needs: enable the IOMMU (see 'sriovctl check')"
    case .bindFailed(let vf, let driver, let reason):
      return "binding \(vf) to \(driver) failed: \(reason)"
    case .settingFailed(let message):
      return message
    case .settingUnsupported(let pf, let driver, let vf, let change):
      return "\(pf): \(driver ?? "the PF's driver") cannot set \(change.setting.option) on its VFs (the kernel said "
        + "EOPNOTSUPP for VF \(vf) \(change)); leave \(change.setting.option) out for this NIC (the README lists which "
        + "drivers support which VF settings)"
    case .notApplied(let vf, let setting, let reported):
      return "VF \(vf): \(setting) was accepted but the driver reports \(reported)"
    case .noMACBase(let pf, let path):
      return "\(pf): --mac auto derives VF addresses from the PF's MAC, and none could be read (\(path) is "
        + "missing or holds no unicast address); give --mac INDEX=MAC instead. Nothing was changed"
    }
  }
}

/// `sriovctl create-vfs`: brings a PF to exactly N VFs configured as asked, safely and
/// idempotently (Documentation/PCI/pci-iov-howto.rst; `ip link set PF vf N ...`).
public enum VFCreation {
  /// Plans the changes and, unless `dryRun`, makes them and waits until the VFs are ready.
  ///
  /// - Parameter progress: called with each action as it is about to be made.
  public static func run(
    _ request: VFRequest, root: HostRoot, dryRun: Bool,
    progress: @escaping (String) -> Void = { _ in }
  ) throws -> VFCreationResult {
    try request.validate()
    guard dryRun || root.isLive else { throw VFCreationError.notLive(root) }
    let deadline = Deadline(secondsFromNow: request.timeout)
    // Concurrent runs take turns; the state is read only once the lock is held.
    let lock = dryRun ? nil : try RunLock(root: root, deadline: deadline, timeout: request.timeout)
    defer { withExtendedLifetime(lock) {} }
    return try runHoldingLock(request, root: root, dryRun: dryRun, deadline: deadline, progress: progress)
  }

  /// One PF's run, the caller holding the run lock (``NodeApply`` takes it once for every PF).
  static func runHoldingLock(
    _ request: VFRequest, root: HostRoot, dryRun: Bool, deadline: Deadline,
    progress: @escaping (String) -> Void
  ) throws -> VFCreationResult {
    try request.validate()
    guard dryRun || root.isLive else { throw VFCreationError.notLive(root) }
    if request.waitForPF && !dryRun {
      try waitForPF(request, root: root, deadline: deadline)
    }
    // Read, decide, then act: the plan is the dry run.
    let operations = try LiveHostOperations(request: request, root: root, dryRun: dryRun, deadline: deadline)
    let state = try operations.readState()
    let plan = try PFPlanner.plan(request, state)
    return try PFExecutor.run(plan, request: request, state: state, operations: operations, dryRun: dryRun, progress: progress)
  }

  /// With --wait-for-pf (at boot, while udev may still be loading the driver): waits on uevents
  /// until the PF exists with its driver bound and, for a kernel Ethernet driver or when VF
  /// settings need it, its interface, and until udev has finished with that interface.
  private static func waitForPF(_ request: VFRequest, root: HostRoot, deadline: Deadline) throws {
    let outcome = try UeventMonitor.wait(until: deadline) { () -> (done: Bool, value: Error?) in
      do {
        let pf = try Inventory.discover(root: root, names: false).select([request.pf], root: root)[0]
        let device = PCIDeviceAttributes(root: root).directory(pf.address)
        switch try InterfaceReadiness.of(device: device, root: root) {
        case .ready:
          return (true, nil)
        case .renaming(let name), .pending(let name, _):
          return (false, VFCreationError.pfNotNamed(pf: pf.address, interface: name, seconds: request.timeout))
        case .absent:
          let needsInterface = try makesInterface(pf, root: root) || request.wantsLinkSettings || request.mtu != nil
          if pf.driver != nil && !needsInterface { return (true, nil) }
          return (false, VFCreationError.pfNotReady(pf: pf.address, seconds: request.timeout))
        }
      } catch {
        // Not there yet (no such PF, no driver): looked at again on the next event.
        return (false, error)
      }
    }
    if !outcome.done, let failure = outcome.value { throw failure }
  }

  /// Whether the PF's bound driver registers a network interface: a kernel driver of an Ethernet
  /// controller (PCI class 0x0200, sysfs `class`) does so within its probe, while the driver link
  /// already exists (drivers/base/dd.c `really_probe`), so at boot the link alone is too early.
  private static func makesInterface(_ pf: PhysicalFunction, root: HostRoot) throws -> Bool {
    guard let driver = pf.driver, !(DriverName(driver)?.isUserspaceIO ?? false) else { return false }
    guard let classCode = try PCIDeviceAttributes(root: root).classCode(pf.address) else { return false }
    return classCode >> 8 == 0x0200
  }

  /// The MAC `mac: auto` derives VF addresses from: the PF's permanent MAC (`ethtool -P`), or
  /// its current one when the driver has none.
  ///
  /// - Throws: ``VFCreationError/noMACBase(pf:path:)`` when neither gives a unicast address.
  static func macBase(pf: PCIAddress, interface: String, root: HostRoot) throws -> MACAddress {
    if root.isLive, let permanent = permanentMAC(of: interface) { return permanent }
    let path = "/sys/class/net/\(interface)/address"
    guard let text = try? root.readAttribute(path), let mac = MACAddress(text), !mac.isZero, !mac.isMulticast else {
      throw VFCreationError.noMACBase(pf: pf, path: path)
    }
    return mac
  }

  /// The modules that claim `pf`'s VFs, by modalias (libkmod); empty when unknown.
  static func vfDefaultDrivers(_ pf: PhysicalFunction, root: HostRoot) -> [String] {
    guard let modules = try? KernelModules(root: root), let alias = Readiness.vfModalias(pf, root: root) else { return [] }
    return modules.modules(matching: alias)
  }

  /// What create-vfs still waits for once `count` VFs should exist on `pf`, as sentences; empty
  /// when they are ready. Each VF must exist and, where `drivers` names one, be bound to it; a VF whose kernel
  /// driver made a network interface must have one whose name is final (udev has finished with
  /// it, where udevd runs). With `interfacesExpected` (VFs just created or bound) a kernel driver
  /// must have made one; otherwise a VF without an interface is left alone (it may have been moved
  /// to another network namespace). Interfaces are followed through each VF's own sysfs
  /// directory: the kernel may already have reused a name udev renamed away for another VF.
  public static func unreadyVFs(
    pf: PCIAddress, count: Int, drivers: [Int: String], interfacesExpected: Bool, root: HostRoot
  ) throws -> [String] {
    let sysfs = PCIDeviceAttributes(root: root)
    let udevRunning = InterfaceReadiness.udevRunning(root)
    let created = Dictionary(try sysfs.virtualFunctionLinks(pf), uniquingKeysWith: { a, _ in a })
    var missing: [String] = []
    for index in 0..<max(0, count) {
      guard let address = created[index] else {
        missing.append("VF \(index) was not created")
        continue
      }
      let bound = try sysfs.driver(address)
      if let wanted = drivers[index], bound?.replacingDashes() != wanted.replacingDashes() {
        missing.append("VF \(index) (\(address)) is not bound to \(wanted)")
        continue
      }
      guard let bound, !(DriverName(bound)?.isUserspaceIO ?? true) else { continue }
      let interface = try InterfaceReadiness.of(device: sysfs.directory(address), root: root, udevRunning: udevRunning)
      switch interface {
      case .ready: continue
      case .absent where !interfacesExpected: continue
      case .absent, .renaming, .pending: missing.append("VF \(index) (\(address)) \(interface)")
      }
    }
    return missing
  }
}
