import ArgumentParser
import SRIOVKit

/// The VF options `create-vfs` applies and `persist` saves for boot.
struct VFOptions: ParsableArguments {
  // Numbers are taken as given (`.unconditional`), so that `--count -1` is reported as a bad
  // number rather than as a missing value followed by an unknown option.
  @Option(
    parsing: .unconditional,
    help: ArgumentHelp("The number of VFs, from 0 to the PF's total (required).", valueName: "N"))
  var count: Int?

  @Option(help: ArgumentHelp("Bind every VF to this driver (vfio-pci for DPDK) through driver_override.", valueName: "DRIVER"))
  var driver: String?

  @Option(help: ArgumentHelp("Probe new VFs' drivers automatically (sriov_drivers_autoprobe).", valueName: "on|off"))
  var autoprobe: String?

  @Option(help: ArgumentHelp("VF MAC: INDEX=MAC, or auto for stable addresses derived from the PF's permanent MAC.", valueName: "auto|INDEX=MAC"))
  var mac: [String] = []

  @Option(parsing: .unconditionalSingleValue, help: ArgumentHelp("VF VLAN ID, 0 for none.", valueName: "[INDEX=]VLAN"))
  var vlan: [String] = []

  @Option(help: ArgumentHelp("Let the VF change its MAC and use promiscuous modes.", valueName: "[INDEX=]on|off"))
  var trust: [String] = []

  @Option(help: ArgumentHelp("Drop frames the VF sends with a MAC other than its own.", valueName: "[INDEX=]on|off"))
  var spoofchk: [String] = []

  @Option(name: .customLong("link-state"), help: ArgumentHelp("VF link: follow the PF, always up, or always down.", valueName: "[INDEX=]auto|enable|disable"))
  var linkState: [String] = []

  @Option(name: .customLong("max-tx-rate"), parsing: .unconditionalSingleValue, help: ArgumentHelp("VF transmit limit in Mbps, 0 for none.", valueName: "[INDEX=]MBPS"))
  var maxTxRate: [String] = []

  @Option(parsing: .unconditional, help: ArgumentHelp("The PF's MTU.", valueName: "BYTES"))
  var mtu: Int?

  @Option(parsing: .unconditional, help: ArgumentHelp("Seconds to wait for the kernel, the VF drivers and udev.", valueName: "SECONDS"))
  var timeout: Double = VFRequest.defaultTimeout

  /// Whether any option but --count and --timeout was given.
  var hasSettings: Bool {
    driver != nil || autoprobe != nil || !mac.isEmpty || !vlan.isEmpty || !trust.isEmpty || !spoofchk.isEmpty
      || !linkState.isEmpty || !maxTxRate.isEmpty || mtu != nil
  }

  /// The options as a validated request; a bad value is a usage error (exit 64).
  func request(pf: PFSelector, force: Bool = false, waitForPF: Bool = false) throws -> VFRequest {
    guard let count else { throw ValidationError("Missing expected argument '--count <N>'") }
    do {
      return try parse(pf: pf, count: count, force: force, waitForPF: waitForPF)
    } catch let error as VFRequestError {
      throw ValidationError(error.description)
    }
  }

  private func parse(pf: PFSelector, count: Int, force: Bool, waitForPF: Bool) throws -> VFRequest {
    func onOff(_ text: String) -> Bool? { parseOnOff(text) }
    var request = VFRequest(
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
      maxTxRate: try .parse(maxTxRate, option: "--max-tx-rate", expected: VFRequest.rateExpectation) {
        Int($0).flatMap { VFRequest.rateRange.contains($0) ? $0 : nil }
      },
      mtu: mtu, force: force, timeout: timeout)
    request.waitForPF = waitForPF
    try request.validate()
    return request
  }
}
