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

  @Option(help: ArgumentHelp("The number of VFs, from 0 to the PF's total.", valueName: "N"))
  var count: Int

  @Option(help: ArgumentHelp("Bind every VF to this driver (vfio-pci for DPDK) through driver_override.", valueName: "DRIVER"))
  var driver: String?

  @Option(help: ArgumentHelp("Probe new VFs' drivers automatically (sriov_drivers_autoprobe).", valueName: "on|off"))
  var autoprobe: String?

  @Option(help: ArgumentHelp("VF MAC: INDEX=MAC, or auto for stable addresses derived from the PF's permanent MAC.", valueName: "auto|INDEX=MAC"))
  var mac: [String] = []

  @Option(help: ArgumentHelp("VF VLAN ID, 0 for none.", valueName: "[INDEX=]VLAN"))
  var vlan: [String] = []

  @Option(help: ArgumentHelp("Let the VF change its MAC and use promiscuous modes.", valueName: "[INDEX=]on|off"))
  var trust: [String] = []

  @Option(help: ArgumentHelp("Drop frames the VF sends with a MAC other than its own.", valueName: "[INDEX=]on|off"))
  var spoofchk: [String] = []

  @Option(name: .customLong("link-state"), help: ArgumentHelp("VF link: follow the PF, always up, or always down.", valueName: "[INDEX=]auto|enable|disable"))
  var linkState: [String] = []

  @Option(name: .customLong("max-tx-rate"), help: ArgumentHelp("VF transmit limit in Mbps, 0 for none.", valueName: "[INDEX=]MBPS"))
  var maxTxRate: [String] = []

  @Option(help: ArgumentHelp("The PF's MTU.", valueName: "BYTES"))
  var mtu: Int?

  @Option(help: ArgumentHelp("Seconds to wait for the kernel, the VF drivers and udev.", valueName: "SECONDS"))
  var timeout: Double = 60

  @Flag(help: "Change the VF count even when VFs are in use.")
  var force = false

  @Flag(name: .customLong("dry-run"), help: "Print what would change and change nothing.")
  var dryRun = false

  func validate() throws {
    _ = try request()
  }

  /// The options as a validated request; a bad value is a usage error (exit 64).
  func request() throws -> VFRequest {
    do {
      return try parse()
    } catch let error as VFRequestError {
      throw ValidationError(error.description)
    }
  }

  private func parse() throws -> VFRequest {
    func onOff(_ text: String) -> Bool? { parseOnOff(text) }
    let request = VFRequest(
      pf: pf, count: count,
      driver: try driver.map { name in
        guard let driver = DriverName(name) else {
          throw VFRequestError.invalidValue(option: "--driver", value: name, expected: "a driver name such as vfio-pci")
        }
        return driver
      },
      autoprobe: try autoprobe.map { text in
        guard let value = parseOnOff(text) else {
          throw VFRequestError.invalidValue(option: "--autoprobe", value: text, expected: "on or off")
        }
        return value
      },
      macs: try MACRequest.parse(mac),
      vlans: try .parse(vlan, option: "--vlan", expected: "a VLAN ID") { Int($0) },
      trust: try .parse(trust, option: "--trust", expected: "on or off", onOff),
      spoofCheck: try .parse(spoofchk, option: "--spoofchk", expected: "on or off", onOff),
      linkState: try .parse(linkState, option: "--link-state", expected: "auto, enable or disable") {
        VFLinkState(rawValue: $0)
      },
      maxTxRate: try .parse(maxTxRate, option: "--max-tx-rate", expected: "a rate in Mbps") {
        Int($0).flatMap { $0 >= 0 ? $0 : nil }
      },
      mtu: mtu, force: force, timeout: timeout)
    try request.validate()
    return request
  }

  func run() throws {
    let options = options.merged(with: parent.options)
    let result = try VFCreation.run(try request(), root: try options.hostRoot(), dryRun: dryRun)
    Output.emit(options.format, json: result.json) { VFCreationText.render(result) }
  }
}
