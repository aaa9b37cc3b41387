import ArgumentParser
import Glibc
import SRIOVKit

struct Check: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Check that IOMMU, firmware, kernel and NICs are ready for SR-IOV.",
    discussion: """
      Runs these checks, each with a status (pass, warn, fail, skip), a summary and, for anything \
      that does not pass, a remedy:

        firmware.iommu   the BIOS/UEFI enabled the IOMMU (ACPI DMAR or IVRS table)
        kernel.iommu     an IOMMU is active: registered, with IOMMU groups
        kernel.cmdline   intel_iommu=on, iommu=pt, nothing switching the IOMMU off
        kernel.log       SR-IOV and IOMMU errors logged in this boot (/dev/kmsg, or the journal)
        nic.sriov        per PF: SR-IOV enabled in the firmware, a driver bound
        modules.vfio     vfio-pci and each PF's VF driver loaded, built in or loadable
        memory.hugepages huge pages for DPDK, per size and NUMA node (the PFs' nodes)
        devices.vfio     /dev/vfio/vfio, and each VF in an IOMMU group of its own
        devices.vhost-net
                         /dev/vhost-net and /dev/net/tun (needVhostNet), or loadable
        host.conflicts   NetworkManager, netplan, .link files, udev rules or driverctl
                         also setting a PF's VFs (sriovctl's own files excepted)

      The IOMMU's state is taken from what the kernel registered, never from the command line or \
      the log alone. Exits 0 when nothing failed (warnings do not fail), 1 otherwise, so Ansible \
      and cloud-init can gate on it; also 1 when every check was skipped (nothing could be \
      checked). A PF whose sysfs data is malformed fails nic.sriov with the reason; the other \
      PFs are checked as usual.

      Examples:
        sriovctl check
        sriovctl check --pf ens1f0 -o json
      """)

  @OptionGroup var options: GlobalOptions
  @ParentCommand var parent: SRIOVCtl

  @Option(
    name: .customLong("pf"),
    help: ArgumentHelp("Check only this PF (interface or PCI address); repeatable.", valueName: "PF"),
    transform: parsePFSelector)
  var pfs: [PFSelector] = []

  func run() throws {
    let options = options.merged(with: parent.options)
    try options.requireTextOrJSON()
    let report = try Readiness.check(root: try options.hostRoot(), pfs: pfs)
    Output.emit(options.format, json: report.json) {
      CheckReportText.render(report, colour: Terminal.wantsColour)
    }
    if !report.ok { throw ExitCode.failure }
  }
}
