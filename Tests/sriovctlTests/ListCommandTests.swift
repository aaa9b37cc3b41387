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
    XCTAssertEqual(json.stdout, "{\n  \"pfs\": []\n}\n")
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

  func testABrokenTreeIsAClearErrorNotACrash() throws {
    let root = try x710()
    try FileManager.default.removeItem(atPath: root + "/sys/bus/pci/devices/0000:3b:00.0/vendor")
    let run = try sriovctl(["list", "--root", root])
    assertCleanFailure(run, mentioning: ["cannot enumerate PCI devices: Cannot open", "0000:3b:00.0/vendor"])
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

  func testManPageDescribesEverySubcommand() throws {
    let page = try String(
      contentsOf: repositoryRoot.appendingPathComponent("man/sriovctl.1"), encoding: .utf8)
    let help = try sriovctl(["--help"])
    for command in ["check", "list", "create-vfs", "persist", "label"] {
      XCTAssertTrue(page.contains(".It Em \(command)"), "man page lacks \(command): run 'make generate'")
      XCTAssertTrue(help.stdout.contains(command))
    }
  }
}
