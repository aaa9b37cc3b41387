import ArgumentParser
import SRIOVKit

struct List: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "List SR-IOV physical functions and their virtual functions.",
    discussion: """
      Shows every network-class PCI function that has the SR-IOV capability, with its \
      interfaces, driver, NUMA node, VF totals and its VFs. A total of 0 means SR-IOV is \
      switched off in the BIOS or the NIC's firmware (see 'sriovctl check').

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
    let pfs = try Inventory.discover(root: root).select(pfs, root: root)
    Output.emit(options.format, json: .object([("pfs", .array(pfs.map(\.json)))])) {
      PFTable.render(pfs)
    }
  }
}
