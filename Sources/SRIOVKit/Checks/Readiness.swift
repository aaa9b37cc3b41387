/// `sriovctl check`: is the host ready for SR-IOV? Firmware, IOMMU, kernel command line, kernel
/// log, NICs and modules, each finding with a remedy.
///
/// The truth about the IOMMU comes from what the kernel registered (`/sys/class/iommu`,
/// `/sys/kernel/iommu_groups`), never from the command line or the log alone: a kernel given
/// `intel_iommu=on` on a machine whose firmware has VT-d off still logs "DMAR: IOMMU enabled".
public enum Readiness {
  /// Runs every check against the host beneath `root`, with per-PF checks for the selected PFs
  /// (all PFs when none are selected).
  ///
  /// - Throws: ``SelectionError`` when a selector names no PF, ``HostError`` when the host cannot
  ///   be read at all. Anything a single check cannot read becomes that check's `skip`.
  /// With a `cluster`, the `kubernetes.*` checks follow: what the cluster makes of this host,
  /// read through kubectl (`get` only).
  public static func check(root: HostRoot, pfs selectors: [PFSelector] = [], cluster: ClusterTarget? = nil) throws
    -> CheckReport
  {
    let facts = try HostFacts(root: root, selectors: selectors)
    var checks = [
      firmwareIOMMU(facts),
      kernelIOMMU(facts),
      kernelCommandLine(facts),
      kernelLog(facts),
    ]
    checks += nicSRIOV(facts)
    checks.append(modules(facts))
    // What uses the VFs: DPDK's memory, passthrough, vhost-net; and what else manages them.
    checks += [hugepages(facts), vfioDevices(facts), vhostNet(facts), conflicts(facts)]
    if let cluster { checks += Readiness.cluster(facts, cluster) }
    return CheckReport(checks: checks)
  }
}

/// What the checks read from the host, gathered once.
struct HostFacts {
  let root: HostRoot
  let cpu: CPUVendor?
  let commandLine: KernelCommandLine?
  let bootLoader: BootLoader
  /// Whether the firmware's ACPI tables are visible at all.
  let hasACPITables: Bool
  /// The IOMMU tables the firmware published: DMAR, IVRS.
  let iommuTables: [String]
  /// Registered IOMMUs (`/sys/class/iommu`): dmar0, ivhd0...
  let iommus: [String]
  /// IOMMU groups (`/sys/kernel/iommu_groups`).
  let iommuGroups: [String]
  /// The default domain type of the first group: identity (passthrough), DMA, DMA-FQ.
  let iommuDomainType: String?
  /// Whether the root has a sysfs at all (an image being built may not).
  let hasSysfs: Bool
  let log: Result<KernelLog, Error>
  let inventory: Inventory
  let pfs: [PhysicalFunction]
  /// The selected functions whose sysfs data could not be trusted (all of them for no selectors).
  let malformed: [MalformedFunction]
  /// The kernel's modules, read once for the checks that need them.
  let modules: Result<KernelModules, Error>

  init(root: HostRoot, selectors: [PFSelector]) throws {
    self.root = root
    hasSysfs = root.isDirectory("/sys/devices")
    cpu = try? CPUVendor.read(root: root)
    commandLine = try? KernelCommandLine.read(root: root)
    bootLoader = BootLoader.detect(root: root)
    hasACPITables = root.isDirectory("/sys/firmware/acpi/tables")
    iommuTables = ["DMAR", "IVRS"].filter { root.exists("/sys/firmware/acpi/tables/\($0)") }
    iommus = (try? root.list("/sys/class/iommu")) ?? []
    iommuGroups = (try? root.list("/sys/kernel/iommu_groups")) ?? []
    iommuDomainType = iommuGroups.sorted { Int($0) ?? 0 < Int($1) ?? 0 }.first.flatMap {
      try? root.readAttribute("/sys/kernel/iommu_groups/\($0)/type")
    }
    log = Result { try KernelLog.read(root: root) }
    if hasSysfs {
      inventory = try Inventory.discover(root: root)
      (pfs, malformed) = try inventory.selection(selectors, root: root)
    } else {
      guard selectors.isEmpty else {
        throw HostError.pciScanFailed("\(root.resolve("/sys")) does not exist (is sysfs mounted?)")
      }
      inventory = Inventory(physicalFunctions: [], otherNetworkFunctions: [])
      pfs = []
      malformed = []
    }
    modules = Result { try KernelModules(root: root) }
  }

  /// Kernel log messages containing any of the fragments (case-insensitive).
  func logMessages(containing fragments: [String]) -> [KernelMessage] {
    guard case .success(let log) = log else { return [] }
    let lowered = fragments.map { $0.lowercased() }
    return log.messages.filter { message in
      let text = message.text.lowercased()
      return lowered.contains { text.contains($0) }
    }
  }

  /// A PF as the operator knows it: `0000:3b:00.0 (ens1f0)`.
  func label(_ pf: PhysicalFunction) -> String {
    pf.interfaces.isEmpty ? pf.address.description : "\(pf.address) (\(pf.interfaces.joined(separator: ", ")))"
  }
}
