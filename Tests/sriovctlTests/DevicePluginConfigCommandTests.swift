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

  func testTheConfigMapIsValidYAMLAndJSON() throws {
    let root = try host { try FixtureHosts.x710(at: $0) }
    let yaml = try sriovctl(["device-plugin-config", "--root", root, "--namespace", "sriov-system"])
    XCTAssertEqual(yaml.status, 0, yaml.stderr)
    XCTAssertTrue(yaml.stdout.hasPrefix("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sriovdp-config\n  namespace: sriov-system\n"))
    // Parse it the way kubectl would see it: YAML, then config.json inside it.
    let script = "import json,sys,yaml; d=yaml.safe_load(sys.stdin); json.dump(d, sys.stdout)"
    let parse = Process()
    parse.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
    parse.arguments = ["-c", script]
    let input = Pipe()
    let output = Pipe()
    parse.standardInput = input
    parse.standardOutput = output
    try parse.run()
    input.fileHandleForWriting.write(Data(yaml.stdout.utf8))
    try input.fileHandleForWriting.close()
    let parsedData = output.fileHandleForReading.readDataToEndOfFile()
    parse.waitUntilExit()
    XCTAssertEqual(parse.terminationStatus, 0, "PyYAML must parse the ConfigMap")
    let configMap = try XCTUnwrap(try JSONSerialization.jsonObject(with: parsedData) as? [String: Any])
    let json = try sriovctl(["device-plugin-config", "--root", root, "--namespace", "sriov-system", "-o", "json"])
    XCTAssertEqual(configMap as NSDictionary, try json.json() as NSDictionary, "the YAML and JSON forms agree")
    let data = try XCTUnwrap(configMap["data"] as? [String: String])
    let config = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(try XCTUnwrap(data["config.json"]).utf8)) as? [String: Any])
    XCTAssertEqual(try assertValidConfig(config).count, 2)
  }

  func testBadRequestsAreRefused() throws {
    let root = try host { try FixtureHosts.x710(at: $0) }
    assertCleanFailure(try sriovctl(["device-plugin-config", "--root", root, "--pf", "ens1f0#5-2"]), status: 64, mentioning: ["is not PF or PF#RANGES"])
    assertCleanFailure(try sriovctl(["device-plugin-config", "--root", root, "--pf", "ens1f0#64"]), mentioning: ["names VFs the PF does not have (it allows 64)"])
    assertCleanFailure(try sriovctl(["device-plugin-config", "--root", root, "--resource-name", "a-b"]), mentioning: ["'a-b' is not a device plugin resource name"])
    assertCleanFailure(try sriovctl(["device-plugin-config", "--root", root, "--resource-name", "one"]), mentioning: ["but 2 would be made"])
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
