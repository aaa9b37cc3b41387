/// One VF after `create-vfs`, as read back from sysfs and rtnetlink.
public struct VFState: Sendable, Equatable, JSONRepresentable {
  public var index: Int
  public var address: PCIAddress
  public var interface: String?
  public var driver: String?
  public var settings: VFLinkSettings?

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
    var run = try Run(request: request, root: root, dryRun: dryRun, deadline: deadline, progress: progress)
    return try run.execute()
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

  /// One run's state.
  private struct Run {
    let request: VFRequest
    let root: HostRoot
    let dryRun: Bool
    let deadline: Deadline
    let progress: (String) -> Void
    let sysfs: PCIDeviceAttributes
    let links: NetworkLinks?
    let modules: KernelModules?
    var pf: PhysicalFunction
    /// The PF's interface name, read after the wait for udev: for messages only.
    var interface: String?
    /// The PF's interface, by which netlink finds it (its name could change; its index cannot).
    var ifindex: Int32?
    var actions: [String] = []
    /// With `--mac auto`: the PF's MAC the VF addresses derive from, read once before any change.
    var macBase: MACAddress?
    /// Set while `sriov_drivers_autoprobe` is held at 0 so that new VFs wait for --driver.
    var suspendedAutoprobe = false

    init(
      request: VFRequest, root: HostRoot, dryRun: Bool, deadline: Deadline,
      progress: @escaping (String) -> Void
    ) throws {
      self.request = request
      self.root = root
      self.dryRun = dryRun
      self.deadline = deadline
      self.progress = progress
      sysfs = PCIDeviceAttributes(root: root)
      let inventory = try Inventory.discover(root: root, names: false)
      pf = try inventory.select([request.pf], root: root)[0]
      links = root.isLive ? try NetworkLinks() : nil
      modules = try? KernelModules(root: root)
      // udev, where it runs, must have finished with the PF's interface before it is touched: an
      // interface that is up cannot be renamed. The name is then final, and the index follows it.
      var readiness = try InterfaceReadiness.of(device: sysfs.directory(pf.address), root: root)
      if !dryRun { readiness = try Run.waitUntilNamed(readiness, pf: pf.address, root: root, deadline: deadline) }
      switch readiness {
      case .absent: break
      case .ready(let name, let index): (interface, ifindex) = (name, index)
      case .pending(let name, let index):
        guard dryRun else { throw VFCreationError.pfNotNamed(pf: pf.address, interface: name, seconds: request.timeout) }
        (interface, ifindex) = (name, index)
      case .renaming(let name):
        guard dryRun else { throw VFCreationError.pfNotNamed(pf: pf.address, interface: name, seconds: request.timeout) }
        interface = name
      }
    }

    /// Waits on uevents while udev is naming the PF's interface (`readiness`, just read).
    private static func waitUntilNamed(
      _ readiness: InterfaceReadiness, pf: PCIAddress, root: HostRoot, deadline: Deadline
    ) throws -> InterfaceReadiness {
      let device = PCIDeviceAttributes(root: root).directory(pf)
      var first: InterfaceReadiness? = readiness
      return try UeventMonitor.wait(until: deadline) { () -> (done: Bool, value: InterfaceReadiness) in
        let now = try first ?? InterfaceReadiness.of(device: device, root: root)
        first = nil
        switch now {
        case .absent, .ready: return (true, now)
        case .pending, .renaming: return (false, now)
        }
      }.value
    }

    private var directory: String { sysfs.directory(pf.address) }
    private var udevRunning: Bool { InterfaceReadiness.udevRunning(root) }

    /// Records an action and, unless this is a dry run, performs it.
    private mutating func act(_ action: String, _ body: () throws -> Void) throws {
      actions.append(action)
      guard !dryRun else { return }
      progress(action)
      try body()
    }

    mutating func execute() throws -> VFCreationResult {
      let count = request.count
      try request.checkCount(on: pf)
      if request.wantsLinkSettings || request.mtu != nil, interface == nil {
        throw VFCreationError.noInterface(pf: pf.address)
      }
      // Before any change: --mac auto that cannot be honoured must not leave VFs half made.
      if request.wantsDerivedMAC, count > 0, let interface { macBase = try autoMACBase(interface) }
      let previous = pf.numVFs
      defer {
        if suspendedAutoprobe { try? root.writeAttribute(directory + "/sriov_drivers_autoprobe", "1") }
      }
      try setAutoprobe()
      try setMTU()
      if previous != count {
        try changeCount(from: previous, to: count)
      }
      if count > 0, !request.drivers.isEmpty || suspendedAutoprobe {
        let monitor = dryRun ? nil : try UeventMonitor()
        let bound = try bindDrivers()
        // A network driver bound now makes interfaces that udev then renames.
        if let monitor {
          try waitUntilReady(count: count, drivers: bound, interfacesExpected: true, monitor: monitor)
        }
      }
      if count > 0, request.wantsLinkSettings {
        try configureLinks()
      }
      if count > 0, !dryRun {
        // The report names interfaces as they are: none that udev is still renaming.
        try waitUntilReady(count: count, drivers: [:], interfacesExpected: false, monitor: nil)
      }
      let vfs = try finalState()
      return VFCreationResult(
        pf: pf.address, interface: try currentInterface(), changed: !actions.isEmpty, dryRun: dryRun,
        previous: previous, numVFs: dryRun ? count : vfs.count, actions: actions, vfs: vfs)
    }

    // MARK: The PF

    private mutating func setAutoprobe() throws {
      guard let wanted = request.autoprobe, pf.driversAutoprobe != wanted else { return }
      let root = self.root
      let path = directory + "/sriov_drivers_autoprobe"
      try act("set sriov_drivers_autoprobe to \(wanted ? 1 : 0)") {
        try root.writeAttribute(path, wanted ? "1" : "0")
      }
    }

    private mutating func setMTU() throws {
      guard let mtu = request.mtu, let interface else { return }
      var current: Int?
      if let links, let ifindex {
        current = try links.link(ifindex: ifindex).mtu
      } else {
        current = try root.readInteger(directory + "/net/\(interface)/mtu")
      }
      guard current != mtu else { return }
      let (links, ifindex) = (self.links, self.ifindex)
      try act("set the MTU of \(interface) to \(mtu)") {
        if let links, let ifindex { try links.setMTU(ifindex: ifindex, mtu) }
      }
    }

    /// The PF's interface name as the kernel has it now (the report's), else as last read.
    private func currentInterface() throws -> String? {
      guard let links, let ifindex else { return interface }
      return try links.link(ifindex: ifindex).name
    }

    // MARK: The count

    private mutating func changeCount(from previous: Int, to count: Int) throws {
      if previous > 0 {
        let busy = try vfsInUse()
        if !busy.isEmpty && !request.force {
          throw VFCreationError.inUse(pf: pf.address, busy)
        }
        let note = busy.isEmpty ? "" : " (--force: \(busy.count) in use)"
        let (pf, root, deadline, timeout) = (self.pf, self.root, self.deadline, request.timeout)
        try act("remove the \(previous) VFs: write 0 to sriov_numvfs\(note)") {
          try Run.writeCount(0, pf: pf, root: root, deadline: deadline, timeout: timeout)
        }
      }
      guard count > 0 else { return }
      // udev has finished with the interface (waitForPF), so bringing it up cannot stop a rename.
      if let interface, try !isUp(interface) {
        let (links, ifindex) = (self.links, self.ifindex)
        try act("bring \(interface) up") {
          if let links, let ifindex { try links.setUp(ifindex: ifindex) }
        }
      }
      // With a named --driver, VFs are created without probing their default driver, so no
      // netdev comes and goes before they are bound to the one asked for; the others are then
      // probed one by one (bindDrivers).
      let autoprobe = request.autoprobe ?? pf.driversAutoprobe ?? true
      let suspendProbe = request.wantsNamedDriver && autoprobe
      var expected: String?
      if !suspendProbe, autoprobe, let vfDriver = try prepareDefaultDriver() {
        expected = vfDriver
      }
      let monitor = dryRun ? nil : try UeventMonitor()
      let root = self.root
      let autoprobePath = directory + "/sriov_drivers_autoprobe"
      if suspendProbe && !dryRun {
        try root.writeAttribute(autoprobePath, "0")
        suspendedAutoprobe = true
      }
      let (pf, deadline, timeout) = (self.pf, self.deadline, request.timeout)
      try act("create \(count) VFs: write \(count) to sriov_numvfs") {
        try Run.writeCount(count, pf: pf, root: root, deadline: deadline, timeout: timeout)
      }
      if let monitor, !suspendProbe {
        let drivers = expected.map { driver in Dictionary(uniqueKeysWithValues: (0..<count).map { ($0, driver) }) } ?? [:]
        try waitUntilReady(count: count, drivers: drivers, interfacesExpected: true, monitor: monitor)
      }
    }

    /// Whether an interface is up: from rtnetlink on the running system, else from sysfs
    /// (IFF_UP in `flags`; an interface without the attribute is taken as up).
    private func isUp(_ interface: String) throws -> Bool {
      if let links, let ifindex { return try links.link(ifindex: ifindex).isUp }
      return try root.readInteger(directory + "/net/\(interface)/flags").map { $0 & 1 == 1 } ?? true
    }

    /// Writes the count, explaining a refusal and reporting the state the kernel left.
    private static func writeCount(
      _ count: Int, pf: PhysicalFunction, root: HostRoot, deadline: Deadline, timeout: Double
    ) throws {
      switch try NumVFs.write(count, pf: pf.address, root: root, deadline: deadline) {
      case .done: return
      case .hung:
        throw VFCreationError.writeHung(pf: pf.address, count: count, seconds: timeout)
      case .failed(let code):
        let (message, remedy) = NumVFs.explain(code, count: count, pf: pf)
        let path = "/sys/bus/pci/devices/\(pf.address)/sriov_numvfs"
        let actual = (try? root.readInteger(path)).flatMap { $0 } ?? 0
        throw VFCreationError.kernelRefused(pf: pf.address, message: message, remedy: remedy, actual: actual)
      }
    }

    /// The VFs that destroying them would hurt: bound to a driver other than their own (vfio-pci
    /// for a VM or DPDK), their netdev gone to another network namespace, or up with addresses.
    private func vfsInUse() throws -> [String] {
      let defaults = Set(vfDefaultDrivers().map { $0.replacingDashes() })
      var busy: [String] = []
      for vf in pf.vfs {
        let name = "VF \(vf.index) (\(vf.address)\(vf.interface.map { ", \($0)" } ?? ""))"
        if let driver = vf.driver {
          let own = defaults.isEmpty ? !(DriverName(driver)?.isUserspaceIO ?? false) : defaults.contains(driver.replacingDashes())
          if !own {
            busy.append("\(name) is bound to \(driver)")
            continue
          }
          if vf.interface == nil {
            busy.append("\(name) has its network interface in another network namespace")
            continue
          }
        }
        // Through the VF's own directory: /sys/class/net/NAME may be another interface by now.
        let net = sysfs.directory(vf.address) + "/net/\(vf.interface ?? "")"
        if vf.interface != nil, let links,
          (try root.readInteger(net + "/flags")).map({ $0 & 1 == 1 }) == true,
          let index = try root.readInteger(net + "/ifindex").flatMap({ Int32(exactly: $0) })
        {
          let addresses = try links.routableAddresses(ifindex: index)
          if !addresses.isEmpty {
            busy.append("\(name) is up with \(addresses.joined(separator: ", "))")
          }
        }
      }
      return busy
    }

    /// The modules that claim this PF's VFs, by modalias.
    private func vfDefaultDrivers() -> [String] {
      guard let modules, let alias = Readiness.vfModalias(pf, root: root) else { return [] }
      return modules.modules(matching: alias)
    }

    /// The driver the kernel will bind to new VFs, loaded now when no udevd would load it;
    /// `nil` when none is available (the VFs are then left unbound, and not waited for).
    private mutating func prepareDefaultDriver() throws -> String? {
      guard let modules, let driver = vfDefaultDrivers().first else { return nil }
      switch modules.availability(of: driver) {
      case .loaded, .builtIn: return driver
      case .missing: return nil
      case .loadable, .blacklisted:
        if udevRunning { return driver }
        try act("load the VF driver \(driver)") { try modules.load(driver) }
        return driver
      }
    }

    /// Waits, on uevents, until ``VFCreation/unreadyVFs(pf:count:drivers:interfacesExpected:root:)``
    /// has nothing left. Open `monitor` before the change whose result is awaited; without one,
    /// one is opened only if there is something to wait for.
    private func waitUntilReady(count: Int, drivers: [Int: String], interfacesExpected: Bool, monitor: UeventMonitor?) throws {
      let outcome = try UeventMonitor.wait(until: deadline, monitor: monitor) { () -> (done: Bool, value: [String]) in
        let missing = try VFCreation.unreadyVFs(
          pf: pf.address, count: count, drivers: drivers, interfacesExpected: interfacesExpected, root: root)
        return (missing.isEmpty, missing)
      }
      if !outcome.done {
        throw VFCreationError.notReady(pf: pf.address, seconds: request.timeout, missing: outcome.value)
      }
    }

    // MARK: Drivers

    /// The driver VF `index` is to be bound to: as asked, else (while new VFs were created
    /// without probing, for another VF's named driver) its own.
    private func wantedDriver(_ index: Int) -> VFDriver? {
      request.drivers.value(for: index) ?? (suspendedAutoprobe ? .kernel : nil)
    }

    /// Whether a VF bound to `bound` with `override` already has `wanted`.
    private func hasDriver(_ wanted: VFDriver, bound: String?, override: String?, defaults: Set<String>) -> Bool {
      switch wanted {
      case .named(let name):
        return bound?.replacingDashes() == name.description.replacingDashes() && override == name.description
      case .kernel:
        guard let bound, override == nil || override == "" || override == "(null)" else { return false }
        return defaults.isEmpty ? !(DriverName(bound)?.isUserspaceIO ?? false) : defaults.contains(bound.replacingDashes())
      }
    }

    /// Binds each VF to the driver asked for (driver_override for a named one; cleared, then a
    /// probe, for its own kernel driver). Returns the driver each VF must end up with, by index,
    /// for the readiness wait.
    private mutating func bindDrivers() throws -> [Int: String] {
      let created = dryRun && pf.numVFs != request.count ? [] : try sysfs.virtualFunctionLinks(pf.address)
      let defaultDrivers = vfDefaultDrivers()
      let defaults = Set(defaultDrivers.map { $0.replacingDashes() })
      var expected: [Int: String] = [:]
      for index in 0..<request.count {
        switch wantedDriver(index) {
        case .named(let name)?: expected[index] = name.description
        case .kernel?: if let first = defaultDrivers.first { expected[index] = first }
        case nil: break
        }
      }
      guard !created.isEmpty else {
        // A dry run before the VFs exist: the plan by driver, in ranges of VFs.
        // New VFs get their own driver by themselves when probed automatically.
        let probed = (request.autoprobe ?? pf.driversAutoprobe ?? true) && !request.wantsNamedDriver
        var byDriver: [(VFDriver, [Int])] = []
        for index in 0..<request.count {
          guard let wanted = wantedDriver(index), !(wanted == .kernel && probed) else { continue }
          if let last = byDriver.last, last.0 == wanted { byDriver[byDriver.count - 1].1.append(index) } else { byDriver.append((wanted, [index])) }
        }
        for (driver, indexes) in byDriver {
          let vfs = indexes.count == 1 ? "VF \(indexes[0])" : "VFs \(indexes.first!)-\(indexes.last!)"
          switch driver {
          case .named(let name): actions.append("bind \(vfs) to \(name) (driver_override)")
          case .kernel: actions.append("bind \(vfs) to their own kernel driver")
          }
        }
        return expected
      }
      var pending: [(Int, PCIAddress, String?, VFDriver)] = []
      for (index, vf) in created.prefix(request.count) {
        guard let wanted = wantedDriver(index) else { continue }
        let bound = try sysfs.driver(vf)
        let override = try root.readAttribute(sysfs.directory(vf) + "/driver_override")
        if !hasDriver(wanted, bound: bound, override: override, defaults: defaults) {
          pending.append((index, vf, bound, wanted))
        }
      }
      guard !pending.isEmpty else { return expected }
      for (_, vf, _, wanted) in pending {
        if case .named(let name) = wanted, name.description.hasPrefix("vfio"), try sysfs.iommuGroup(vf) == nil {
          throw VFCreationError.noIOMMUGroup(vf: vf, driver: name.description)
        }
      }
      if let modules {
        var names: [String] = []
        for (_, _, _, wanted) in pending {
          if case .named(let name) = wanted, !names.contains(name.description) { names.append(name.description) }
        }
        for name in names {
          switch modules.availability(of: name) {
          case .loaded, .builtIn: break
          case .loadable, .blacklisted, .missing:
            try act("load the kernel module \(name)") { try modules.load(name) }
          }
        }
      }
      let root = self.root
      let sysfs = self.sysfs
      // Named drivers first. The PCI core probes a VF without driver_override only while its
      // PF's sriov_drivers_autoprobe is 1 (pci_device_can_probe), so it is restored before a VF
      // is given back to its own driver.
      pending = pending.filter { $0.3 != .kernel } + pending.filter { $0.3 == .kernel }
      for (index, vf, bound, wanted) in pending {
        if wanted == .kernel && suspendedAutoprobe {
          try root.writeAttribute(directory + "/sriov_drivers_autoprobe", "1")
          suspendedAutoprobe = false
        }
        let target: String
        switch wanted {
        case .named(let name): target = name.description
        case .kernel: target = "its own kernel driver"
        }
        try act("bind VF \(index) (\(vf)) to \(target)" + (bound.map { " (was \($0))" } ?? "")) {
          let directory = sysfs.directory(vf)
          switch wanted {
          case .named(let name): try root.writeAttribute(directory + "/driver_override", name.description)
          // An empty override lets the bus match the VF's own driver again (driver_set_override).
          case .kernel: try root.writeAttribute(directory + "/driver_override", "\n")
          }
          if bound != nil { try root.writeAttribute(directory + "/driver/unbind", vf.description) }
          do {
            try root.writeAttribute("/sys/bus/pci/drivers_probe", vf.description)
          } catch HostError.writeFailed(_, _, let code) {
            throw VFCreationError.bindFailed(vf: vf, driver: target, reason: Errno.describe(code))
          }
          let now = try sysfs.driver(vf)
          let done: Bool
          switch wanted {
          case .named(let name): done = now?.replacingDashes() == name.description.replacingDashes()
          case .kernel: done = now.map { defaults.isEmpty || defaults.contains($0.replacingDashes()) } ?? false
          }
          guard done else {
            throw VFCreationError.bindFailed(
              vf: vf, driver: target, reason: "the VF is bound to \(now ?? "no driver") (see the kernel log)")
          }
        }
      }
      return expected
    }

    // MARK: VF settings

    private mutating func configureLinks() throws {
      guard let interface else { return }
      let ifindex = self.ifindex
      var current: [VFLinkSettings] = []
      if let links, let ifindex { current = try links.link(ifindex: ifindex).vfs }
      for index in 0..<request.count {
        let now = current.first { $0.index == index }
        let wanted = request.linkChanges(forVF: index, macBase: macBase)
        for change in wanted where !(now.map { change.isSatisfied(by: $0) } ?? false) {
          let links = self.links
          try act("set VF \(index) \(change)") {
            do {
              if let links, let ifindex { try links.change(pf: ifindex, vf: index, change) }
            } catch let error as NetworkLinks.Error {
              throw VFCreationError.settingFailed("\(error)")
            }
          }
        }
      }
      guard !dryRun, let links, let ifindex else { return }
      // Read back: a driver may accept a setting and not apply it.
      let after = try links.link(ifindex: ifindex).vfs
      for index in 0..<request.count {
        guard let settings = after.first(where: { $0.index == index }) else { continue }
        for change in request.linkChanges(forVF: index, macBase: macBase) where !change.isSatisfied(by: settings) {
          throw VFCreationError.notApplied(vf: index, setting: change.description, reported: change.reported(in: settings))
        }
      }
    }

    /// The PF's permanent MAC (`ethtool -P`), or its current one when the driver has none.
    ///
    /// - Throws: ``VFCreationError/noMACBase(pf:path:)`` when neither gives a unicast address:
    ///   `--mac auto` cannot be honoured, which is an error in a dry run too.
    private func autoMACBase(_ interface: String) throws -> MACAddress {
      try VFCreation.macBase(pf: pf.address, interface: interface, root: root)
    }

    // MARK: The result

    private func finalState() throws -> [VFState] {
      guard !dryRun else {
        // The VFs as they are now, when the count stays; the plan says what would change.
        guard pf.numVFs == request.count else { return [] }
        return pf.vfs.map {
          VFState(index: $0.index, address: $0.address, interface: $0.interface, driver: $0.driver, settings: nil)
        }
      }
      var settings: [VFLinkSettings] = []
      if let links, let ifindex { settings = try links.link(ifindex: ifindex).vfs }
      return try sysfs.virtualFunctionLinks(pf.address).map { index, address in
        VFState(
          index: index, address: address, interface: try sysfs.interfaces(address).first,
          driver: try sysfs.driver(address), settings: settings.first { $0.index == index })
      }
    }
  }
}
