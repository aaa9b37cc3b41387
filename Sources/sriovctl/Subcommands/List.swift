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
    let chosen = try Inventory.discover(root: root).selection(pfs, root: root)
    // A function the kernel's data does not describe is said on stderr, one line per problem;
    // the others are listed as usual.
    for bad in chosen.malformed {
      for problem in bad.problems { Diagnostics.warn("\(bad.entry): \(problem)") }
    }
    Output.emit(
      options.format,
      json: .object([
        ("pfs", .array(chosen.pfs.map(\.json))), ("problems", .array(chosen.malformed.map(\.json))),
      ])
    ) {
      PFTable.render(chosen.pfs, malformed: chosen.malformed.count)
    }
    // Asked for by name, a PF that cannot be read is a failure; found while listing all, a warning.
    if !pfs.isEmpty && !chosen.malformed.isEmpty { throw ExitCode.failure }
  }
}
