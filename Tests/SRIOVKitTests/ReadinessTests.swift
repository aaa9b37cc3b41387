import Foundation
import SRIOVFixtures
import SRIOVKit
import XCTest

/// `sriovctl check` on fixture hosts: every branch of every check.
final class ReadinessTests: XCTestCase {
  // MARK: A ready host

  func testAReadyIntelHostPassesEverything() throws {
    let report = try report(try FixtureHosts.x710())
    XCTAssertTrue(report.ok)
    XCTAssertEqual(
      report.checks.map(\.id),
      ["firmware.iommu", "kernel.iommu", "kernel.cmdline", "kernel.log", "nic.sriov", "nic.sriov",
       "modules.vfio", "memory.hugepages", "devices.vfio", "devices.vhost-net", "host.conflicts"])
    for check in report.checks {
      XCTAssertEqual(check.status, .pass, "\(check.id): \(check.summary)")
      XCTAssertNil(check.remedy, check.id)
    }
    XCTAssertEqual(try check(report, "kernel.iommu").summary, "dmar0 with 11 IOMMU groups, passthrough mode")
    XCTAssertEqual(report.checks[4].summary, "4 of 64 VFs enabled, driver i40e")
    XCTAssertEqual(report.checks[4].pf?.description, "0000:3b:00.0")
    XCTAssertEqual(try check(report, "modules.vfio").summary, "vfio-pci loadable; iavf loaded")
  }

  // MARK: firmware.iommu and kernel.iommu

  func testFirmwareWithoutTheIOMMUFailsWithAVendorRemedy() throws {
    var intel = try FixtureHosts.x710()
    intel.iommu = nil
    let intelReport = try report(intel)
    let firmware = try check(intelReport, "firmware.iommu")
    XCTAssertEqual(firmware.status, .fail)
    XCTAssertEqual(firmware.title, "for IOMMU support in firmware (Intel VT-d)")
    XCTAssertEqual(firmware.summary, "no ACPI DMAR table: Intel VT-d is disabled in the firmware")
    XCTAssertTrue(firmware.remedy?.hasPrefix("enable 'Intel VT-d'") == true)
    XCTAssertFalse(intelReport.ok)

    var amd = try FixtureHosts.connectX5SRIOVDisabled()
    amd.iommu = nil
    let amdFirmware = try check(try report(amd), "firmware.iommu")
    XCTAssertEqual(amdFirmware.status, .fail)
    XCTAssertEqual(amdFirmware.summary, "no ACPI IVRS table: the AMD IOMMU (AMD-Vi) is disabled in the firmware")
  }

  func testWithoutACPITablesFirmwareIsSkippedNotGuessed() throws {
    let report = try report(try FixtureHosts.x710()) { root in
      try FileManager.default.removeItem(atPath: root + "/sys/firmware")
    }
    XCTAssertEqual(try check(report, "firmware.iommu").status, .skip)
  }

  /// Scenario (d) of the VM test bed: the command line asks for the IOMMU, the kernel logs
  /// "DMAR: IOMMU enabled", and yet nothing is active because the firmware has none.
  func testTheLogAndCommandLineCannotMakeAnAbsentIOMMUPass() throws {
    var host = try FixtureHosts.x710()
    host.iommu = nil
    host.kernelCommandLine = "BOOT_IMAGE=/vmlinuz root=/dev/sda1 intel_iommu=on iommu=pt"
    host.kernelLog = ["DMAR: IOMMU enabled", "iommu: Default domain type: Passthrough (set via kernel command line)"]
    let report = try report(host)
    let active = try check(report, "kernel.iommu")
    XCTAssertEqual(active.status, .fail)
    XCTAssertEqual(active.summary, "no IOMMU is active: no IOMMU registered (\(try rootPath(report))/sys/class/iommu is empty)")
    XCTAssertEqual(active.remedy, "enable the IOMMU in the BIOS/UEFI setup first (see firmware.iommu)")
    XCTAssertEqual(active.details.count, 1)
    XCTAssertTrue(active.details[0].hasSuffix("DMAR: IOMMU enabled (the log says so, but no IOMMU registered)"), active.details[0])
    XCTAssertEqual(try check(report, "kernel.cmdline").status, .pass, "the flags are there")
    XCTAssertEqual(try check(report, "firmware.iommu").status, .fail)
  }

  private func rootPath(_ report: CheckReport) throws -> String {
    // The summary names the resolved path; recover the root from the firmware check's sibling.
    let summary = try check(report, "kernel.iommu").summary
    let start = try XCTUnwrap(summary.range(of: "("))
    let end = try XCTUnwrap(summary.range(of: "/sys/class/iommu"))
    return String(summary[start.upperBound..<end.lowerBound])
  }

  func testIOMMUGroupsWithoutARegisteredIOMMUFail() throws {
    let report = try report(try FixtureHosts.x710()) { root in
      try FileManager.default.removeItem(atPath: root + "/sys/kernel/iommu_groups")
      try FileManager.default.createDirectory(atPath: root + "/sys/kernel/iommu_groups", withIntermediateDirectories: false)
    }
    let active = try check(report, "kernel.iommu")
    XCTAssertEqual(active.status, .fail)
    XCTAssertTrue(active.summary.hasPrefix("no IOMMU is active: no IOMMU groups"), active.summary)
    XCTAssertEqual(
      active.remedy,
      "add 'intel_iommu=on' to the kernel command line in the boot loader's configuration and reboot",
      "the firmware has the table, so the kernel must be told")
  }

  // MARK: kernel.cmdline

  func testMissingFlagsWarnWithTheBootLoadersOwnInstructions() throws {
    var host = try FixtureHosts.x710()
    host.kernelCommandLine = "BOOT_IMAGE=/vmlinuz-6.1.0-31-amd64 root=UUID=1234 ro quiet"
    let cases: [(String, String?, String)] = [
      ("grub", "/usr/sbin/update-grub",
       "in /etc/default/grub, add 'intel_iommu=on iommu=pt' to GRUB_CMDLINE_LINUX, run update-grub and reboot"),
      ("grub2", nil,
       "in /etc/default/grub, add 'intel_iommu=on iommu=pt' to GRUB_CMDLINE_LINUX, run grub2-mkconfig -o /boot/grub2/grub.cfg and reboot"),
      ("grubby", "/usr/sbin/grubby", "run 'grubby --update-kernel=ALL --args=\"intel_iommu=on iommu=pt\"' and reboot"),
      ("kernel-install", nil,
       "in /etc/kernel/cmdline, add 'intel_iommu=on iommu=pt' to the line, reinstall the kernel entries (kernel-install add $(uname -r) /lib/modules/$(uname -r)/vmlinuz) and reboot"),
      ("none", nil,
       "add 'intel_iommu=on iommu=pt' to the kernel command line in the boot loader's configuration and reboot"),
    ]
    for (loader, tool, expected) in cases {
      let report = try report(host) { root in
        switch loader {
        case "grub", "grub2":
          try self.writeFixtureFile("GRUB_CMDLINE_LINUX=\"\"\n", to: root + "/etc/default/grub")
          if loader == "grub2" {
            try FileManager.default.createDirectory(atPath: root + "/boot/grub2", withIntermediateDirectories: true)
          }
        case "kernel-install":
          try self.writeFixtureFile("root=UUID=1234 ro\n", to: root + "/etc/kernel/cmdline")
        default: break
        }
        if let tool { try self.writeFixtureFile("#!/bin/sh\n", to: root + tool) }
      }
      let cmdline = try check(report, "kernel.cmdline")
      XCTAssertEqual(cmdline.status, .warn, loader)
      XCTAssertEqual(cmdline.remedy, expected, loader)
      XCTAssertTrue(cmdline.summary.contains("intel_iommu=on is missing"), cmdline.summary)
      XCTAssertTrue(report.ok, "warnings do not fail")
    }
  }

  func testAFlagSwitchingTheIOMMUOffFails() throws {
    var host = try FixtureHosts.x710()
    host.kernelCommandLine = "root=/dev/sda1 intel_iommu=on iommu=off"
    let report = try report(host) { root in
      try self.writeFixtureFile("#!/bin/sh\n", to: root + "/usr/sbin/grubby")
    }
    let cmdline = try check(report, "kernel.cmdline")
    XCTAssertEqual(cmdline.status, .fail)
    XCTAssertEqual(cmdline.summary, "iommu=off switches the IOMMU off")
    XCTAssertEqual(cmdline.remedy, "run 'grubby --update-kernel=ALL --remove-args=\"iommu=off\"' and reboot")
  }

  func testAMDNeedsNoVendorFlag() throws {
    var host = try FixtureHosts.connectX5SRIOVDisabled()
    host.kernelCommandLine = "root=/dev/sda1 iommu=pt"
    XCTAssertEqual(try check(try report(host), "kernel.cmdline").status, .pass)
    host.kernelCommandLine = "root=/dev/sda1 amd_iommu=off"
    let off = try check(try report(host), "kernel.cmdline")
    XCTAssertEqual(off.status, .fail)
    XCTAssertEqual(off.summary, "amd_iommu=off switches the IOMMU off")
  }

  func testMMIOErrorsBringPciReallocAdvice() throws {
    var host = try FixtureHosts.x710()
    host.kernelLog = [
      "DMAR: IOMMU enabled",
      .init(level: 3, "pci 0000:3b:00.0: [8086:1572] type 00 class 0x020000"),
      .init(level: 3, "pci 0000:3b:00.1: not enough MMIO resources for SR-IOV"),
    ]
    let report = try report(host)
    let cmdline = try check(report, "kernel.cmdline")
    XCTAssertEqual(cmdline.status, .warn)
    XCTAssertTrue(cmdline.remedy?.contains("add 'pci=realloc'") == true, cmdline.remedy ?? "")
    let log = try check(report, "kernel.log")
    XCTAssertEqual(log.status, .fail)
    XCTAssertEqual(log.summary, "found in /dev/kmsg: MMIO or bus resources for VFs (1)")
    XCTAssertEqual(log.details, ["[    0.130000] pci 0000:3b:00.1: not enough MMIO resources for SR-IOV"])
    XCTAssertTrue(log.remedy?.contains("'Above 4G Decoding'") == true)
    XCTAssertFalse(report.ok)
  }

  func testNoCommandLineIsSkipped() throws {
    let report = try report(try FixtureHosts.x710()) { root in
      try FileManager.default.removeItem(atPath: root + "/proc/cmdline")
    }
    XCTAssertEqual(try check(report, "kernel.cmdline").status, .skip)
  }

  // MARK: kernel.log

  func testLogErrorsAreQuotedWithTheirTimes() throws {
    var host = try FixtureHosts.x710()
    host.kernelLog = [
      "DMAR: IOMMU enabled",
      .init(level: 3, "i40e 0000:3b:00.1: Failed to enable SR-IOV, error -12"),
      .init(level: 3, "DMAR: DRHD: handling fault status reg 2"),
      .init(level: 3, "DMAR: [DMA Read NO_PASID] Request device [3b:02.1] fault addr 0x0 [fault reason 0x06] PTE Read access is not set"),
    ]
    let log = try check(try report(host), "kernel.log")
    XCTAssertEqual(log.status, .fail)
    XCTAssertEqual(log.summary, "found in /dev/kmsg: a driver failed to enable SR-IOV (1), IOMMU faults (2)")
    XCTAssertEqual(log.details.count, 3)
    XCTAssertEqual(log.details[0], "[    0.115000] i40e 0000:3b:00.1: Failed to enable SR-IOV, error -12")
  }

  func testIOMMUFaultsAloneWarn() throws {
    var host = try FixtureHosts.x710()
    host.kernelLog = ["AMD-Vi: Event logged [IO_PAGE_FAULT device=3b:02.0 domain=0x0000 address=0x0 flags=0x0020]"]
    let log = try check(try report(host), "kernel.log")
    XCTAssertEqual(log.status, .warn)
  }

  func testARotatedRingIsReportedAsIncomplete() throws {
    let report = try report(try FixtureHosts.x710()) { root in
      // The oldest record left is number 5000: the ring has wrapped. No journal here.
      try self.writeFixtureFile("6,5000,900000000,-;igb 0000:01:00.0: eth0: PF still in reset state\n", to: root + "/dev/kmsg")
    }
    let log = try check(report, "kernel.log")
    XCTAssertEqual(log.status, .pass)
    XCTAssertEqual(log.details.count, 1)
    XCTAssertTrue(log.details[0].hasPrefix("the ring buffer has rotated"), log.details[0])
  }

  /// Once the ring has wrapped, this boot's kernel messages come from the journal, written here
  /// by the real systemd-journal-remote from journal export format.
  func testARotatedRingFallsBackToThisBootsJournal() throws {
    let boot = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    let report = try report(try FixtureHosts.x710()) { root in
      try self.writeFixtureFile("6,5000,900000000,-;igb 0000:01:00.0: eth0: PF still in reset state\n", to: root + "/dev/kmsg")
      try self.writeFixtureFile(boot + "\n", to: root + "/proc/sys/kernel/random/boot_id")
      func entry(_ bootID: String, _ usec: Int, _ message: String) -> String {
        "__REALTIME_TIMESTAMP=\(1_700_000_000_000_000 + usec)\n__MONOTONIC_TIMESTAMP=\(usec)\n"
          + "_BOOT_ID=\(bootID)\n_TRANSPORT=kernel\nPRIORITY=3\n_SOURCE_MONOTONIC_TIMESTAMP=\(usec)\n"
          + "MESSAGE=\(message)\n\n"
      }
      let export =
        entry(boot.filter { $0 != "-" }, 1_234_567, "pci 0000:3b:00.1: not enough MMIO resources for SR-IOV")
        + entry("00112233445566778899aabbccddeeff", 2_000_000, "pci 0000:3b:00.0: SR-IOV: bus number out of range")
      let input = root + "/tmp.export"
      try self.writeFixtureFile(export, to: input)
      let directory = root + "/var/log/journal/0123456789abcdef0123456789abcdef"
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
      let convert = Process()
      convert.executableURL = URL(fileURLWithPath: "/lib/systemd/systemd-journal-remote")
      convert.arguments = ["-o", directory + "/system.journal", input]
      convert.standardError = FileHandle.nullDevice
      try convert.run()
      convert.waitUntilExit()
      XCTAssertEqual(convert.terminationStatus, 0, "systemd-journal-remote (package systemd-journal-remote)")
      try FileManager.default.removeItem(atPath: input)
    }
    let log = try check(report, "kernel.log")
    XCTAssertEqual(log.status, .fail)
    XCTAssertEqual(log.summary, "found in the journal: MMIO or bus resources for VFs (1)", "only this boot")
    XCTAssertEqual(log.details, ["[    1.234567] pci 0000:3b:00.1: not enough MMIO resources for SR-IOV"])
  }

  func testNoKernelLogIsSkipped() throws {
    let report = try report(try FixtureHosts.x710()) { root in
      try FileManager.default.removeItem(atPath: root + "/dev/kmsg")
    }
    XCTAssertEqual(try check(report, "kernel.log").status, .skip)
  }

  // MARK: nic.sriov

  func testFirmwareDisabledSRIOVFailsWithTheVendorsTool() throws {
    let report = try report(try FixtureHosts.connectX5SRIOVDisabled())
    let nic = try check(report, "nic.sriov")
    XCTAssertEqual(nic.status, .fail)
    XCTAssertEqual(nic.title, "SR-IOV on 0000:af:00.0 (ens2f0np0)")
    XCTAssertTrue(nic.summary.hasPrefix("the SR-IOV capability is present but offers 0 VFs"), nic.summary)
    XCTAssertTrue(nic.remedy?.contains("mstconfig -d 0000:af:00.0 set SRIOV_EN=1 NUM_OF_VFS=<n>") == true)
    XCTAssertFalse(report.ok)
  }

  func testAPFWithoutADriverFailsAndNamesTheModule() throws {
    let report = try report(try FixtureHosts.x710(), pfs: ["0000:3b:00.1"]) { root in
      try FileManager.default.removeItem(atPath: root + "/sys/bus/pci/devices/0000:3b:00.1/driver")
    }
    let nics = report.checks.filter { $0.id == "nic.sriov" }
    XCTAssertEqual(nics.map(\.pf?.description), ["0000:3b:00.1"], "--pf selects")
    XCTAssertEqual(nics[0].status, .fail)
    XCTAssertEqual(nics[0].summary, "no driver is bound to the PF, so no VFs can be created")
    XCTAssertEqual(nics[0].remedy, "load its driver: modprobe i40e")
  }

  func testAHostWithoutSRIOVNICsFailsOnce() throws {
    let report = try report(try FixtureHosts.noSRIOV())
    let nics = report.checks.filter { $0.id == "nic.sriov" }
    XCTAssertEqual(nics.count, 1)
    XCTAssertEqual(nics[0].status, .fail)
    XCTAssertEqual(nics[0].summary, "no network card with the SR-IOV capability found")
    XCTAssertEqual(nics[0].details.count, 2)
  }

  func testAnUnknownPFIsAnErrorNotACheck() throws {
    XCTAssertThrowsError(try report(try FixtureHosts.x710(), pfs: ["ens9"])) { error in
      XCTAssertTrue("\(error)".hasPrefix("no network interface 'ens9' exists"), "\(error)")
    }
  }

  // MARK: modules.vfio

  func testModulesBuiltInLoadedMissingAndBlacklisted() throws {
    XCTAssertEqual(
      try check(try report(try FixtureHosts.connectX5SRIOVDisabled()), "modules.vfio").summary,
      "vfio-pci built in")

    var noVFIO = try FixtureHosts.x710()
    noVFIO.kernelModules = noVFIO.kernelModules?.filter { $0.name != "vfio-pci" }
    let missing = try check(try report(noVFIO), "modules.vfio")
    XCTAssertEqual(missing.status, .fail)
    XCTAssertEqual(missing.summary, "vfio-pci (DPDK and VM passthrough) is not in this kernel; iavf loaded")

    let blacklisted = try check(
      try report(try FixtureHosts.x710()) { root in
        try self.writeFixtureFile("blacklist vfio_pci\n", to: root + "/etc/modprobe.d/no-vfio.conf")
      }, "modules.vfio")
    XCTAssertEqual(blacklisted.status, .warn)
    XCTAssertTrue(blacklisted.summary.hasPrefix("vfio-pci is blacklisted in modprobe.d"), blacklisted.summary)

    let noModules = try check(try report(try FixtureHosts.noSRIOV()), "modules.vfio")
    XCTAssertEqual(noModules.status, .fail)
    XCTAssertEqual(noModules.summary, "vfio-pci is not loaded and 6.1.0-31-amd64 has no modules in /lib/modules")
  }

  func testTheVFDriverIsFoundThroughTheVFsModalias() throws {
    // Unbind the VFs and drop iavf from the kernel: nothing claims 8086:154c.
    var host = try FixtureHosts.x710()
    host.kernelModules = host.kernelModules?.filter { $0.name != "iavf" }
    host.functions = host.functions.map { function in
      var function = function
      if function.driver == "iavf" {
        function.driver = nil
        function.interfaces = []
      }
      return function
    }
    let modules = try check(try report(host), "modules.vfio")
    XCTAssertEqual(modules.status, .warn)
    XCTAssertTrue(
      modules.summary.hasPrefix(
        "no driver in this kernel claims the VFs of 0000:3b:00.0 (ens1f0) (8086:154c): only vfio-pci can use them"),
      modules.summary)

    // With iavf available but not loaded, it is found loadable from the VF's modalias.
    var loadable = try FixtureHosts.x710()
    loadable.functions = host.functions
    XCTAssertEqual(try check(try report(loadable), "modules.vfio").summary, "vfio-pci loadable; iavf loadable")
  }

  // MARK: JSON

  /// The README's contract: `{"ok", "checks": [{"id", "title", "status", "summary", "remedy", "pf",
  /// "details"}]}`, every key always present, each of its type.
  func testTheReportsJSONHasTheDocumentedKeys() throws {
    let report = try report(try FixtureHosts.connectX5SRIOVDisabled())
    let parsed = try XCTUnwrap(
      try JSONSerialization.jsonObject(with: Data(report.json.rendered().utf8)) as? [String: Any])
    XCTAssertEqual(Set(parsed.keys), ["ok", "checks"])
    XCTAssertEqual(parsed["ok"] as? Bool, false)
    let checks = try XCTUnwrap(parsed["checks"] as? [[String: Any]])
    XCTAssertEqual(checks.count, report.checks.count)
    for (check, model) in zip(checks, report.checks) {
      XCTAssertEqual(Set(check.keys), ["id", "title", "status", "summary", "remedy", "pf", "details"], "\(check)")
      XCTAssertEqual(check["id"] as? String, model.id)
      XCTAssertEqual(check["title"] as? String, model.title)
      XCTAssertEqual(check["summary"] as? String, model.summary)
      XCTAssertTrue(["pass", "warn", "fail", "skip"].contains(check["status"] as? String), "\(check)")
      XCTAssertEqual(check["status"] as? String, model.status.rawValue)
      switch check["status"] as? String {
      case "pass": XCTAssertTrue(check["remedy"] is NSNull, "\(check)")
      case "fail", "warn": XCTAssertNotNil(check["remedy"] as? String, "\(check)")
      default: XCTAssertTrue(check["remedy"] is NSNull || check["remedy"] is String, "\(check)")
      }
      if (check["id"] as? String)?.hasPrefix("nic.") == true {
        XCTAssertNotNil(check["pf"] as? String, "a per-PF check names its PF: \(check)")
      } else {
        XCTAssertTrue(check["pf"] is NSNull, "\(check)")
      }
      XCTAssertNotNil(check["details"] as? [String], "\(check)")
    }
    // The ConnectX-5 with SR-IOV off in its firmware fails nic.sriov for its PF, with a remedy.
    let nic = try XCTUnwrap(checks.first { $0["id"] as? String == "nic.sriov" })
    XCTAssertEqual(nic["status"] as? String, "fail")
    XCTAssertEqual(nic["pf"] as? String, model(report, "nic.sriov")?.pf?.description)
  }

  private func model(_ report: CheckReport, _ id: String) -> Check? {
    report.checks.first { $0.id == id }
  }
}
