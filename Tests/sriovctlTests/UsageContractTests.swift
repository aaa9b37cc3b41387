import Foundation
import SRIOVFixtures
import XCTest

/// The exit-status contract of every subcommand (0 ok, 1 failed, 64 usage): a bad value for any
/// option is a usage error told in one line, and an option that takes one value is refused when
/// given twice. The options are read from each command's own definition
/// (`--experimental-dump-help`), so an option added later without a case here fails the test.
final class UsageContractTests: XCTestCase {
  private static let subcommands = ["check", "list", "create-vfs", "apply", "verify", "persist", "label", "device-plugin-config"]

  /// A bad value for each option (and for the PF argument, as `<PF>`) of each subcommand.
  private static let badValues: [String: [String: String]] = {
    let global = ["--root": "", "--output": "xml"]
    let vf = [
      "<PF>": "bad name!", "--count": "-1", "--driver": "vfio pci", "--autoprobe": "maybe", "--mac": "0=zz",
      "--vlan": "-1", "--trust": "yes", "--spoofchk": "1=maybe", "--link-state": "up",
      "--max-tx-rate": "4294967296", "--mtu": "67", "--timeout": "nan",
    ]
    return [
      "check": global.merging([
        "--pf": "bad name!", "--node": "Bad_Node", "--kubectl": "", "--kubeconfig": "", "--context": "",
        "--label-prefix": "bad", "--device-plugin-config": "kube-system",
      ]) { $1 },
      "list": global.merging(["<PF>": "bad name!"]) { $1 },
      "create-vfs": global.merging(vf) { $1 },
      "apply": global.merging(["--file": "", "--timeout": "0"]) { $1 },
      "verify": global.merging(["--file": ""]) { $1 },
      "persist": global.merging(vf) { $1 }.merging(["--method": "ifupdown", "--file": ""]) { $1 },
      "label": global.merging([
        "--node": "Bad_Node", "--label": "no-equals", "--prefix": "bad", "--kubectl": "", "--kubeconfig": "",
        "--context": "",
      ]) { $1 },
      "device-plugin-config": global.merging([
        "--pf": "ens1f0#0-9223372036854775807", "--group-by": "nic", "--resource-name": "a-b",
        "--resource-prefix": "X", "--namespace": "Kube_System", "--file": "",
      ]) { $1 },
    ]
  }()

  /// A good value for each option that takes one.
  private static let goodValues = [
    "--output": "json", "--count": "2", "--driver": "vfio-pci", "--autoprobe": "on", "--mtu": "1500",
    "--timeout": "30", "--method": "udev", "--node": "worker-1", "--prefix": "example.com/", "--kubectl": "kubectl",
    "--kubeconfig": "/etc/kubernetes/admin.conf", "--context": "admin", "--group-by": "pf", "--resource-name": "vfs",
    "--resource-prefix": "example.com", "--namespace": "sriov", "--file": "node.yaml",
    "--label-prefix": "example.com/", "--device-plugin-config": "kube-system/sriovdp-config",
  ]

  /// A kubeconfig that exists: `check` reads the cluster only with one, and refuses a missing file.
  private var kubeconfig = ""

  /// The valid arguments a subcommand needs, without `option`.
  private func base(_ subcommand: String, without option: String) -> [String] {
    switch subcommand {
    case "persist" where option == "--file":
      return ["--config"]
    case "check" where option != "--kubeconfig" && !kubeconfig.isEmpty:
      return ["--kubeconfig", kubeconfig]
    case "create-vfs", "persist":
      var arguments = option == "<PF>" ? [] : ["ens1f0"]
      if option != "--count" { arguments += ["--count", "2"] }
      if subcommand == "persist", option != "--method" { arguments += ["--method", "systemd"] }
      return arguments
    default:
      return []
    }
  }

  /// The options of a subcommand: (names, takes a value, repeatable).
  private func options(_ subcommand: String) throws -> [(names: [String], isOption: Bool, repeating: Bool)] {
    let run = try sriovctl([subcommand, "--experimental-dump-help"])
    XCTAssertEqual(run.status, 0, run.stderr)
    let document = try XCTUnwrap(try run.json()["command"] as? [String: Any])
    let arguments = try XCTUnwrap(document["arguments"] as? [[String: Any]])
    return arguments.compactMap { argument in
      let kind = argument["kind"] as? String
      let names = (argument["names"] as? [[String: Any]] ?? []).map {
        ($0["kind"] as? String == "short" ? "-" : "--") + ($0["name"] as? String ?? "")
      }
      if kind == "positional" { return (["<PF>"], true, false) }
      if kind == "flag" { return nil }
      return (names, true, argument["isRepeating"] as? Bool ?? false)
    }
  }

  private func assertUsageError(_ run: Run, _ arguments: [String], file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(run.status, 64, "\(arguments): \(run.stderr)", file: file, line: line)
    XCTAssertEqual(run.stdout, "", "\(arguments)", file: file, line: line)
    XCTAssertTrue(run.stderr.hasPrefix("Error: "), "\(arguments): \(run.stderr)", file: file, line: line)
    XCTAssertEqual(run.stderr.filter { $0 == "\n" }.count, 1, "\(arguments): one line, not: \(run.stderr)", file: file, line: line)
    XCTAssertTrue(run.stderr.hasSuffix("\n"), "\(arguments)", file: file, line: line)
  }

  func testABadValueForAnyOptionIsAUsageErrorInOneLine() throws {
    let root = try temporaryDirectory(self).path + "/host"
    try FixtureHosts.x710(at: root)
    // With a kubeconfig, so that each cluster option's own value is what is refused.
    kubeconfig = root + "/kubeconfig"
    try FakeAPIServer.kubeconfig(server: "http://127.0.0.1:1").write(toFile: kubeconfig, atomically: true, encoding: .utf8)
    for subcommand in Self.subcommands {
      let table = try XCTUnwrap(Self.badValues[subcommand])
      for option in try options(subcommand) {
        let name = option.names.last!
        guard let bad = table[name] else {
          XCTFail("\(subcommand) \(name): no bad value in the table")
          continue
        }
        var arguments = [subcommand] + base(subcommand, without: name)
        if name == "<PF>" {
          arguments.insert(bad, at: 1)
        } else if name != "--root" {
          arguments += [name, bad]
        }
        arguments += name == "--root" ? ["--root", bad] : ["--root", root]
        assertUsageError(try sriovctl(arguments), arguments)
      }
    }
    // Nothing was written by any of them.
    XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/etc/udev"))
    XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/run/sriovctl.lock"))
  }

  func testAnOptionThatTakesOneValueIsRefusedTwice() throws {
    let root = try temporaryDirectory(self).path + "/host"
    try FixtureHosts.x710(at: root)
    kubeconfig = root + "/kubeconfig"
    try FakeAPIServer.kubeconfig(server: "http://127.0.0.1:1").write(toFile: kubeconfig, atomically: true, encoding: .utf8)
    for subcommand in Self.subcommands {
      for option in try options(subcommand) where !option.repeating && option.names != ["<PF>"] {
        let name = option.names.last!
        let value =
          name == "--root" ? root : name == "--kubeconfig" ? kubeconfig : try XCTUnwrap(Self.goodValues[name], "\(subcommand) \(name)")
        var arguments = [subcommand] + base(subcommand, without: name) + [name, value, option.names.first!, value]
        if name != "--root" { arguments += ["--root", root] }
        let run = try sriovctl(arguments)
        assertUsageError(run, arguments)
        XCTAssertTrue(run.stderr.contains("was given more than once; give it once"), "\(arguments): \(run.stderr)")
      }
    }
    // Before and after the subcommand's name, too.
    let split = try sriovctl(["--root", root, "list", "--root", root])
    assertUsageError(split, ["--root", "list", "--root"])
    // A value that looks like an option is a value, not a second --count.
    let value = try sriovctl(["create-vfs", "ens1f0", "--count", "2", "--vlan", "--count", "--root", root])
    assertUsageError(value, ["--vlan", "--count"])
    XCTAssertTrue(value.stderr.contains("--vlan '--count': expected a VLAN ID"), value.stderr)
  }

  func testNegativeNumbersAreExplained() throws {
    let root = try temporaryDirectory(self).path + "/host"
    try FixtureHosts.x710(at: root)
    let cases: [([String], String)] = [
      (["--count", "-1"], "--count '-1': expected a number of VFs, 0 or more"),
      (["--count", "2", "--vlan", "-1"], "--vlan '-1': expected a VLAN ID from 0 (none) to 4094"),
      (["--count", "2", "--max-tx-rate", "0=-5"], "--max-tx-rate '0=-5': expected a rate in Mbps"),
      (["--count", "2", "--mtu", "-1500"], "--mtu '-1500': expected an MTU from 68 to 65535"),
      (["--count", "2", "--timeout", "-1"], "--timeout '-1.0': expected seconds, more than 0 and at most 3600"),
    ]
    for (options, message) in cases {
      for subcommand in ["create-vfs", "persist"] {
        let arguments = [subcommand, "ens1f0", "--method", "udev", "--root", root, "--dry-run"].filter {
          subcommand == "persist" ? $0 != "--dry-run" : $0 != "--method" && $0 != "udev"
        } + options
        let run = try sriovctl(arguments)
        assertUsageError(run, arguments)
        XCTAssertTrue(run.stderr.contains(message), "\(arguments): \(run.stderr)")
      }
    }
  }

  func testNumbersBeyondWhatTheKernelTakesAreUsageErrors() throws {
    let root = try temporaryDirectory(self).path + "/host"
    try FixtureHosts.x710(at: root)
    let cases: [([String], String)] = [
      (["--count", "2", "--max-tx-rate", "4294967296"], "--max-tx-rate '4294967296': expected a rate in Mbps from 0 (none) to 4294967295"),
      (["--count", "2", "--max-tx-rate", "1=9223372036854775807"], "--max-tx-rate '1=9223372036854775807'"),
      (["--count", "65536"], "--count '65536': expected a number of VFs from 0 to 65535"),
      (["--count", "2", "--vlan", "70000=1"], "--vlan '70000=1': expected INDEX=VALUE with a VF index from 0 to 65534"),
      (["--count", "2", "--timeout", "inf"], "--timeout 'inf'"),
      (["--count", "2", "--timeout", "1e300"], "--timeout '1e+300'"),
    ]
    for (options, message) in cases {
      let arguments = ["create-vfs", "ens1f0", "--dry-run", "--root", root] + options
      let run = try sriovctl(arguments)
      assertUsageError(run, arguments)
      XCTAssertTrue(run.stderr.contains(message), "\(arguments): \(run.stderr)")
    }
    // In range, a rate is accepted up to the kernel's __u32.
    let top = try sriovctl(["create-vfs", "ens1f0", "--dry-run", "--root", root, "--count", "2", "--max-tx-rate", "4294967295"])
    XCTAssertEqual(top.status, 0, top.stderr)
  }

  func testAValueWithANewlineStaysOnOneLine() throws {
    let cases: [[String]] = [
      ["check", "--pf", "ens\n9"], ["label", "--label", "a=b\nc"], ["create-vfs", "ens1f0", "--count", "2\n3"],
      ["device-plugin-config", "--pf", "ens1f0#1\n2"],
    ]
    for arguments in cases {
      let run = try sriovctl(arguments)
      assertUsageError(run, arguments)
      XCTAssertTrue(run.stderr.contains("\\n"), "the newline is shown escaped: \(run.stderr)")
    }
  }
}
