import ArgumentParser
import SRIOVKit

struct List: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "List SR-IOV physical functions and their virtual functions.",
    discussion: """
      Shows every network-class PCI function that has the SR-IOV capability, with its \
      interfaces, driver, NUMA node, VF totals and its VFs. A total of 0 means SR-IOV is \
      switched off in the BIOS or the NIC's firmware (see 'sriovctl check').

      A function whose sysfs data the kernel could not have written (a negative sriov_totalvfs, \
      a virtfn-1 link, config space cut short) is not listed: each problem is said on standard \
      error as 'sriovctl: ADDRESS: PROBLEM' and, with -o json, under "problems". The exit \
      status is then 1 if that PF was asked for by name, else 0.

      Run by a user other than root, the kernel shows only 64 bytes of each function's \
      config space: a NIC whose firmware has SR-IOV off then cannot be told from a NIC \
      without SR-IOV. Such a NIC is said on standard error and, with -o json, under \
      "unknown"; run as root to tell.

      Examples:
        sriovctl list
        sriovctl list ens1f0 0000:3b:00.1 -o json
        sriovctl --root /srv/image list
      """)

  @OptionGroup var options: GlobalOptions
  @ParentCommand var parent: SRIOVCtl

  @Argument(
    help: ArgumentHelp("Only these PFs (interface name or PCI address).", valueName: "PF"),
    transform: parsePFSelector)
  var pfs: [PFSelector] = []

  func run() throws {
    let options = options.merged(with: parent.options)
    try options.requireTextOrJSON()
    let root = try options.hostRoot()
    let inventory = try Inventory.discover(root: root)
    let chosen = try inventory.selection(pfs, root: root)
    // Named PFs were found or refused above; listing all, NICs that could not be told are said.
    let unknown = pfs.isEmpty ? inventory.otherNetworkFunctions.filter(\.sriovUnknown) : []
    for nic in unknown {
      let name = nic.interfaces.isEmpty ? "" : " (\(nic.interfaces.joined(separator: ", ")))"
      Diagnostics.warn("\(nic.address)\(name): cannot tell whether it has SR-IOV: \(nic.sriovUnknownReason ?? ""); run as root")
    }
    // A function the kernel's data does not describe is said on stderr, one line per problem;
    // the others are listed as usual.
    for bad in chosen.malformed {
      for problem in bad.problems { Diagnostics.warn("\(bad.entry): \(problem)") }
    }
    Output.emit(
      options.format,
      json: .object([
        ("pfs", .array(chosen.pfs.map(\.json))), ("problems", .array(chosen.malformed.map(\.json))),
        ("unknown", .array(unknown.map(\.unknownJSON))),
      ])
    ) {
      PFTable.render(chosen.pfs, malformed: chosen.malformed.count)
    }
    // Asked for by name, a PF that cannot be read is a failure; found while listing all, a warning.
    if !pfs.isEmpty && !chosen.malformed.isEmpty { throw ExitCode.failure }
  }
}
