extension Readiness {
  /// `firmware.iommu`: the firmware published the IOMMU's ACPI table (DMAR for Intel VT-d, IVRS
  /// for AMD-Vi), which it does only when the IOMMU is enabled in the BIOS/UEFI setup.
  static func firmwareIOMMU(_ facts: HostFacts) -> Check {
    let vendor = facts.cpu
    let title = "for IOMMU support in firmware" + (vendor.map { " (\($0.iommuName))" } ?? "")
    func check(_ status: CheckStatus, _ summary: String, remedy: String? = nil) -> Check {
      Check(id: "firmware.iommu", title: title, status: status, summary: summary, remedy: remedy)
    }
    if let table = facts.iommuTables.first {
      return check(.pass, "the firmware publishes the ACPI \(table) table")
    }
    guard facts.hasACPITables else {
      return check(
        .skip,
        "no ACPI tables under \(facts.root.resolve("/sys/firmware/acpi/tables")): not an ACPI "
          + "machine, or not a booted system")
    }
    switch vendor {
    case .intel:
      return check(
        .fail, "no ACPI DMAR table: Intel VT-d is disabled in the firmware",
        remedy: "enable 'Intel VT-d' (Virtualization Technology for Directed I/O) in the BIOS/UEFI "
          + "setup, and 'SR-IOV Support' where the setup has it, then reboot")
    case .amd:
      return check(
        .fail, "no ACPI IVRS table: the AMD IOMMU (AMD-Vi) is disabled in the firmware",
        remedy: "enable 'IOMMU' (often under NBIO or North Bridge configuration) in the BIOS/UEFI "
          + "setup, and 'SR-IOV Support' where the setup has it, then reboot")
    case nil:
      return check(
        .fail, "no ACPI DMAR or IVRS table: no IOMMU is enabled in the firmware",
        remedy: "enable the IOMMU (VT-d, AMD-Vi) and SR-IOV support in the BIOS/UEFI setup, then reboot")
    }
  }

  /// `kernel.iommu`: an IOMMU is registered and devices are in IOMMU groups.
  static func kernelIOMMU(_ facts: HostFacts) -> Check {
    let title = "if an IOMMU is active"
    guard facts.hasSysfs else {
      return Check(
        id: "kernel.iommu", title: title, status: .skip,
        summary: "no sysfs under \(facts.root): not a booted system")
    }
    if !facts.iommus.isEmpty && !facts.iommuGroups.isEmpty {
      let mode: String
      switch facts.iommuDomainType {
      case "identity": mode = ", passthrough mode"
      case "DMA", "DMA-FQ": mode = ", translated mode"
      default: mode = ""
      }
      return Check(
        id: "kernel.iommu", title: title, status: .pass,
        summary: "\(facts.iommus.joined(separator: ", ")) with \(facts.iommuGroups.count) IOMMU "
          + "groups\(mode)")
    }
    var details: [String] = []
    // The kernel may claim an IOMMU the firmware never provided.
    let claims = facts.logMessages(containing: ["DMAR: IOMMU enabled", "AMD-Vi: IOMMU enabled"])
    for message in claims {
      details.append("\(message.timestamp) \(message.text) (the log says so, but no IOMMU registered)")
    }
    let what =
      facts.iommus.isEmpty
      ? "no IOMMU registered (\(facts.root.resolve("/sys/class/iommu")) is empty)"
      : "no IOMMU groups (\(facts.root.resolve("/sys/kernel/iommu_groups")) is empty)"
    let remedy: String
    if facts.iommuTables.isEmpty && facts.hasACPITables {
      remedy = "enable the IOMMU in the BIOS/UEFI setup first (see firmware.iommu)"
    } else if let conflicts = iommuConflicts(facts), !conflicts.isEmpty {
      remedy = facts.bootLoader.instruction(adding: [], removing: conflicts)
    } else {
      remedy = facts.bootLoader.instruction(adding: requiredFlags(facts.cpu))
    }
    return Check(
      id: "kernel.iommu", title: title, status: .fail, summary: "no IOMMU is active: " + what,
      remedy: remedy, details: details)
  }

  /// `kernel.cmdline`: the IOMMU flags for this CPU vendor, no flag switching it off, and the
  /// advice DPDK users need (`iommu=pt`, `pci=realloc` after MMIO errors).
  static func kernelCommandLine(_ facts: HostFacts) -> Check {
    let title = "the kernel command line"
    guard let commandLine = facts.commandLine else {
      return Check(
        id: "kernel.cmdline", title: title, status: .skip,
        summary: "no /proc/cmdline under \(facts.root): not a booted system")
    }
    if let conflicts = iommuConflicts(facts), !conflicts.isEmpty {
      return Check(
        id: "kernel.cmdline", title: title, status: .fail,
        summary: "\(conflicts.joined(separator: " ")) switches the IOMMU off",
        remedy: facts.bootLoader.instruction(adding: [], removing: conflicts))
    }
    var missing: [String] = []
    var reasons: [String] = []
    for flag in requiredFlags(facts.cpu) where !commandLine.has("intel_iommu", option: "on") {
      missing.append(flag)
      reasons.append("\(flag) is missing: the IOMMU is then on only if the kernel was built so")
    }
    if !commandLine.has("iommu", option: "pt") {
      missing.append("iommu=pt")
      reasons.append("iommu=pt is advised for DPDK: devices left to host drivers skip DMA translation")
    }
    let mmio = facts.logMessages(containing: mmioErrors)
    if !mmio.isEmpty && !commandLine.has("pci", option: "realloc") {
      missing.append("pci=realloc")
      reasons.append("pci=realloc lets the kernel find the MMIO space the firmware did not reserve for VFs")
    }
    guard missing.isEmpty else {
      return Check(
        id: "kernel.cmdline", title: title, status: .warn, summary: reasons.joined(separator: "; "),
        remedy: facts.bootLoader.instruction(adding: missing))
    }
    let present = requiredFlags(facts.cpu) + ["iommu=pt"]
    return Check(
      id: "kernel.cmdline", title: title, status: .pass, summary: present.joined(separator: " ") + " set")
  }

  /// The flags the command line needs for this vendor: Intel's IOMMU may be off by default;
  /// AMD's is on whenever the firmware has it.
  static func requiredFlags(_ vendor: CPUVendor?) -> [String] {
    vendor == .intel ? ["intel_iommu=on"] : []
  }

  /// Parameters that switch the IOMMU off, as written on the command line.
  static func iommuConflicts(_ facts: HostFacts) -> [String]? {
    guard let commandLine = facts.commandLine else { return nil }
    return commandLine.parameters.filter { parameter in
      ["intel_iommu=", "amd_iommu=", "iommu="].contains { name in
        parameter.hasPrefix(name)
          && parameter.dropFirst(name.count).split(separator: ",").contains("off")
      }
    }
  }

  /// Kernel messages saying VFs found no MMIO or bus space (drivers/pci/iov.c, setup-bus.c).
  static let mmioErrors = [
    "not enough MMIO resources for SR-IOV", "SR-IOV: bus number out of range",
  ]
}
