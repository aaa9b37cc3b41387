import Foundation
import SRIOVFixtures
import XCTest

/// `sriovctl list`, run as a user or a script would run it.
final class ListCommandTests: XCTestCase {
  private func x710() throws -> String {
    let directory = try temporaryDirectory(self).path
    try FixtureHosts.x710(at: directory)
    return directory
  }

  func testJSONHasTheDocumentedShape() throws {
    let root = try x710()
    let run = try sriovctl(["list", "--root", root, "-o", "json"])
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertEqual(run.stderr, "")
    let pfs = try XCTUnwrap(try run.json()["pfs"] as? [[String: Any]])
    XCTAssertEqual(pfs.count, 2)
    let pf = pfs[0]
    let fixedKeys: Set = [
      "pci_address", "interfaces", "vendor_id", "device_id", "vendor_name", "device_name", "driver",
      "numa_node", "total_vfs", "num_vfs", "vf_device_id", "vfs",
    ]
    XCTAssertTrue(fixedKeys.isSubset(of: pf.keys), "missing: \(fixedKeys.subtracting(pf.keys))")
    XCTAssertEqual(pf["pci_address"] as? String, "0000:3b:00.0")
    XCTAssertEqual(pf["interfaces"] as? [String], ["ens1f0"])
    XCTAssertEqual(pf["vendor_id"] as? String, "8086")
    XCTAssertEqual(pf["device_id"] as? String, "1572")
    XCTAssertEqual(pf["vendor_name"] as? String, "Intel Corporation")
    XCTAssertEqual(pf["driver"] as? String, "i40e")
    XCTAssertEqual(pf["numa_node"] as? Int, 0)
    XCTAssertEqual(pf["total_vfs"] as? Int, 64)
    XCTAssertEqual(pf["num_vfs"] as? Int, 4)
    XCTAssertEqual(pf["vf_device_id"] as? String, "154c")
    let vfs = try XCTUnwrap(pf["vfs"] as? [[String: Any]])
    XCTAssertEqual(vfs.map { $0["index"] as? Int }, [0, 1, 2, 3])
    XCTAssertEqual(vfs[2]["pci_address"] as? String, "0000:3b:02.2")
    XCTAssertEqual(vfs[2]["interface"] as? String, "ens1f0v2")
    XCTAssertEqual(vfs[2]["driver"] as? String, "iavf")
    XCTAssertTrue(Set(["index", "pci_address", "interface", "driver"]).isSubset(of: vfs[0].keys))
  }

  func testUnknownValuesAreNullNotMissing() throws {
    let root = try temporaryDirectory(self).path
    try FixtureHosts.connectX5SRIOVDisabled(at: root)
    let run = try sriovctl(["list", "-o", "json", "--root", root])
    XCTAssertEqual(run.status, 0, run.stderr)
    let pf = try XCTUnwrap((try run.json()["pfs"] as? [[String: Any]])?.first)
    XCTAssertEqual(pf["total_vfs"] as? Int, 0)
    XCTAssertTrue(pf["drivers_autoprobe"] is NSNull)
    XCTAssertEqual((pf["vfs"] as? [Any])?.count, 0)
    XCTAssertTrue(run.stdout.contains("\"drivers_autoprobe\": null"))
  }

  func testGlobalOptionsWorkBeforeAndAfterTheSubcommandAndFromTheEnvironment() throws {
    let root = try x710()
    let after = try sriovctl(["list", "--root", root, "-o", "json"])
    let before = try sriovctl(["--root", root, "-o", "json", "list"])
    let mixed = try sriovctl(["--root", root, "list", "--output", "json"])
    let environment = try sriovctl(["list", "-o", "json"], environment: ["SRIOVCTL_ROOT": root])
    XCTAssertEqual(after.status, 0, after.stderr)
    XCTAssertEqual(before.stdout, after.stdout)
    XCTAssertEqual(mixed.stdout, after.stdout)
    XCTAssertEqual(environment.stdout, after.stdout)
    // --root wins over the environment.
    let empty = try temporaryDirectory(self).path
    let overridden = try sriovctl(["list", "--root", root], environment: ["SRIOVCTL_ROOT": empty])
    XCTAssertEqual(overridden.status, 0, overridden.stderr)
  }

  func testTextIsATableWithVFsBelowTheirPF() throws {
    let root = try x710()
    let run = try sriovctl(["--root", root, "list", "ens1f0"])
    XCTAssertEqual(run.status, 0, run.stderr)
    let lines = run.stdout.split(separator: "\n").map(String.init)
    XCTAssertEqual(lines.count, 6, run.stdout)
    XCTAssertTrue(lines[0].hasPrefix("DEVICE "), lines[0])
    let pf = lines[1].split(separator: " ", omittingEmptySubsequences: true).map(String.init)
    XCTAssertEqual(Array(pf.prefix(6)), ["0000:3b:00.0", "ens1f0", "i40e", "8086:1572", "0", "4/64"])
    XCTAssertTrue(lines[1].hasSuffix("Intel Corporation Ethernet Controller X710 for 10GbE SFP+"))
    let vf = lines[2].split(separator: " ", omittingEmptySubsequences: true).map(String.init)
    XCTAssertTrue(lines[2].hasPrefix("  0000:3b:02.0"))
    XCTAssertEqual(vf, ["0000:3b:02.0", "ens1f0v0", "iavf", "8086:154c", "vf0"])
  }

  func testNoPFsIsNotAnError() throws {
    let root = try temporaryDirectory(self).path
    try FixtureHosts.noSRIOV(at: root)
    let text = try sriovctl(["list", "--root", root])
    XCTAssertEqual(text.status, 0)
    XCTAssertEqual(text.stdout, "No SR-IOV physical functions found.\n")
    let json = try sriovctl(["list", "--root", root, "-o", "json"])
    XCTAssertEqual(json.stdout, "{\n  \"pfs\": [],\n  \"problems\": [],\n  \"unknown\": []\n}\n")
  }

  func testBadInputFailsWithOneLineAndNoOutput() throws {
    let root = try x710()
    let missing = try sriovctl(["list", "--root", root + "/nope"])
    assertCleanFailure(missing, mentioning: ["cannot use '\(root)/nope' as the host root: no such directory"])
    XCTAssertEqual(missing.stderr.split(separator: "\n").count, 1)

    let unknown = try sriovctl(["list", "--root", root, "-o", "json", "ens7"])
    assertCleanFailure(
      unknown,
      mentioning: [
        "no network interface 'ens7' exists; SR-IOV physical functions here: 0000:3b:00.0 (ens1f0), 0000:3b:00.1 (ens1f1)"
      ])
    XCTAssertEqual(unknown.stderr.split(separator: "\n").count, 1)

    let malformed = try sriovctl(["list", "--root", root, "ens1f0;reboot"])
    assertCleanFailure(malformed, status: 64, mentioning: ["'ens1f0;reboot' is neither a PCI address"])

    let badFormat = try sriovctl(["list", "--root", root, "-o", "yaml"])
    assertCleanFailure(badFormat, status: 64, mentioning: ["yaml"])

    let vf = try sriovctl(["list", "--root", root, "0000:3b:02.1"])
    assertCleanFailure(vf, mentioning: ["0000:3b:02.1 is a virtual function of 0000:3b:00.0"])
  }

  /// A function without its `vendor` attribute is said on stderr; the rest of the host is listed.
  func testABrokenFunctionIsAWarningNotACrash() throws {
    let root = try x710()
    try FileManager.default.removeItem(atPath: root + "/sys/bus/pci/devices/0000:3b:00.0/vendor")
    let run = try sriovctl(["list", "--root", root])
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertEqual(run.stderr, "sriovctl: 0000:3b:00.0: it has no vendor attribute\n")
    XCTAssertTrue(run.stdout.contains("\n0000:3b:00.1  ens1f1 "), run.stdout)
    XCTAssertFalse(run.stdout.contains("0000:3b:00.0"), run.stdout)
  }

  /// Impossible entries and values: no crash, the other PF listed, one stderr line per problem,
  /// exit 1 only when the malformed PF was asked for by name, JSON stays one document.
  func testMalformedPFsAreSaidOnStderrAndTheOthersListed() throws {
    let root = try x710()
    let devices = root + "/sys/bus/pci/devices/"
    let port1 = try FileManager.default.destinationOfSymbolicLink(atPath: devices + "0000:3b:00.1")
    try FileManager.default.createSymbolicLink(atPath: devices + "0000:3b:00.9", withDestinationPath: port1)
    try FileManager.default.createSymbolicLink(atPath: devices + "0000:3b:ff.0", withDestinationPath: port1)
    try FileManager.default.removeItem(atPath: devices + "0000:3b:00.1/sriov_totalvfs")
    try "-5\n".write(toFile: devices + "0000:3b:00.1/sriov_totalvfs", atomically: false, encoding: .utf8)
    let warnings = [
      "sriovctl: 0000:3b:00.1: sriov_totalvfs holds '-5', expected a number of VFs from 0 to the device's TotalVFs, 64",
      "sriovctl: 0000:3b:00.9: not a PCI function: the kernel names each entry DDDD:BB:DD.F (device 00-1f, function 0-7)",
      "sriovctl: 0000:3b:ff.0: not a PCI function: the kernel names each entry DDDD:BB:DD.F (device 00-1f, function 0-7)",
    ]

    let text = try sriovctl(["list", "--root", root])
    XCTAssertEqual(text.status, 0, text.stderr)
    XCTAssertEqual(text.stderr, warnings.map { $0 + "\n" }.joined())
    XCTAssertTrue(text.stdout.hasPrefix("DEVICE "), text.stdout)
    XCTAssertTrue(text.stdout.contains("\n0000:3b:00.0    ens1f0 "), text.stdout)
    XCTAssertFalse(text.stdout.contains("3b:00.1"), text.stdout)

    let json = try sriovctl(["list", "--root", root, "-o", "json"])
    XCTAssertEqual(json.status, 0, json.stderr)
    XCTAssertEqual(json.stderr, text.stderr)
    let document = try json.json()
    XCTAssertEqual((document["pfs"] as? [[String: Any]])?.map { $0["pci_address"] as? String }, ["0000:3b:00.0"])
    let problems = try XCTUnwrap(document["problems"] as? [[String: Any]])
    XCTAssertEqual(problems.map { $0["entry"] as? String }, ["0000:3b:00.1", "0000:3b:00.9", "0000:3b:ff.0"])
    XCTAssertEqual(problems[0]["pci_address"] as? String, "0000:3b:00.1")
    XCTAssertEqual(problems[0]["interfaces"] as? [String], ["ens1f1"])
    XCTAssertTrue(problems[1]["pci_address"] is NSNull)

    // Asked for by name: exit 1 with its problem; the others asked for are still listed.
    for name in ["0000:3b:00.1", "ens1f1", "3b:00.1"] {
      let named = try sriovctl(["list", "--root", root, name, "ens1f0"])
      XCTAssertEqual(named.status, 1, named.stderr)
      XCTAssertEqual(named.stderr, warnings[0] + "\n")
      XCTAssertTrue(named.stdout.contains("0000:3b:00.0    ens1f0 "), named.stdout)
      let namedJSON = try sriovctl(["list", "--root", root, name, "-o", "json"])
      XCTAssertEqual(namedJSON.status, 1)
      XCTAssertEqual((try namedJSON.json()["problems"] as? [[String: Any]])?.count, 1)
    }
  }

  /// A link in the tree to the live /sys resolves inside the root (openat2 RESOLVE_IN_ROOT in
  /// HostRoot), and libpci opens no host path at all: nothing of this machine's PCI bus appears.
  func testALinkToTheLiveSysfsIsNotFollowed() throws {
    let root = try x710()
    // A live network function when this machine has one (its driver name must not appear).
    let live = "/sys/bus/pci/devices"
    let liveNames = try FileManager.default.contentsOfDirectory(atPath: live).sorted()
    let name =
      liveNames.first { (try? String(contentsOfFile: "\(live)/\($0)/class", encoding: .utf8))?.hasPrefix("0x02") == true }
      ?? liveNames.first ?? "0000:00:03.0"
    let liveDriver = (try? FileManager.default.destinationOfSymbolicLink(atPath: "\(live)/\(name)/driver"))
      .map { URL(fileURLWithPath: $0).lastPathComponent }
    // Where the live entry leads (/sys/devices/pci0000:00/...): absent inside the root.
    let target = URL(fileURLWithPath: "\(live)/\(name)").resolvingSymlinksInPath().path
    try FileManager.default.createSymbolicLink(
      atPath: root + "/sys/bus/pci/devices/" + name, withDestinationPath: target)
    // And one to the live entry itself: inside the root that link names itself, a loop.
    let loop = name == "0000:00:00.0" ? "0000:00:00.1" : "0000:00:00.0"
    try FileManager.default.createSymbolicLink(
      atPath: root + "/sys/bus/pci/devices/" + loop, withDestinationPath: "\(live)/\(loop)")

    let listed = try sriovctl(["list", "--root", root, "-o", "json"])
    XCTAssertEqual(listed.status, 0, listed.stderr)
    let warnings = listed.stderr.split(separator: "\n").map(String.init)
    XCTAssertEqual(warnings.count, 2, listed.stderr)
    XCTAssertEqual(
      warnings.first { $0.hasPrefix("sriovctl: \(name): ") },
      "sriovctl: \(name): no such function directory (a dangling link, or one that leaves the root)")
    XCTAssertTrue(warnings.contains { $0.hasPrefix("sriovctl: \(loop): ") }, listed.stderr)
    XCTAssertEqual(
      (try listed.json()["pfs"] as? [[String: Any]])?.map { $0["pci_address"] as? String },
      ["0000:3b:00.0", "0000:3b:00.1"])

    let named = try sriovctl(["list", "--root", root, name])
    XCTAssertEqual(named.status, 1)
    XCTAssertTrue(named.stderr.contains("\(name): no such function directory"), named.stderr)
    if let liveDriver {
      XCTAssertFalse(named.stderr.contains(liveDriver), "the live host was read: \(named.stderr)")
      XCTAssertFalse(listed.stdout.contains(liveDriver), "the live host was read")
    }
  }

  func testVersion() throws {
    let version = try sriovctl(["--version"])
    XCTAssertEqual(version.status, 0)
    XCTAssertTrue(version.stdout.range(of: #"^\d+\.\d+\.\d+\n$"#, options: .regularExpression) != nil, version.stdout)
  }
}

/// The committed man page and completion scripts are what the binary generates.
final class GeneratedFilesTests: XCTestCase {
  func testCompletionScriptsAreCurrent() throws {
    for (shell, file) in [("bash", "sriovctl.bash"), ("zsh", "sriovctl.zsh"), ("fish", "sriovctl.fish")] {
      let run = try sriovctl(["--generate-completion-script", shell])
      XCTAssertEqual(run.status, 0, run.stderr)
      let committed = try String(
        contentsOf: repositoryRoot.appendingPathComponent("completions/\(file)"), encoding: .utf8)
      XCTAssertEqual(run.stdout, committed, "completions/\(file) is stale: run 'make generate'")
    }
  }

  /// Every subcommand the parser knows (from its own --experimental-dump-help) has its entry in the
  /// committed page, with the same abstract. (`make check-generated`, run by `make test`, compares
  /// the whole page with a freshly generated one.)
  func testManPageDescribesEverySubcommand() throws {
    let page = try String(contentsOf: repositoryRoot.appendingPathComponent("man/sriovctl.8"), encoding: .utf8)
    let dump = try sriovctl(["--experimental-dump-help"])
    XCTAssertEqual(dump.status, 0, dump.stderr)
    let root = try XCTUnwrap(try dump.json()["command"] as? [String: Any])
    let subcommands = try XCTUnwrap(root["subcommands"] as? [[String: Any]])
    let names = subcommands.compactMap { $0["commandName"] as? String }.filter { $0 != "help" }
    XCTAssertEqual(
      names, ["check", "list", "create-vfs", "apply", "verify", "persist", "label", "device-plugin-config"])
    let lines = page.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    for command in subcommands where command["commandName"] as? String != "help" {
      let name = try XCTUnwrap(command["commandName"] as? String)
      let index = try XCTUnwrap(lines.firstIndex(of: ".It Em \(name)"), "man page lacks \(name): run 'make generate'")
      XCTAssertEqual(lines[index + 1], command["abstract"] as? String, "\(name)'s abstract: run 'make generate'")
    }
  }

  /// Debian's mandoc finds nothing to warn about (man/tidy.awk makes the plugin's mdoc clean).
  func testManPagePassesMandocLint() throws {
    let mandoc = URL(fileURLWithPath: "/usr/bin/mandoc")
    guard FileManager.default.isExecutableFile(atPath: mandoc.path) else {
      return XCTFail("mandoc is not installed (apt-get install mandoc; make test-deps does)")
    }
    let lint = try runProgram(mandoc, ["-T", "lint", "-W", "warning", repositoryRoot.appendingPathComponent("man/sriovctl.8").path])
    XCTAssertEqual(lint.status, 0, lint.stdout + lint.stderr)
    XCTAssertEqual(lint.stdout + lint.stderr, "")
  }
}
