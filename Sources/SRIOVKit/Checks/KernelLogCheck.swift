extension Readiness {
  /// What the kernel logs when SR-IOV or the IOMMU goes wrong, and how bad each is.
  private static let logFindings: [(fragments: [String], status: CheckStatus, kind: String)] = [
    (mmioErrors, .fail, "MMIO or bus resources for VFs"),
    (["Failed to enable PCI sriov", "Failed to enable SR-IOV", "failed to enable sriov"], .fail,
     "a driver failed to enable SR-IOV"),
    (["DMAR: DRHD: handling fault", "DMAR: [DMA Read", "DMAR: [DMA Write", "DMAR: [INTR-REMAP",
      "IO_PAGE_FAULT"], .warn, "IOMMU faults"),
  ]

  /// `kernel.log`: SR-IOV and IOMMU errors in the kernel log of this boot, each quoted with its
  /// time.
  static func kernelLog(_ facts: HostFacts) -> Check {
    let title = "the kernel log for SR-IOV and IOMMU errors"
    let log: KernelLog
    switch facts.log {
    case .failure(let error):
      return Check(
        id: "kernel.log", title: title, status: .skip,
        summary: "\(error)" + (facts.root.isLive ? " (reading /dev/kmsg needs root)" : ""))
    case .success(let read):
      log = read
    }
    guard !log.messages.isEmpty else {
      return Check(
        id: "kernel.log", title: title, status: .skip,
        summary: "no kernel log under \(facts.root) (/dev/kmsg)")
    }
    var status = CheckStatus.pass
    var kinds: [String] = []
    var details: [String] = []
    for finding in logFindings {
      let messages = facts.logMessages(containing: finding.fragments)
      guard !messages.isEmpty else { continue }
      status = max(status, finding.status)
      kinds.append("\(finding.kind) (\(messages.count))")
      // The first few of each kind: a fault storm would drown the report.
      details += messages.prefix(5).map { "\($0.timestamp) \($0.text)" }
      if messages.count > 5 { details.append("... and \(messages.count - 5) more") }
    }
    if log.isIncomplete {
      details.append(
        "the ring buffer has rotated and no journal holds this boot's kernel messages: "
          + "messages from early in the boot were not checked")
    }
    guard status != .pass else {
      return Check(
        id: "kernel.log", title: title, status: .pass,
        summary: "no SR-IOV or IOMMU errors in \(log.messages.count) messages from \(log.source)",
        details: details)
    }
    var remedies: [String] = []
    if kinds.contains(where: { $0.hasPrefix("MMIO") }) {
      remedies.append(
        "enable 'SR-IOV Support' and 'Above 4G Decoding' (MMIO above 4 GB) in the BIOS/UEFI setup; "
          + "if that is not enough, " + facts.bootLoader.instruction(adding: ["pci=realloc"]))
    }
    if kinds.contains(where: { $0.hasPrefix("a driver") }) {
      remedies.append(
        "see the driver's message: ENOMEM or 'MMIO' means missing BIOS resources, ENOSPC too few "
          + "MSI-X vectors, and firmware-level errors need the NIC's firmware updated or SR-IOV "
          + "enabled in it")
    }
    if kinds.contains(where: { $0.hasPrefix("IOMMU") }) {
      remedies.append(
        "a device did DMA its IOMMU mapping forbids: check which driver owns the device named in "
          + "the message (for DPDK, bind VFs to vfio-pci), and update the firmware if it persists")
    }
    return Check(
      id: "kernel.log", title: title, status: status,
      summary: "found in \(log.source): " + kinds.joined(separator: ", "),
      remedy: remedies.joined(separator: "; "), details: details)
  }
}
