extension Readiness {
  /// `nic.sriov`, one per PF: SR-IOV enabled in the firmware (a non-zero total) and a PF driver
  /// bound. One `fail` when the host has no SR-IOV NIC at all.
  static func nicSRIOV(_ facts: HostFacts) -> [Check] {
    guard facts.hasSysfs else {
      return [
        Check(
          id: "nic.sriov", title: "for SR-IOV network cards", status: .skip,
          summary: "no sysfs under \(facts.root): not a booted system")
      ]
    }
    // A function whose attributes the kernel could not have written is a finding about it alone:
    // a PF fails, an entry not even known to be a NIC is skipped; the others are checked as usual.
    let unreadable = facts.malformed.map { bad in
      let title =
        "SR-IOV on " + (bad.interfaces.isEmpty ? bad.entry : "\(bad.entry) (\(bad.interfaces.joined(separator: ", ")))")
      return bad.isNetworkFunction
        ? Check(
          id: "nic.sriov", title: title, status: .fail,
          summary: "its sysfs data is malformed: " + bad.problems.joined(separator: "; "),
          remedy: "the kernel never writes these values: on an image or a copied tree, regenerate "
            + "the tree; on a running host, reload the NIC's driver or reboot, and report it to the "
            + "driver's maintainers if it persists",
          pf: bad.address)
        : Check(
          id: "nic.sriov", title: title, status: .skip,
          summary: "not checked: " + bad.problems.joined(separator: "; "), pf: bad.address)
    }
    // A NIC whose capabilities could not be read (not root) may be a PF with SR-IOV off in its
    // firmware, or have no SR-IOV at all: said so, never counted as either.
    let unknown = facts.inventory.otherNetworkFunctions.compactMap { nic -> Check? in
      guard let reason = nic.sriovUnknownReason else { return nil }
      return Check(
        id: "nic.sriov",
        title: "SR-IOV on \(nic.address)" + (nic.interfaces.isEmpty ? "" : " (\(nic.interfaces.joined(separator: ", ")))"),
        status: .skip, summary: "cannot tell whether it has SR-IOV: \(reason)",
        remedy: "run 'sriovctl check' as root: only then can a NIC whose firmware has SR-IOV off be told apart "
          + "from a NIC without SR-IOV",
        pf: nic.address)
    }
    guard !facts.pfs.isEmpty || !unreadable.isEmpty || !unknown.isEmpty else {
      let others = facts.inventory.otherNetworkFunctions.map { nic in
        "\(nic.address)" + (nic.interfaces.isEmpty ? "" : " (\(nic.interfaces.joined(separator: ", ")))")
          + (nic.driver.map { ", driver \($0)" } ?? "") + ": no SR-IOV capability"
      }
      return [
        Check(
          id: "nic.sriov", title: "for SR-IOV network cards", status: .fail,
          summary: "no network card with the SR-IOV capability found",
          remedy: "SR-IOV needs a NIC that has it (Intel X710/E810, NVIDIA ConnectX-4 and later, "
            + "Broadcom NetXtreme-E...); a NIC that has it shows 'Single Root I/O Virtualization' "
            + "in 'lspci -vvv'",
          details: others)
      ]
    }
    let modules = try? facts.modules.get()
    let checked = facts.pfs.map { pf in
      let title = "SR-IOV on \(facts.label(pf))"
      let name = [pf.vendorName, pf.deviceName].compactMap { $0 }.joined(separator: " ")
      if pf.totalVFs == 0 {
        return Check(
          id: "nic.sriov", title: title, status: .fail,
          summary: "the SR-IOV capability is present but offers 0 VFs: SR-IOV is disabled in the "
            + "NIC's firmware or the BIOS" + (name.isEmpty ? "" : " (\(name))"),
          remedy: firmwareRemedy(pf), pf: pf.address)
      }
      guard let driver = pf.driver else {
        let modalias = try? facts.root.readAttribute("/sys/bus/pci/devices/\(pf.address)/modalias")
        let candidates = modalias.flatMap { modules?.modules(matching: $0) } ?? []
        return Check(
          id: "nic.sriov", title: title, status: .fail,
          summary: "no driver is bound to the PF, so no VFs can be created",
          remedy: candidates.isEmpty
            ? "install and load the NIC's driver; this kernel has none for \(pf.vendorID.pciID):\(pf.deviceID.pciID)"
            : "load its driver: modprobe \(candidates[0])",
          pf: pf.address)
      }
      return Check(
        id: "nic.sriov", title: title, status: .pass,
        summary: "\(pf.numVFs) of \(pf.totalVFs) VFs enabled, driver \(driver)", pf: pf.address)
    }
    // In address order (each title is "SR-IOV on ADDRESS..."), the unreadable among the others.
    return (unreadable + unknown + checked).sorted { $0.title < $1.title }
  }

  /// Where SR-IOV is switched on for each vendor's NICs.
  static func firmwareRemedy(_ pf: PhysicalFunction) -> String {
    let bios = "enable SR-IOV in the BIOS/UEFI setup"
    switch pf.vendorID {
    case 0x15b3:
      return "enable SR-IOV in the NIC's firmware: 'mstconfig -d \(pf.address) set SRIOV_EN=1 "
        + "NUM_OF_VFS=<n>' (mstflint; mlxconfig with NVIDIA's MFT), then reboot or 'mlxfwreset -d "
        + "\(pf.address) reset'; also \(bios)"
    case 0x8086:
      return "\(bios), both globally and in the NIC's device configuration page ('SR-IOV' or "
        + "'Virtualization Mode'), then reboot; if it stays 0, update the NIC's NVM"
    case 0x14e4:
      return "enable SR-IOV in the NIC's NVM: 'niccli -dev \(pf.address) nvm -setoption "
        + "enable_sriov -value 1' and set the number of VFs, then reboot; also \(bios)"
    case 0x1924:
      return "enable SR-IOV in the NIC's firmware: 'sfboot sriov=enabled vf-count=<n>', then reboot; also \(bios)"
    default:
      return "\(bios) and in the NIC's firmware configuration (see the vendor's tool), then reboot"
    }
  }

  /// `modules.vfio`: vfio-pci for DPDK and VM passthrough, and the VF driver of each PF's family,
  /// each loaded, built in or loadable.
  static func modules(_ facts: HostFacts) -> Check {
    let title = "for vfio-pci and the VF drivers"
    let modules: KernelModules
    do {
      modules = try facts.modules.get()
    } catch {
      return Check(id: "modules.vfio", title: title, status: .skip, summary: "\(error)")
    }
    guard modules.directory != nil || facts.root.isDirectory("/sys/module") else {
      return Check(
        id: "modules.vfio", title: title, status: .skip,
        summary: "no kernel modules or /sys/module under \(facts.root)")
    }
    var status = CheckStatus.pass
    var found: [String] = []
    var problems: [String] = []
    var remedies: [String] = []
    let noModules = modules.directory == nil || !modules.canResolve
    func describe(_ module: String, _ availability: KernelModules.Availability, for purpose: String) {
      switch availability {
      case .loaded: found.append("\(module) loaded")
      case .builtIn: found.append("\(module) built in")
      case .loadable: found.append("\(module) loadable")
      case .blacklisted(let path):
        status = max(status, .warn)
        problems.append("\(module) is blacklisted in modprobe.d (\(path))")
        remedies.append("remove the 'blacklist \(module)' line from /etc/modprobe.d, or load it by name")
      case .missing:
        status = .fail
        if noModules {
          let release = modules.release ?? "the running kernel"
          problems.append("\(module) is not loaded and \(release) has no modules in /lib/modules")
          remedies.append(
            "install the kernel's modules so that /lib/modules/\(modules.release ?? "$(uname -r)") "
              + "exists (Debian, Ubuntu: linux-image or linux-modules; RHEL, Fedora: kernel-modules), "
              + "or boot a kernel that has them")
        } else {
          problems.append("\(module) (\(purpose)) is not in this kernel")
          remedies.append("install a kernel with \(module) (\(purpose))")
        }
      }
    }
    describe("vfio-pci", modules.availability(of: "vfio-pci"), for: "DPDK and VM passthrough")
    var seen = Set<String>()
    for pf in facts.pfs where pf.totalVFs > 0 {
      guard let alias = vfModalias(pf, root: facts.root) else { continue }
      let drivers = modules.modules(matching: alias)
      guard let driver = drivers.first else {
        if !noModules {
          status = max(status, .warn)
          problems.append(
            "no driver in this kernel claims the VFs of \(facts.label(pf)) "
              + "(\(pf.vendorID.pciID):\(pf.vfDeviceID.map(\.pciID) ?? "?")): only vfio-pci can use them")
        }
        continue
      }
      guard seen.insert(driver).inserted else { continue }
      describe(driver, modules.availability(of: driver), for: "the VF driver of \(facts.label(pf))")
    }
    let summary = (problems + found).joined(separator: "; ")
    return Check(
      id: "modules.vfio", title: title, status: status, summary: summary,
      remedy: remedies.isEmpty ? nil : remedies.joined(separator: "; "))
  }

  /// The modalias of the PF's VFs: a VF's own when one exists, else built from the VF device ID
  /// (VFs of Ethernet PFs are Ethernet controllers too) as `pci_uevent()` formats it.
  static func vfModalias(_ pf: PhysicalFunction, root: HostRoot) -> String? {
    if let vf = pf.vfs.first,
      let alias = try? root.readAttribute("/sys/bus/pci/devices/\(vf.address)/modalias")
    {
      return alias
    }
    guard let device = pf.vfDeviceID else { return nil }
    let directory = "/sys/bus/pci/devices/\(pf.address)"
    let subvendor = (try? root.readInteger(directory + "/subsystem_vendor")) ?? 0
    let subdevice = (try? root.readInteger(directory + "/subsystem_device")) ?? 0
    func hex(_ value: Int, _ width: Int) -> String {
      let digits = String(value, radix: 16, uppercase: true)
      return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
    return "pci:v\(hex(Int(pf.vendorID), 8))d\(hex(Int(device), 8))sv\(hex(subvendor, 8))"
      + "sd\(hex(subdevice, 8))bc02sc00i00"
  }
}
