import Glibc

extension Readiness {
  /// The page sizes DPDK asks for, largest first, as Kubernetes names the resources.
  static let hugepageSizes: [(kiB: Int, name: String)] = [(1_048_576, "1Gi"), (2048, "2Mi")]

  /// `memory.hugepages`: pages reserved and free per size and NUMA node. DPDK pods request
  /// `hugepages-1Gi`/`hugepages-2Mi`, and want them on the NUMA node of the NIC they use.
  static func hugepages(_ facts: HostFacts) -> Check {
    let id = "memory.hugepages"
    let title = "for huge pages (DPDK)"
    guard facts.hasSysfs else {
      return Check(id: id, title: title, status: .skip, summary: "no sysfs under \(facts.root): not a booted system")
    }
    let root = facts.root
    let sizes: [(kiB: Int, name: String)]
    do {
      sizes = try root.list("/sys/kernel/mm/hugepages").compactMap { entry in
        guard entry.hasPrefix("hugepages-"), entry.hasSuffix("kB"),
          let kiB = Int(entry.dropFirst("hugepages-".count).dropLast(2)), (4...16_777_216).contains(kiB)
        else { return nil }
        return (kiB, hugepageSizes.first { $0.kiB == kiB }?.name ?? "\(kiB)kB")
      }.sorted { $0.kiB > $1.kiB }
    } catch {
      return Check(id: id, title: title, status: .skip, summary: "cannot read /sys/kernel/mm/hugepages: \(error)")
    }
    guard !sizes.isEmpty else {
      return Check(
        id: id, title: title, status: .warn, summary: "this kernel offers no huge pages (no /sys/kernel/mm/hugepages)",
        remedy: "use a kernel built with CONFIG_HUGETLBFS (every distribution kernel is)")
    }
    // Pages reserved and free, per size and per node; a value that is not a count is a finding.
    let nodes = ((try? root.list("/sys/devices/system/node")) ?? [])
      .compactMap { $0.hasPrefix("node") ? Int($0.dropFirst(4)) : nil }.filter { $0 >= 0 && $0 < 4096 }.sorted()
    var details: [String] = []
    var reserved: [Int: Int] = [:]
    var nodesWithPages = Set<Int>()
    do {
      for size in sizes {
        let directory = "/sys/kernel/mm/hugepages/hugepages-\(size.kiB)kB"
        let total = try count(root, directory + "/nr_hugepages")
        let free = try count(root, directory + "/free_hugepages")
        reserved[size.kiB] = total
        var perNode: [String] = []
        for node in nodes {
          let nodeDirectory = "/sys/devices/system/node/node\(node)/hugepages/hugepages-\(size.kiB)kB"
          guard root.isDirectory(nodeDirectory) else { continue }
          let pages = try count(root, nodeDirectory + "/nr_hugepages")
          let nodeFree = try count(root, nodeDirectory + "/free_hugepages")
          if pages > 0 { nodesWithPages.insert(node) }
          perNode.append("node \(node): \(pages) (\(nodeFree) free)")
        }
        details.append("\(size.name): \(total) reserved, \(free) free" + (perNode.isEmpty ? "" : "; " + perNode.joined(separator: ", ")))
      }
    } catch {
      return Check(id: id, title: title, status: .skip, summary: "\(error)", details: details)
    }
    let summary = sizes.map { "\($0.name): \(reserved[$0.kiB] ?? 0)" }.joined(separator: ", ")
    let oneGiB = facts.bootLoader.instruction(adding: ["default_hugepagesz=1G", "hugepagesz=1G", "hugepages=N"])
    let twoMiB = "or, for 2 MiB pages, 'sysctl -w vm.nr_hugepages=N' and the same in /etc/sysctl.d/80-hugepages.conf"
    guard reserved.values.contains(where: { $0 > 0 }) else {
      return Check(
        id: id, title: title, status: .warn, summary: "no huge pages reserved (\(summary)): a DPDK pod that requests them cannot start",
        remedy: "reserve them at boot: \(oneGiB); \(twoMiB)", details: details)
    }
    // A PF with VFs whose NUMA node has no pages: DPDK would use remote memory, or not start with
    // a single-NUMA-node topology policy.
    let stranded = facts.pfs.filter { pf in
      guard pf.numVFs > 0, let node = pf.numaNode, nodes.count > 1 else { return false }
      return !nodesWithPages.contains(node)
    }
    guard stranded.isEmpty else {
      let named = stranded.map { "\(facts.label($0)) on NUMA node \($0.numaNode ?? 0)" }.joined(separator: ", ")
      return Check(
        id: id, title: title, status: .warn,
        summary: "\(summary), but none on the NUMA node of \(named)",
        remedy: "reserve pages on that node: per node at run time with 'echo N > /sys/devices/system/node/nodeX/"
          + "hugepages/hugepages-1048576kB/nr_hugepages', or at boot with hugepages=N spread over the nodes",
        details: details)
    }
    return Check(id: id, title: title, status: .pass, summary: summary, details: details)
  }

  /// A count the kernel keeps in a sysfs attribute: from 0 to 2^40, else a finding.
  private static func count(_ root: HostRoot, _ path: String) throws -> Int {
    guard let value = try root.readInteger(path) else {
      throw HostError.unreadable(path, errno: ENOENT)
    }
    guard (0...(1 << 40)).contains(value) else {
      throw HostError.malformed(path, value: String(value), expected: "a number of pages")
    }
    return value
  }

  /// `devices.vfio`: the VFIO container device, and each VF in an IOMMU group of its own (a group
  /// shared with other devices, for lack of ACS, cannot be given to a VM or DPDK one VF at a time).
  static func vfioDevices(_ facts: HostFacts) -> Check {
    let id = "devices.vfio"
    let title = "for VFIO passthrough"
    guard facts.hasSysfs else {
      return Check(id: id, title: title, status: .skip, summary: "no sysfs under \(facts.root): not a booted system")
    }
    guard !facts.iommus.isEmpty, !facts.iommuGroups.isEmpty else {
      return Check(id: id, title: title, status: .skip, summary: "no IOMMU is active (see kernel.iommu)")
    }
    var findings: [String] = []
    var details: [String] = []
    let device = characterDevice(facts, name: "vfio", path: "/dev/vfio/vfio", module: "vfio-pci")
    if let problem = device.problem { findings.append(problem) }
    var vfCount = 0
    for pf in facts.pfs {
      for vf in pf.vfs {
        vfCount += 1
        guard let group = vf.iommuGroup else {
          findings.append("VF \(vf.index) of \(facts.label(pf)) (\(vf.address)) is in no IOMMU group")
          continue
        }
        let members = ((try? facts.root.list("/sys/kernel/iommu_groups/\(group)/devices")) ?? []).sorted()
        let others = members.filter { $0 != vf.address.description }
        if !others.isEmpty {
          findings.append("VF \(vf.index) of \(facts.label(pf)) (\(vf.address)) shares IOMMU group \(group)")
          details.append("group \(group): \(members.joined(separator: " "))")
        }
      }
    }
    if findings.isEmpty {
      let vfs = vfCount == 0 ? "no VFs yet to check" : "each of \(vfCount) VF\(vfCount == 1 ? "" : "s") in an IOMMU group of its own"
      return Check(id: id, title: title, status: .pass, summary: "\(device.summary); \(vfs)", details: details)
    }
    let grouped = findings.contains { $0.contains("shares IOMMU group") }
    var remedies: [String] = []
    if device.problem != nil { remedies.append(device.remedy) }
    if grouped {
      remedies.append(
        "a VF in a shared group can only be passed through with every device of its group: put the NIC in a slot "
          + "whose PCIe path has ACS (see the board's manual), or update the BIOS; pcie_acs_override is not in "
          + "mainline kernels and gives up the isolation the groups stand for")
    }
    return Check(
      id: id, title: title, status: .warn, summary: findings.joined(separator: "; "),
      remedy: remedies.joined(separator: "; "), details: details)
  }

  /// `devices.vhost-net`: `/dev/vhost-net` and `/dev/net/tun`, which the device plugin mounts into
  /// pods of a resource with `needVhostNet` (DPDK's virtio-user exception path).
  static func vhostNet(_ facts: HostFacts) -> Check {
    let id = "devices.vhost-net"
    let title = "for vhost-net and tun (needVhostNet)"
    guard facts.hasSysfs else {
      return Check(id: id, title: title, status: .skip, summary: "no sysfs under \(facts.root): not a booted system")
    }
    let modules = try? facts.modules.get()
    var found: [String] = []
    var problems: [String] = []
    var remedies: [String] = []
    for (name, path, module) in [("vhost-net", "/dev/vhost-net", "vhost_net"), ("tun", "/dev/net/tun", "tun")] {
      let device = characterDevice(facts, name: name, path: path, module: module)
      if device.problem == nil {
        found.append(path)
        continue
      }
      // Not there yet, but the module that makes it can be loaded: the device plugin's pods get it
      // once it is (devtmpfs creates the node on load).
      switch modules?.availability(of: module) {
      case .loadable?:
        found.append("\(path) (\(module) loadable)")
      default:
        problems.append(device.problem ?? path)
        remedies.append(device.remedy)
      }
    }
    guard problems.isEmpty else {
      return Check(
        id: id, title: title, status: .warn, summary: problems.joined(separator: "; "),
        remedy: remedies.joined(separator: "; ") + " (only resources with needVhostNet need it)")
    }
    return Check(id: id, title: title, status: .pass, summary: found.joined(separator: ", "))
  }

  /// A misc character device as the kernel registered it (`/sys/class/misc/NAME/dev`) and its
  /// node under `/dev`: a summary when both are there, else the problem and its remedy (loading
  /// `module`, which registers it).
  private static func characterDevice(_ facts: HostFacts, name: String, path: String, module: String) -> (
    summary: String, problem: String?, remedy: String
  ) {
    let registered = (try? facts.root.readAttribute("/sys/class/misc/\(name)/dev")).flatMap { $0 }
    guard let registered else {
      return ("", "\(path) is missing: the kernel has no \(name) device (its module is not loaded)", "modprobe \(module)")
    }
    guard facts.root.isCharacterDevice(path) else {
      return (
        "", "the kernel registered \(name) (\(registered)) but \(path) is not a character device",
        "udev or devtmpfs should create \(path); check that devtmpfs is mounted on /dev"
      )
    }
    return ("\(path) (\(registered))", nil, "")
  }
}
