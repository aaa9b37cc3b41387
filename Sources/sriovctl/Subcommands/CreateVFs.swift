import ArgumentParser
import SRIOVKit

struct CreateVFs: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "create-vfs",
    abstract: "Create and configure VFs on a PF, safely and idempotently.",
    discussion: """
      Brings PF to exactly --count VFs, configured as asked, and reports what changed. Run it \
      again with the same options and it changes nothing (changed: false).

      The kernel accepts a new VF count only from 0, so going from 4 to 2 destroys all four \
      VFs first; sriovctl refuses when a VF is in use (bound to vfio-pci or another driver, its \
      interface in another network namespace, or up with addresses) unless --force is given. It \
      then waits, on kernel and udev events, until every VF is bound and its interface is ready \
      (--timeout). Kernel errors are explained with a remedy.

      Per-VF options take VALUE for every VF or INDEX=VALUE for one, and may be repeated: \
      --vlan 100 --vlan 3=200 puts VF 3 on VLAN 200 and the others on 100.

      Examples:
        sriovctl create-vfs ens1f0 --count 8
        sriovctl create-vfs 0000:3b:00.0 --count 4 --driver vfio-pci
        sriovctl create-vfs ens1f0 --count 2 --mac auto --vlan 0=100 --trust 1=on
        sriovctl create-vfs ens1f0 --count 0
      """)

  @OptionGroup var options: GlobalOptions
  @ParentCommand var parent: SRIOVCtl

  @Argument(help: ArgumentHelp("The PF: interface name or PCI address.", valueName: "PF"), transform: parsePFSelector)
  var pf: PFSelector

  @OptionGroup var vf: VFOptions

  @Flag(name: .customLong("wait-for-pf"), help: "Wait (within --timeout) for the PF's driver and interface, as at boot.")
  var waitForPF = false

  @Flag(help: "Change the VF count even when VFs are in use.")
  var force = false

  @Flag(name: .customLong("dry-run"), help: "Print what would change and change nothing.")
  var dryRun = false

  func validate() throws {
    _ = try vf.request(pf: pf, force: force, waitForPF: waitForPF)
  }

  func run() throws {
    let options = options.merged(with: parent.options)
    try options.requireTextOrJSON()
    let request = try vf.request(pf: pf, force: force, waitForPF: waitForPF)
    let result = try VFCreation.run(request, root: try options.hostRoot(), dryRun: dryRun)
    Output.emit(options.format, json: result.json) { VFCreationText.render(result) }
  }
}
