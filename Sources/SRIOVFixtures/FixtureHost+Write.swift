import SRIOVKit

extension FixtureHost {
  /// Writes the host beneath `directory`, which must be empty or not exist yet.
  ///
  /// - Throws: ``FixtureError/directoryNotEmpty(_:)``, ``FixtureError/invalid(_:)`` when the
  ///   description contradicts itself (a VF its PF does not enable, a repeated address or interface
  ///   name, ...), or ``FixtureError/cannotWrite(_:errno:)``.
  public func write(to directory: String) throws {
    let layout = try Layout(self)
    var tree = try TreeWriter(root: directory)
    try writeSystem(into: &tree, layout)
    for function in layout.functions {
      try writeFunction(function, into: &tree, layout)
    }
    for (driver, members) in layout.driverMembers {
      try writeDriver(driver, members: members, into: &tree, layout)
    }
    try writeIOMMU(into: &tree, layout)
    try writeNetworkInterface(
      try NetworkInterface(name: "lo", mac: MACAddress(0), mtu: 65536), ifindex: 1, arpType: 772,
      under: "/sys/devices/virtual", device: nil, into: &tree)
    try writeKernelModules(into: directory)
  }

  // MARK: Layout

  /// The description checked and completed: root ports added, every function's sysfs directory,
  /// IOMMU groups and interface indexes assigned, and each PF's VFs by index.
  struct Layout {
    var functions: [Function] = []
    var directories: [PCIAddress: String] = [:]
    var iommuGroups: [PCIAddress: Int] = [:]
    var ifindexes: [String: Int] = [:]
    var virtualFunctions: [PCIAddress: [Int: PCIAddress]] = [:]
    var driverMembers: [(String, [PCIAddress])] = []

    init(_ host: FixtureHost) throws {
      var byAddress: [PCIAddress: Function] = [:]
      for function in host.functions {
        guard byAddress.updateValue(function, forKey: function.address) == nil else {
          throw FixtureError.invalid("\(function.address) is listed twice")
        }
      }
      for port in Set(host.functions.compactMap(\.upstreamPort)) where byAddress[port] == nil {
        byAddress[port] = try host.rootPort(
          port, above: host.functions.filter { $0.upstreamPort == port })
      }
      functions = byAddress.values.sorted { $0.address < $1.address }

      var drivers: [String: [PCIAddress]] = [:]
      var nextIfindex = 2  // 1 is lo
      for function in functions {
        let address = function.address
        do {
          try function.config.validate()
          try Self.checkPlacement(function, byAddress)
        } catch FixtureError.invalid(let reason) {
          throw FixtureError.invalid("\(address): \(reason)")
        }
        // Below the host bridge of the root port's bus, or of its own bus when integrated.
        let hostBus = hex((function.upstreamPort ?? address).bus, width: 2)
        let port = function.upstreamPort.map { "/\($0)" } ?? ""
        directories[address] = "/sys/devices/pci\(hex(address.domain)):\(hostBus)\(port)/\(address)"
        if let pf = function.physicalFunction, let pfFunction = byAddress[pf] {
          virtualFunctions[pf, default: [:]][try Self.vfIndex(address, of: pfFunction)] = address
        }
        if let driver = function.driver {
          guard !driver.isEmpty, !driver.contains("/") else {
            throw FixtureError.invalid("\(address): '\(driver)' is not a driver name")
          }
          drivers[driver, default: []].append(address)
        }
        for interface in function.interfaces {
          guard interface.name.description != "lo",
            ifindexes.updateValue(nextIfindex, forKey: interface.name.description) == nil
          else { throw FixtureError.invalid("interface \(interface.name) is listed twice") }
          nextIfindex += 1
        }
      }
      for function in functions {
        let enabled = function.config.sriov?.numVFs ?? 0
        let listed = virtualFunctions[function.address]?.count ?? 0
        guard listed == enabled else {
          throw FixtureError.invalid(
            "\(function.address) enables \(enabled) VFs but \(listed) are listed")
        }
      }
      driverMembers = drivers.sorted { $0.key < $1.key }
      try assignIOMMUGroups(hasIOMMU: host.iommu != nil)
    }

    /// A root port must be on a lower bus, `sriov_totalvfs` within TotalVFs, and a VF must have
    /// the VF kind of config and its PF beside it (which VF it is, `vfIndex` checks).
    private static func checkPlacement(_ function: Function, _ byAddress: [PCIAddress: Function])
      throws
    {
      if let port = function.upstreamPort {
        guard port.domain == function.address.domain, port.bus < function.address.bus else {
          throw FixtureError.invalid("its upstream port \(port) is not on a lower bus")
        }
      }
      if let total = function.driverTotalVFs, total > function.config.sriov?.totalVFs ?? 0 {
        throw FixtureError.invalid("sriov_totalvfs \(total) exceeds the capability's TotalVFs")
      }
      guard let pf = function.physicalFunction else {
        guard function.config.kind != .virtualFunction else {
          throw FixtureError.invalid("a VF needs its physical function")
        }
        return
      }
      guard function.config.kind == .virtualFunction, let pfFunction = byAddress[pf],
        pfFunction.upstreamPort == function.upstreamPort
      else {
        throw FixtureError.invalid("a VF needs the VF kind of config and its PF \(pf) beside it")
      }
    }

    /// Which VF of `pf` the function at `address` is, from First VF Offset and VF Stride.
    private static func vfIndex(_ address: PCIAddress, of pf: Function) throws -> Int {
      func routingID(_ a: PCIAddress) -> Int {
        Int(a.bus) << 8 | Int(a.device) << 3 | Int(a.function)
      }
      if let sriov = pf.config.sriov, sriov.vfStride > 0 {
        let distance = routingID(address) - routingID(pf.address) - sriov.firstVFOffset
        if distance >= 0, distance % sriov.vfStride == 0, distance / sriov.vfStride < sriov.numVFs {
          return distance / sriov.vfStride
        }
      }
      throw FixtureError.invalid("\(address) is not one of the VFs \(pf.address) enables")
    }

    /// Explicit groups stay; every other function gets the lowest unused number, in address order.
    private mutating func assignIOMMUGroups(hasIOMMU: Bool) throws {
      let explicit = Set(functions.compactMap(\.iommuGroup))
      guard hasIOMMU else {
        guard explicit.isEmpty else { throw FixtureError.invalid("IOMMU groups need an IOMMU") }
        return
      }
      var next = 0
      for function in functions {
        if let group = function.iommuGroup {
          iommuGroups[function.address] = group
          continue
        }
        while explicit.contains(next) { next += 1 }
        iommuGroups[function.address] = next
        next += 1
      }
    }
  }

  /// The root port at `address` above `children`, bound to pcieport.
  private func rootPort(_ address: PCIAddress, above children: [Function]) throws -> Function {
    let buses = children.map(\.address.bus)
    guard let secondary = buses.min(), let subordinate = buses.max() else {
      throw FixtureError.invalid("root port \(address) has nothing below it")
    }
    let config = PCIConfigSpace(
      vendorID: rootPortVendorID, deviceID: rootPortDeviceID, classCode: 0x060400,
      kind: .rootPort(
        primaryBus: address.bus, secondaryBus: secondary, subordinateBus: subordinate),
      link: children.lazy.compactMap(\.config.link).first)
    return Function(
      address: address, config: config, driver: "pcieport", numaNode: children.first?.numaNode,
      irq: 24 + Int(address.device))
  }

  // MARK: Writing

  private func writeSystem(into tree: inout TreeWriter, _ layout: Layout) throws {
    for directory in [
      "/sys/bus/pci/devices", "/sys/bus/pci/drivers", "/sys/bus/pci/slots", "/sys/class/net",
      "/sys/class/iommu", "/sys/kernel/iommu_groups", "/sys/module", "/etc", "/run",
    ] {
      try tree.directory(directory)
    }
    try tree.attribute("/sys/bus/pci/drivers_autoprobe", 1, mode: .readWrite)
    try tree.file("/sys/bus/pci/drivers_probe", [], mode: .writeOnly)
    try tree.file("/sys/bus/pci/rescan", [], mode: .writeOnly)

    let perNode = processorsPerNode
    try tree.attribute("/sys/devices/system/cpu/online", cpuList(nil))
    try tree.attribute("/sys/devices/system/cpu/possible", cpuList(nil))
    try tree.attribute(
      "/sys/devices/system/node/online", cpu.numaNodes > 1 ? "0-\(cpu.numaNodes - 1)" : "0")
    for node in 0..<cpu.numaNodes {
      try tree.attribute("/sys/devices/system/node/node\(node)/cpulist", cpuList(node))
    }
    // Huge pages: every size the CPU offers, with the pages reserved per node (all free).
    for size in Set([2048, 1_048_576]).union(hugepages.keys).sorted() {
      let reserved = hugepages[size] ?? []
      let perNode = (0..<cpu.numaNodes).map { $0 < reserved.count ? reserved[$0] : 0 }
      let total = perNode.reduce(0, +)
      for (name, value) in [("nr_hugepages", total), ("free_hugepages", total), ("resv_hugepages", 0), ("surplus_hugepages", 0)] {
        try tree.attribute("/sys/kernel/mm/hugepages/hugepages-\(size)kB/\(name)", value, mode: .readWrite)
      }
      for (node, pages) in perNode.enumerated() {
        let directory = "/sys/devices/system/node/node\(node)/hugepages/hugepages-\(size)kB"
        try tree.attribute(directory + "/nr_hugepages", pages, mode: .readWrite)
        try tree.attribute(directory + "/free_hugepages", pages)
      }
    }
    for device in miscDevices {
      try tree.attribute("/sys/class/misc/\(device.name)/dev", "10:\(device.minor)")
      if deviceNodes { try tree.characterDevice(device.path, major: 10, minor: device.minor) }
    }

    // Every ACPI machine has these; the IOMMU's own table (DMAR, IVRS) is written with the IOMMU.
    for table in ["APIC", "FACP", "DSDT"] {
      try tree.file("/sys/firmware/acpi/tables/" + table, Array(table.utf8) + [36, 0, 0, 0], mode: .readOnly)
    }
    try tree.attribute("/proc/cmdline", kernelCommandLine)
    try tree.attribute("/proc/sys/kernel/osrelease", kernelRelease)
    var cpuinfo = ""
    for processor in 0..<cpu.processors {
      cpuinfo += """
        processor\t: \(processor)
        vendor_id\t: \(cpu.vendor)
        cpu family\t: \(cpu.family)
        model\t\t: \(cpu.model)
        model name\t: \(cpu.modelName)
        stepping\t: 4
        physical id\t: \(processor / perNode)
        siblings\t: \(perNode)
        core id\t\t: \(processor % perNode)
        cpu cores\t: \(perNode)
        flags\t\t: \(cpu.flags.joined(separator: " "))


        """
    }
    try tree.file("/proc/cpuinfo", Array(cpuinfo.utf8))

    // /dev/kmsg records: "PRIORITY,SEQUENCE,MICROSECONDS,FLAGS;MESSAGE" (kernel facility 0).
    let records = kernelLog.enumerated().map { index, message in
      "\(message.level),\(index),\(100_000 + 15_000 * index),-;\(message.text)\n"
    }
    try tree.file("/dev/kmsg", Array(records.joined().utf8), mode: .readWrite)
    try tree.attribute("/etc/hostname", hostname, mode: .readWrite)
    try tree.file(
      "/etc/os-release",
      Array(
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n"
          .utf8),
      mode: .readWrite)
  }

  /// `local_cpulist` of a NUMA node, or of every processor for `nil` (no node).
  private var processorsPerNode: Int {
    max(1, (cpu.processors + cpu.numaNodes - 1) / max(1, cpu.numaNodes))
  }

  private func cpuList(_ node: Int?) -> String {
    let perNode = processorsPerNode
    let first = node.map { $0 * perNode } ?? 0
    let last = node.map { min(cpu.processors, ($0 + 1) * perNode) - 1 } ?? cpu.processors - 1
    return first >= last ? "\(first)" : "\(first)-\(last)"
  }

  private func writeFunction(_ function: Function, into tree: inout TreeWriter, _ layout: Layout)
    throws
  {
    let address = function.address
    let config = function.config
    guard let directory = layout.directories[address] else { return }
    let classCode = config.classCode
    func upper<T: BinaryInteger>(_ value: T, _ width: Int) -> String {
      hex(value, width: width).uppercased()
    }
    let modalias =
      "pci:v\(upper(config.vendorID, 8))d\(upper(config.deviceID, 8))"
      + "sv\(upper(config.subsystemVendorID, 8))sd\(upper(config.subsystemID, 8))"
      + "bc\(upper(classCode >> 16, 2))sc\(upper((classCode >> 8) & 0xff, 2))i\(upper(classCode & 0xff, 2))"
    var uevent = function.driver.map { "DRIVER=\($0)\n" } ?? ""
    uevent +=
      "PCI_CLASS=\(upper(classCode, 1))\nPCI_ID=\(upper(config.vendorID, 4)):\(upper(config.deviceID, 4))\n"
    uevent +=
      "PCI_SUBSYS_ID=\(upper(config.subsystemVendorID, 4)):\(upper(config.subsystemID, 4))\n"
    uevent += "PCI_SLOT_NAME=\(address)\nMODALIAS=\(modalias)\n"

    // Documentation/ABI/testing/sysfs-bus-pci, in the kernel's formats.
    var attributes: [(String, String, TreeWriter.Mode)] = [
      ("vendor", "0x" + hex(config.vendorID), .readOnly),
      ("device", "0x" + hex(config.deviceID), .readOnly),
      ("class", "0x" + hex(classCode, width: 6), .readOnly),
      ("subsystem_vendor", "0x" + hex(config.subsystemVendorID), .readOnly),
      ("subsystem_device", "0x" + hex(config.subsystemID), .readOnly),
      ("revision", "0x" + hex(config.revision, width: 2), .readOnly),
      ("irq", "\(function.irq)", .readOnly),
      ("numa_node", "\(function.numaNode ?? -1)", .readWrite),
      ("enable", function.driver == nil ? "0" : "1", .readWrite),
      ("modalias", modalias, .readOnly),
      ("local_cpulist", cpuList(function.numaNode), .readOnly),
      ("driver_override", "(null)", .readWrite),
      ("resource", resourceLines(config), .readOnly),
    ]
    if let link = config.link {
      attributes += [
        ("current_link_speed", link.speedText, .readOnly),
        ("max_link_speed", link.speedText, .readOnly),
        ("current_link_width", "\(link.width)", .readOnly),
        ("max_link_width", "\(link.width)", .readOnly),
      ]
    }
    // sriov_init() creates nothing for a capability advertising no VFs.
    if let sriov = config.sriov, sriov.totalVFs > 0 {
      attributes += [
        ("sriov_totalvfs", "\(function.driverTotalVFs ?? sriov.totalVFs)", .readOnly),
        ("sriov_numvfs", "\(sriov.numVFs)", .readWrite),
        ("sriov_offset", "\(sriov.firstVFOffset)", .readOnly),
        ("sriov_stride", "\(sriov.vfStride)", .readOnly),
        ("sriov_vf_device", String(sriov.vfDeviceID, radix: 16), .readOnly),
        ("sriov_drivers_autoprobe", function.sriovDriversAutoprobe ? "1" : "0", .readWrite),
      ]
    }
    for (name, value, mode) in attributes {
      try tree.attribute(directory + "/" + name, value, mode: mode)
    }
    try tree.file(directory + "/uevent", Array(uevent.utf8), mode: .readWrite)
    try tree.file(directory + "/config", Array(config.bytes.prefix(readableConfigBytes ?? .max)), mode: .readWrite)
    try tree.file(directory + "/remove", [], mode: .writeOnly)
    try tree.file(directory + "/rescan", [], mode: .writeOnly)

    var links: [(String, String)] = [
      ("/sys/bus/pci/devices/\(address)", directory),
      (directory + "/subsystem", "/sys/bus/pci"),
    ]
    if let driver = function.driver {
      links.append((directory + "/driver", "/sys/bus/pci/drivers/\(driver)"))
    }
    if let group = layout.iommuGroups[address], let iommu {
      links.append((directory + "/iommu_group", "/sys/kernel/iommu_groups/\(group)"))
      links.append((directory + "/iommu", "/sys/devices/virtual/iommu/\(iommu.name)"))
    }
    for (index, vf) in layout.virtualFunctions[address] ?? [:] {
      links.append((directory + "/virtfn\(index)", layout.directories[vf] ?? ""))
    }
    if let pf = function.physicalFunction {
      links.append((directory + "/physfn", layout.directories[pf] ?? ""))
    }
    for (link, target) in links {
      try tree.link(link, to: target)
    }
    for interface in function.interfaces {
      try writeNetworkInterface(
        interface, ifindex: layout.ifindexes[interface.name.description] ?? 0, arpType: 1,
        under: directory, device: directory, into: &tree)
    }
  }

  /// The kernel's `resource` file: one `start end flags` line per resource, BARs 0-5, the ROM,
  /// then the six SR-IOV VF BARs (each spanning TotalVFs VFs) for endpoints, or four bridge
  /// windows after them for bridges. A 64-bit BAR's upper register is an empty line.
  private func resourceLines(_ config: PCIConfigSpace) -> String {
    var lines = [(UInt64, UInt64, UInt64)](repeating: (0, 0, 0), count: 13)
    for bar in config.bars {
      lines[bar.index] = (bar.address, bar.address + bar.size - 1, bar.resourceFlags)
    }
    if let sriov = config.sriov, sriov.totalVFs > 0 {
      for bar in sriov.vfBARs {
        let span = bar.size * UInt64(sriov.totalVFs)
        lines[7 + bar.index] = (bar.address, bar.address + span - 1, bar.resourceFlags)
      }
    }
    if case .rootPort = config.kind { lines += Array(repeating: (0, 0, 0), count: 4) }
    return lines.map {
      "0x\(hex($0.0, width: 16)) 0x\(hex($0.1, width: 16)) 0x\(hex($0.2, width: 16))"
    }
    .joined(separator: "\n")
  }

  /// `DIR/net/NAME` (Documentation/ABI/testing/sysfs-class-net) and its `/sys/class/net` link.
  private func writeNetworkInterface(
    _ interface: NetworkInterface, ifindex: Int, arpType: Int, under parent: String,
    device: String?,
    into tree: inout TreeWriter
  ) throws {
    let name = interface.name.description
    let directory = parent + "/net/" + name
    let isLoopback = device == nil
    var attributes: [(String, String, TreeWriter.Mode)] = [
      ("address", interface.mac.description, .readOnly),
      ("broadcast", isLoopback ? "00:00:00:00:00:00" : "ff:ff:ff:ff:ff:ff", .readOnly),
      ("addr_len", "6", .readOnly),
      ("addr_assign_type", "\(interface.addressAssignType)", .readOnly),
      ("ifindex", "\(ifindex)", .readOnly),
      ("iflink", "\(ifindex)", .readOnly),
      ("mtu", "\(interface.mtu)", .readWrite),
      ("type", "\(arpType)", .readOnly),
      ("operstate", isLoopback ? "unknown" : interface.isUp ? "up" : "down", .readOnly),
      ("flags", isLoopback ? "0x9" : interface.isUp ? "0x1003" : "0x1002", .readWrite),
      ("dev_id", "0x0", .readOnly),
      ("dev_port", "0", .readOnly),
      ("tx_queue_len", "1000", .readWrite),
      ("uevent", "INTERFACE=\(name)\nIFINDEX=\(ifindex)", .readWrite),
    ]
    // Reading carrier of a down interface fails with EINVAL; leave it out.
    if interface.isUp { attributes.append(("carrier", "1", .readWrite)) }
    if let port = interface.physicalPortName {
      attributes.append(("phys_port_name", port, .readOnly))
    }
    for (attribute, value, mode) in attributes {
      try tree.attribute(directory + "/" + attribute, value, mode: mode)
    }
    if let device { try tree.link(directory + "/device", to: device) }
    try tree.link(directory + "/subsystem", to: "/sys/class/net")
    try tree.link("/sys/class/net/" + name, to: directory)
  }

  /// `/sys/bus/pci/drivers/NAME` with its control files and a link per bound function, and, for
  /// modular drivers, `/sys/module/NAME` (pcieport is built in).
  private func writeDriver(
    _ driver: String, members: [PCIAddress], into tree: inout TreeWriter, _ layout: Layout
  ) throws {
    let directory = "/sys/bus/pci/drivers/" + driver
    for control in ["bind", "unbind", "new_id", "remove_id", "uevent"] {
      try tree.file(directory + "/" + control, [], mode: .writeOnly)
    }
    for address in members {
      try tree.link(directory + "/\(address)", to: layout.directories[address] ?? "")
    }
    guard driver != "pcieport" else { return }
    let module = "/sys/module/" + String(driver.map { $0 == "-" ? "_" : $0 })
    try tree.link(directory + "/module", to: module)
    try tree.link(module + "/drivers/pci:" + driver, to: directory)
    try tree.attribute(module + "/initstate", "live")
    try tree.attribute(module + "/refcnt", "0")
  }

  /// The IOMMU's device and class entries, its ACPI table, and the groups with their members.
  private func writeIOMMU(into tree: inout TreeWriter, _ layout: Layout) throws {
    guard let iommu else { return }
    let device = "/sys/devices/virtual/iommu/" + iommu.name
    try tree.link("/sys/class/iommu/" + iommu.name, to: device)
    for (address, group) in layout.iommuGroups {
      guard let directory = layout.directories[address] else { continue }
      try tree.link(device + "/devices/\(address)", to: directory)
      try tree.link("/sys/kernel/iommu_groups/\(group)/devices/\(address)", to: directory)
    }
    for group in Set(layout.iommuGroups.values) {
      try tree.attribute("/sys/kernel/iommu_groups/\(group)/type", iommu.domainType)
      try tree.attribute(
        "/sys/kernel/iommu_groups/\(group)/reserved_regions",
        "0x00000000fee00000 0x00000000feefffff msi")
    }
    // An ACPI table header (signature, length, revision, checksum, OEM fields), checksum valid.
    var table = Array(iommu.acpiTable.utf8.prefix(4)) + [36, 0, 0, 0, 1, 0]
    table += Array("FIXTURSRIOVCTL".utf8) + [1, 0, 0, 0] + Array("SRIO".utf8) + [1, 0, 0, 0]
    table[9] = UInt8(truncatingIfNeeded: 256 - table.reduce(0) { ($0 + Int($1)) % 256 })
    try tree.file("/sys/firmware/acpi/tables/" + iommu.acpiTable, table, mode: .readOnly)
  }
}
