/// ``HostOperations`` on a host (or, read-only, on a tree under `--root`): sysfs through the
/// host root, rtnetlink through libnl-route-3, modules through libkmod, waits on uevents.
public final class LiveHostOperations: HostOperations {
  let request: VFRequest
  let root: HostRoot
  let deadline: Deadline
  let sysfs: PCIDeviceAttributes
  let links: NetworkLinks?
  let modules: KernelModules?
  let pf: PhysicalFunction
  /// The PF's interface name, read after the wait for udev: for messages only.
  let interface: String?
  /// The PF's interface, by which netlink finds it (its name could change; its index cannot).
  let ifindex: Int32?
  /// Opened before a change whose events are awaited.
  private var monitor: UeventMonitor?

  /// Finds the PF and, unless `dryRun`, waits until udev (where it runs) has finished with its
  /// interface: an interface that is up cannot be renamed. The name is then final, and the index
  /// follows it.
  public init(request: VFRequest, root: HostRoot, dryRun: Bool, deadline: Deadline) throws {
    self.request = request
    self.root = root
    self.deadline = deadline
    sysfs = PCIDeviceAttributes(root: root)
    pf = try Inventory.discover(root: root, names: false).select([request.pf], root: root)[0]
    links = root.isLive ? try NetworkLinks() : nil
    modules = try? KernelModules(root: root)
    var readiness = try InterfaceReadiness.of(device: sysfs.directory(pf.address), root: root)
    if !dryRun {
      let device = sysfs.directory(pf.address)
      var first: InterfaceReadiness? = readiness
      readiness = try UeventMonitor.wait(until: deadline) { () -> (done: Bool, value: InterfaceReadiness) in
        let now = try first ?? InterfaceReadiness.of(device: device, root: root)
        first = nil
        switch now {
        case .absent, .ready: return (true, now)
        case .pending, .renaming: return (false, now)
        }
      }.value
    }
    switch readiness {
    case .absent: (interface, ifindex) = (nil, nil)
    case .ready(let name, let index): (interface, ifindex) = (name, index)
    case .pending(let name, let index):
      guard dryRun else { throw VFCreationError.pfNotNamed(pf: pf.address, interface: name, seconds: request.timeout) }
      (interface, ifindex) = (name, index)
    case .renaming(let name):
      guard dryRun else { throw VFCreationError.pfNotNamed(pf: pf.address, interface: name, seconds: request.timeout) }
      (interface, ifindex) = (name, nil)
    }
  }

  private var directory: String { sysfs.directory(pf.address) }

  public func readState() throws -> PFState {
    var isUp = true
    var mtu: Int?
    var settings: [VFLinkSettings] = []
    if let links, let ifindex {
      let link = try links.link(ifindex: ifindex)
      (isUp, mtu, settings) = (link.isUp, link.mtu, link.vfs)
    } else if let interface {
      isUp = try root.readInteger(directory + "/net/\(interface)/flags").map { $0 & 1 == 1 } ?? true
      mtu = try root.readInteger(directory + "/net/\(interface)/mtu")
    }
    let vfDrivers = modules.flatMap { modules in Readiness.vfModalias(pf, root: root).map { modules.modules(matching: $0) } } ?? []
    var wanted = Set(vfDrivers.prefix(1))
    for index in 0..<request.count { if case .named(let name)? = request.drivers.value(for: index) { wanted.insert(name.description) } }
    var available: [String: KernelModules.Availability] = [:]
    if let modules { for name in wanted { available[name] = modules.availability(of: name) } }
    var macBase: Result<MACAddress, VFCreationError>?
    if request.wantsDerivedMAC, request.count > 0, let interface {
      do {
        macBase = .success(try VFCreation.macBase(pf: pf.address, interface: interface, root: root))
      } catch let error as VFCreationError {
        macBase = .failure(error)
      }
    }
    var vfs: [PFState.VF] = []
    for vf in pf.vfs {
      vfs.append(
        PFState.VF(
          index: vf.index, address: vf.address, driver: vf.driver, driverOverride: try override(vf.address),
          iommuGroup: vf.iommuGroup, settings: settings.first { $0.index == vf.index }))
    }
    let changesCount = pf.numVFs != request.count
    return PFState(
      address: pf.address, interface: interface, isUp: isUp, mtu: mtu, numVFs: pf.numVFs, totalVFs: pf.totalVFs,
      firmwareRemedy: pf.totalVFs == 0 ? Readiness.firmwareRemedy(pf) : nil, autoprobe: pf.driversAutoprobe, vfs: vfs,
      inUse: changesCount && pf.numVFs > 0 ? try vfsInUse(defaults: vfDrivers) : [], vfDrivers: vfDrivers,
      modules: available, udevRunning: InterfaceReadiness.udevRunning(root), macBase: macBase)
  }

  private func override(_ vf: PCIAddress) throws -> String? {
    guard let text = try root.readAttribute(sysfs.directory(vf) + "/driver_override"), text != "", text != "(null)" else {
      return nil
    }
    return text
  }

  /// The VFs that destroying them would hurt: bound to a driver other than their own (vfio-pci
  /// for a VM or DPDK), their netdev gone to another network namespace, or up with addresses.
  private func vfsInUse(defaults drivers: [String]) throws -> [String] {
    let defaults = Set(drivers.map { $0.replacingDashes() })
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
        if !addresses.isEmpty { busy.append("\(name) is up with \(addresses.joined(separator: ", "))") }
      }
    }
    return busy
  }

  public func writeNumVFs(_ count: Int) throws {
    switch try NumVFs.write(count, pf: pf.address, root: root, deadline: deadline) {
    case .done: return
    case .hung:
      throw VFCreationError.writeHung(pf: pf.address, count: count, seconds: request.timeout)
    case .failed(let code):
      let (message, remedy) = NumVFs.explain(code, count: count, pf: pf)
      let actual = (try? root.readInteger(directory + "/sriov_numvfs")).flatMap { $0 } ?? 0
      throw VFCreationError.kernelRefused(pf: pf.address, message: message, remedy: remedy, actual: actual)
    }
  }

  public func writeAutoprobe(_ on: Bool) throws {
    try root.writeAttribute(directory + "/sriov_drivers_autoprobe", on ? "1" : "0")
  }

  public func setMTU(_ mtu: Int) throws {
    if let links, let ifindex { try links.setMTU(ifindex: ifindex, mtu) }
  }

  public func bringUp() throws {
    if let links, let ifindex { try links.setUp(ifindex: ifindex) }
  }

  public func loadModule(_ name: String) throws {
    try modules?.load(name)
  }

  public func virtualFunctions() throws -> [PFState.VF] {
    try sysfs.virtualFunctionLinks(pf.address).map { index, address in
      PFState.VF(
        index: index, address: address, driver: try sysfs.driver(address), driverOverride: try override(address),
        iommuGroup: try sysfs.iommuGroup(address))
    }
  }

  public func bind(_ vf: PFState.VF, to driver: VFDriver, vfDrivers: [String]) throws {
    let directory = sysfs.directory(vf.address)
    let target = PFAction.target(driver)
    switch driver {
    case .named(let name): try root.writeAttribute(directory + "/driver_override", name.description)
    // An empty override lets the bus match the VF's own driver again (driver_set_override).
    case .kernel: try root.writeAttribute(directory + "/driver_override", "\n")
    }
    if vf.driver != nil { try root.writeAttribute(directory + "/driver/unbind", vf.address.description) }
    do {
      try root.writeAttribute("/sys/bus/pci/drivers_probe", vf.address.description)
    } catch HostError.writeFailed(_, _, let code) {
      throw VFCreationError.bindFailed(vf: vf.address, driver: target, reason: Errno.describe(code))
    }
    let now = try sysfs.driver(vf.address)
    let defaults = Set(vfDrivers.map { $0.replacingDashes() })
    let done: Bool
    switch driver {
    case .named(let name): done = now?.replacingDashes() == name.description.replacingDashes()
    case .kernel: done = now.map { defaults.isEmpty || defaults.contains($0.replacingDashes()) } ?? false
    }
    guard done else {
      throw VFCreationError.bindFailed(vf: vf.address, driver: target, reason: "the VF is bound to \(now ?? "no driver") (see the kernel log)")
    }
  }

  public func setLink(vf: Int, _ change: VFLinkChange) throws {
    guard let links, let ifindex else { return }
    do {
      try links.change(pf: ifindex, vf: vf, change)
    } catch let error as NetworkLinks.Error where error.isUnsupported {
      throw VFCreationError.settingUnsupported(pf: pf.address, driver: pf.driver, vf: vf, change)
    } catch let error as NetworkLinks.Error {
      throw VFCreationError.settingFailed("\(error)")
    }
  }

  public func linkSettings() throws -> [VFLinkSettings] {
    guard let links, let ifindex else { return [] }
    return try links.link(ifindex: ifindex).vfs
  }

  public func watch() throws {
    monitor = try UeventMonitor()
  }

  public func waitUntilReady(count: Int, drivers: [Int: String], interfacesExpected: Bool) throws {
    let watched = monitor
    monitor = nil
    let outcome = try UeventMonitor.wait(until: deadline, monitor: watched) { () -> (done: Bool, value: [String]) in
      let missing = try VFCreation.unreadyVFs(
        pf: pf.address, count: count, drivers: drivers, interfacesExpected: interfacesExpected, root: root)
      return (missing.isEmpty, missing)
    }
    if !outcome.done { throw VFCreationError.notReady(pf: pf.address, seconds: request.timeout, missing: outcome.value) }
  }

  public func finalState(count: Int, dryRun: Bool) throws -> (interface: String?, vfs: [VFState]) {
    let name = try links.flatMap { links in try ifindex.map { try links.link(ifindex: $0).name } } ?? interface
    guard !dryRun else {
      // The VFs as they are now, when the count stays; the plan says what would change.
      guard pf.numVFs == count else { return (name, []) }
      return (name, pf.vfs.map { VFState(index: $0.index, address: $0.address, interface: $0.interface, driver: $0.driver, settings: nil) })
    }
    let settings = try linkSettings()
    let vfs = try sysfs.virtualFunctionLinks(pf.address).map { index, address in
      VFState(
        index: index, address: address, interface: try sysfs.interfaces(address).first,
        driver: try sysfs.driver(address), settings: settings.first { $0.index == index })
    }
    return (name, vfs)
  }
}
