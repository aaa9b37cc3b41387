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

  @Option(help: ArgumentHelp(
    "Bind VFs to this driver (vfio-pci for DPDK) through driver_override, or to kernel: their own driver.",
    valueName: "[INDEX=]DRIVER"))
  var driver: [String] = []

  @Option(help: ArgumentHelp("Probe new VFs' drivers automatically (sriov_drivers_autoprobe).", valueName: "on|off"))
  var autoprobe: String?

  // The VF link settings: names, help and values from the one table, VFSetting.
  @Option(name: .customLong(VFSetting.mac.longName), help: VFSetting.mac.argumentHelp)
  var mac: [String] = []

  @Option(name: .customLong(VFSetting.vlan.longName), parsing: .unconditionalSingleValue, help: VFSetting.vlan.argumentHelp)
  var vlan: [String] = []

  @Option(name: .customLong(VFSetting.trust.longName), help: VFSetting.trust.argumentHelp)
  var trust: [String] = []

  @Option(name: .customLong(VFSetting.spoofCheck.longName), help: VFSetting.spoofCheck.argumentHelp)
  var spoofchk: [String] = []

  @Option(name: .customLong(VFSetting.linkState.longName), help: VFSetting.linkState.argumentHelp)
  var linkState: [String] = []

  @Option(name: .customLong(VFSetting.maxTxRate.longName), parsing: .unconditionalSingleValue, help: VFSetting.maxTxRate.argumentHelp)
  var maxTxRate: [String] = []

  /// Each link setting's occurrences, by the table's setting.
  private var linkSettings: [(VFSetting, [String])] {
    [(.mac, mac), (.vlan, vlan), (.trust, trust), (.spoofCheck, spoofchk), (.linkState, linkState), (.maxTxRate, maxTxRate)]
  }

  @Option(parsing: .unconditional, help: ArgumentHelp("The PF's MTU.", valueName: "BYTES"))
  var mtu: Int?

  @Option(parsing: .unconditional, help: ArgumentHelp("Seconds to wait for the kernel, the VF drivers and udev.", valueName: "SECONDS"))
  var timeout: Double = VFRequest.defaultTimeout

  /// Whether any option but --count and --timeout was given.
  var hasSettings: Bool {
    !driver.isEmpty || autoprobe != nil || linkSettings.contains { !$0.1.isEmpty } || mtu != nil
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
    var settings: [VFSetting: PerVF<VFWanted>] = [:]
    for (setting, occurrences) in linkSettings {
      settings[setting] = try .parse(occurrences, option: setting.option, expected: setting.expected, setting.parse)
    }
    var request = VFRequest(
      pf: pf, count: count,
      drivers: try .parse(driver, option: "--driver", expected: VFDriver.expected, VFDriver.init),
      autoprobe: try autoprobe.map { text in
        guard let value = parseOnOff(text) else {
          throw VFRequestError.invalidValue(option: "--autoprobe", value: text, expected: "on or off")
        }
        return value
      },
      settings: settings, mtu: mtu, force: force, timeout: timeout)
    request.waitForPF = waitForPF
    try request.validate()
    return request
  }
}

extension VFSetting {
  /// The option's name without its dashes.
  var longName: String { String(option.dropFirst(2)) }

  /// The option's help: every setting takes a value for all VFs or INDEX=VALUE for one.
  var argumentHelp: ArgumentHelp { ArgumentHelp(help, valueName: "[INDEX=]\(valueName)") }
}
