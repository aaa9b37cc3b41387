import Foundation
import SRIOVFixtures
import XCTest

/// `sriovctl device-plugin-config` on fixture hosts and the host captured from a real kernel,
/// checked against the SR-IOV network device plugin's documented configuration schema.
final class DevicePluginConfigCommandTests: XCTestCase {
  private func host(_ build: (String) throws -> Void) throws -> String {
    let root = try temporaryDirectory(self).path + "/host"
    try build(root)
    return root
  }

  /// The documented shape of config.json (sriov-network-device-plugin README, "Configurations").
  private func assertValidConfig(_ config: [String: Any], file: StaticString = #filePath, line: UInt = #line) throws -> [[String: Any]] {
    XCTAssertEqual(Array(config.keys), ["resourceList"], file: file, line: line)
    let resources = try XCTUnwrap(config["resourceList"] as? [[String: Any]], file: file, line: line)
    let hex = try NSRegularExpression(pattern: "^[0-9a-f]{4}$")
    let pfName = try NSRegularExpression(pattern: "^[^#\\s]+(#\\d+(-\\d+)?(,\\d+(-\\d+)?)*)?$")
    func matches(_ regex: NSRegularExpression, _ text: String) -> Bool {
      regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }
    for resource in resources {
      XCTAssertTrue(Set(resource.keys).isSubset(of: ["resourceName", "resourcePrefix", "deviceType", "excludeTopology", "selectors"]), file: file, line: line)
      let name = try XCTUnwrap(resource["resourceName"] as? String, file: file, line: line)
      XCTAssertTrue(name.range(of: "^[a-zA-Z0-9_]+$", options: .regularExpression) != nil, name, file: file, line: line)
      XCTAssertEqual(resource["deviceType"] as? String, "netDevice", file: file, line: line)
      let selectors = try XCTUnwrap(resource["selectors"] as? [String: Any], file: file, line: line)
      XCTAssertTrue(
        Set(selectors.keys).isSubset(of: ["vendors", "devices", "drivers", "pfNames", "rootDevices", "linkTypes", "ddpProfiles", "isRdma", "needVhostNet"]),
        "\(selectors.keys)", file: file, line: line)
      for key in ["vendors", "devices"] {
        let values = try XCTUnwrap(selectors[key] as? [String], key, file: file, line: line)
        XCTAssertFalse(values.isEmpty, file: file, line: line)
        XCTAssertTrue(values.allSatisfy { matches(hex, $0) }, "\(key): \(values)", file: file, line: line)
      }
      for value in selectors["pfNames"] as? [String] ?? [] {
        XCTAssertTrue(matches(pfName, value), value, file: file, line: line)
      }
    }
    return resources
  }

  private func rawConfig(_ root: String, _ extra: [String] = []) throws -> [[String: Any]] {
    let run = try sriovctl(["device-plugin-config", "--raw", "--root", root] + extra)
    XCTAssertEqual(run.status, 0, run.stderr)
    return try assertValidConfig(try run.json())
  }

  private func selectors(_ resource: [String: Any]) -> [String: [String]] {
    (resource["selectors"] as? [String: Any] ?? [:]).compactMapValues { $0 as? [String] }
  }

  func testX710ConnectX5AndTheRealIgbMatchTheirHardware() throws {
    let x710 = try rawConfig(try host { try FixtureHosts.x710(at: $0) })
    XCTAssertEqual(x710.map { $0["resourceName"] as? String }, ["sriov_ens1f0", "sriov_ens1f1"])
    XCTAssertEqual(selectors(x710[0]), ["vendors": ["8086"], "devices": ["154c"], "drivers": ["iavf"], "pfNames": ["ens1f0"]])
    XCTAssertEqual(selectors(x710[1])["drivers"], ["iavf"], "from the VF's modalias before any VF exists")

    let cx5 = try rawConfig(try host { try FixtureHosts.connectX5SRIOVDisabled(at: $0) })
    XCTAssertEqual(selectors(cx5[0]), ["vendors": ["15b3"], "devices": ["1018"], "drivers": ["mlx5_core"], "pfNames": ["ens2f0np0"]])

    let captured = try host { path in
      try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
      let tar = try runProgram(URL(fileURLWithPath: "/bin/tar"), [
        "-xzf", repositoryRoot.appendingPathComponent("Tests/Fixtures/hosts/qemu-igb.tar.gz").path, "-C", path,
      ])
      XCTAssertEqual(tar.status, 0, tar.stderr)
    }
    let igb = try rawConfig(captured)
    XCTAssertEqual(selectors(igb[0]), ["vendors": ["8086"], "devices": ["10ca"], "drivers": ["igbvf"], "pfNames": ["eth0"]])
  }

  func testGroupingRangesAndNames() throws {
    let root = try host { try FixtureHosts.x710(at: $0) }
    let vendor = try rawConfig(root, ["--group-by", "vendor"])
    XCTAssertEqual(vendor.count, 1)
    XCTAssertEqual(vendor[0]["resourceName"] as? String, "intel_sriov_netdevice")
    XCTAssertEqual(selectors(vendor[0])["pfNames"], ["ens1f0", "ens1f1"])

    let split = try rawConfig(root, ["--pf", "ens1f0#0-1", "--pf", "ens1f0#2,3", "--resource-prefix", "example.com"])
    XCTAssertEqual(split.map { selectors($0)["pfNames"] ?? [] }, [["ens1f0#0-1"], ["ens1f0#2,3"]])
    XCTAssertEqual(split.map { $0["resourcePrefix"] as? String }, ["example.com", "example.com"])

    let named = try rawConfig(root, ["--pf", "0000:3b:00.1", "--resource-name", "dpdk_ports"])
    XCTAssertEqual(named.map { $0["resourceName"] as? String }, ["dpdk_ports"])
  }

  /// The ConfigMap's YAML parsed the way kubectl would see it (PyYAML), as JSON.
  private func parsedYAML(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
    let script = "import json,sys,yaml; d=yaml.safe_load(sys.stdin.buffer); json.dump(d, sys.stdout)"
    let parse = Process()
    parse.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
    parse.arguments = ["-c", script]
    let input = Pipe()
    let output = Pipe()
    parse.standardInput = input
    parse.standardOutput = output
    try parse.run()
    input.fileHandleForWriting.write(Data(yaml.utf8))
    try input.fileHandleForWriting.close()
    let parsedData = output.fileHandleForReading.readDataToEndOfFile()
    parse.waitUntilExit()
    XCTAssertEqual(parse.terminationStatus, 0, "PyYAML must parse the ConfigMap:\n\(yaml)", file: file, line: line)
    return try XCTUnwrap(try JSONSerialization.jsonObject(with: parsedData) as? [String: Any], file: file, line: line)
  }

  func testTheConfigMapIsValidYAMLAndJSON() throws {
    let root = try host { try FixtureHosts.x710(at: $0) }
    let yaml = try sriovctl(["device-plugin-config", "--root", root, "--namespace", "sriov-system"])
    XCTAssertEqual(yaml.status, 0, yaml.stderr)
    XCTAssertTrue(yaml.stdout.hasPrefix("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sriovdp-config\n  namespace: sriov-system\n"))
    let configMap = try parsedYAML(yaml.stdout)
    let json = try sriovctl(["device-plugin-config", "--root", root, "--namespace", "sriov-system", "-o", "json"])
    XCTAssertEqual(configMap as NSDictionary, try json.json() as NSDictionary, "the YAML and JSON forms agree")
    let data = try XCTUnwrap(configMap["data"] as? [String: String])
    let config = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(try XCTUnwrap(data["config.json"]).utf8)) as? [String: Any])
    XCTAssertEqual(try assertValidConfig(config).count, 2)
  }

  /// The kernel accepts any interface name without '/', ':' or ASCII white space
  /// (dev_valid_name()); YAML 1.1 breaks lines at NEL, LS and PS, so they must be escaped.
  func testInterfaceNamesWithYAMLLineBreaksStillParse() throws {
    for name in ["e\u{2028}n", "e\u{85}n", "p\u{2029}s", "d\u{7f}el", "q\"\\#: |x"] {
      let root = try host { try FixtureHosts.x710(at: $0) }
      let net = root + "/sys/bus/pci/devices/0000:3b:00.0/net/"
      try FileManager.default.moveItem(atPath: net + "ens1f0", toPath: net + name)
      let yaml = try sriovctl(["device-plugin-config", "--root", root])
      XCTAssertEqual(yaml.status, 0, yaml.stderr)
      let configMap = try parsedYAML(yaml.stdout)
      let json = try sriovctl(["device-plugin-config", "--root", root, "-o", "json"])
      XCTAssertEqual(configMap as NSDictionary, try json.json() as NSDictionary, "\(name.unicodeScalars.map(\.value))")
      let data = try XCTUnwrap(configMap["data"] as? [String: String])
      let config = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(try XCTUnwrap(data["config.json"]).utf8)) as? [String: Any])
      let resources = try XCTUnwrap(config["resourceList"] as? [[String: Any]])
      XCTAssertEqual(selectors(resources[0])["pfNames"], [name], "the name survives YAML unchanged")
    }
  }

  func testAVFIsInOneResourceOnly() throws {
    let root = try host { try FixtureHosts.x710(at: $0) }
    func run(_ pfs: [String]) throws -> Run {
      try sriovctl(["device-plugin-config", "--raw", "--root", root] + pfs.flatMap { ["--pf", $0] })
    }
    // The same PF written the same way: a usage error.
    assertCleanFailure(try run(["ens1f0", "ens1f0"]), status: 64, mentioning: ["--pf 'ens1f0' and --pf 'ens1f0' both select VF 0 of ens1f0"])
    assertCleanFailure(try run(["ens1f0#0-2", "ens1f0#2,3"]), status: 64, mentioning: ["both select VF 2"])
    // By name and by address: found on the host.
    assertCleanFailure(
      try run(["ens1f0", "3b:00.0#1-2"]),
      mentioning: ["--pf 'ens1f0' and --pf '0000:3b:00.0#1-2' both select VF 1 of 0000:3b:00.0; a VF can be in one resource only"])
    assertCleanFailure(try run(["0000:3b:00.1#3", "ens1f1#0-3"]), mentioning: ["both select VF 3 of 0000:3b:00.1"])
    // Disjoint ranges of one PF, by name and address, are two resources.
    let split = try run(["ens1f0#0-1", "3b:00.0#2-3"])
    XCTAssertEqual(split.status, 0, split.stderr)
    XCTAssertEqual(try assertValidConfig(try split.json()).map { selectors($0)["pfNames"] ?? [] }, [["ens1f0#0-1"], ["ens1f0#2-3"]])
  }

  func testARangeNeedsThePFsInterface() throws {
    let root = try host { try FixtureHosts.x710(at: $0) }
    try FileManager.default.removeItem(atPath: root + "/sys/bus/pci/devices/0000:3b:00.1/net/ens1f1")
    try FileManager.default.removeItem(atPath: root + "/sys/class/net/ens1f1")
    let run = try sriovctl(["device-plugin-config", "--raw", "--root", root, "--pf", "0000:3b:00.1#0-1"])
    assertCleanFailure(run, mentioning: ["'0000:3b:00.1#0-1': a VF range is selected through the PF's interface name (pfNames)"])
    // The whole PF is selected by rootDevices, as before.
    let whole = try sriovctl(["device-plugin-config", "--raw", "--root", root, "--pf", "0000:3b:00.1"])
    XCTAssertEqual(whole.status, 0, whole.stderr)
    XCTAssertEqual(selectors(try assertValidConfig(try whole.json())[0])["rootDevices"], ["0000:3b:00.1"])
  }

  func testTwoResourcesNeverShareAName() throws {
    let root = try host { try FixtureHosts.x710(at: $0) }
    for (pci, old, new) in [("0000:3b:00.0", "ens1f0", "a.b"), ("0000:3b:00.1", "ens1f1", "a_b")] {
      let net = root + "/sys/bus/pci/devices/\(pci)/net/"
      try FileManager.default.moveItem(atPath: net + old, toPath: net + new)
    }
    assertCleanFailure(
      try sriovctl(["device-plugin-config", "--raw", "--root", root]),
      mentioning: ["two resources would be named 'sriov_a_b'"])
  }

  func testAnOverflowingRangeIsAUsageError() throws {
    let root = try host { try FixtureHosts.x710(at: $0) }
    for range in ["0-9223372036854775807", "9223372036854775807", "65535", "0-99999999999999999999"] {
      let run = try sriovctl(["device-plugin-config", "--root", root, "--pf", "ens1f0#" + range])
      assertCleanFailure(run, status: 64, mentioning: ["--pf 'ens1f0#\(range)' is not PF or PF#RANGES", "VF indexes 0 to 65534"])
      XCTAssertEqual(run.stderr.filter { $0 == "\n" }.count, 1, run.stderr)
    }
    let highest = try sriovctl(["device-plugin-config", "--root", root, "--pf", "ens1f0#65534"])
    assertCleanFailure(highest, mentioning: ["names VFs the PF does not have (it allows 64)"])
  }

  func testBadRequestsAreRefused() throws {
    let root = try host { try FixtureHosts.x710(at: $0) }
    assertCleanFailure(try sriovctl(["device-plugin-config", "--root", root, "--pf", "ens1f0#5-2"]), status: 64, mentioning: ["is not PF or PF#RANGES"])
    assertCleanFailure(try sriovctl(["device-plugin-config", "--root", root, "--pf", "ens1f0#64"]), mentioning: ["names VFs the PF does not have (it allows 64)"])
    assertCleanFailure(try sriovctl(["device-plugin-config", "--root", root, "--resource-name", "a-b"]), status: 64, mentioning: ["--resource-name 'a-b' is not a device plugin resource name"])
    assertCleanFailure(try sriovctl(["device-plugin-config", "--root", root, "--resource-name", "one"]), mentioning: ["but 2 would be made"])
    assertCleanFailure(try sriovctl(["device-plugin-config", "--root", root, "--resource-prefix", "Intel.com"]), status: 64, mentioning: ["--resource-prefix 'Intel.com' is not a resource prefix"])
    assertCleanFailure(try sriovctl(["device-plugin-config", "--root", root, "--namespace", "Kube_System"]), status: 64, mentioning: ["not a namespace name"])
    let noSRIOV = try host { try FixtureHosts.noSRIOV(at: $0) }
    assertCleanFailure(try sriovctl(["device-plugin-config", "--root", noSRIOV]), mentioning: ["no SR-IOV PF with VFs to offer"])
    assertCleanFailure(try sriovctl(["list", "--root", root, "-o", "yaml"]), status: 64, mentioning: ["-o yaml is only for device-plugin-config"])
  }

  /// A PF whose sysfs data is malformed gets no resource and is not left out silently: refused
  /// when named and when every PF is asked for; a config for the other PF alone still works.
  func testAMalformedPFIsRefused() throws {
    let root = try host { try FixtureHosts.x710(at: $0) }
    let totalvfs = root + "/sys/bus/pci/devices/0000:3b:00.1/sriov_totalvfs"
    try FileManager.default.removeItem(atPath: totalvfs)
    try "garbage\n".write(toFile: totalvfs, atomically: false, encoding: .utf8)
    let problem = "sriov_totalvfs holds 'garbage', expected a number of VFs from 0 to the device's TotalVFs, 64"
    assertCleanFailure(
      try sriovctl(["device-plugin-config", "--root", root]), mentioning: ["0000:3b:00.1 cannot be used: \(problem)"])
    assertCleanFailure(
      try sriovctl(["device-plugin-config", "--root", root, "--pf", "ens1f1"]),
      mentioning: ["'ens1f1' (0000:3b:00.1) cannot be used: \(problem)"])
    let other = try sriovctl(["device-plugin-config", "--root", root, "--pf", "ens1f0", "-o", "json"])
    XCTAssertEqual(other.status, 0, other.stderr)
    XCTAssertFalse(other.stdout.contains("ens1f1"), other.stdout)
  }
}
