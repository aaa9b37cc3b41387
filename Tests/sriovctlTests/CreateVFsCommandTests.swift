import Foundation
import SRIOVFixtures
import XCTest

/// `sriovctl create-vfs` as Ansible's check mode and a person would run it against a fixture
/// host; the real kernel is exercised by CreateVFsVMTests.
final class CreateVFsCommandTests: XCTestCase {
  private func x710() throws -> String {
    let directory = try temporaryDirectory(self).path + "/host"
    try FixtureHosts.x710(at: directory)
    return directory
  }

  func testDryRunJSONHasTheDocumentedShape() throws {
    let root = try x710()
    let run = try sriovctl(["create-vfs", "ens1f0", "--count", "2", "--dry-run", "--root", root, "-o", "json"])
    XCTAssertEqual(run.status, 0, run.stderr)
    let document = try run.json()
    for key in ["pf", "changed", "previous", "num_vfs", "actions", "vfs"] {
      XCTAssertNotNil(document[key], key)
    }
    XCTAssertEqual(document["pf"] as? String, "0000:3b:00.0")
    XCTAssertEqual(document["changed"] as? Bool, true)
    XCTAssertEqual(document["previous"] as? Int, 4)
    XCTAssertEqual(document["num_vfs"] as? Int, 2)
    XCTAssertEqual((document["actions"] as? [String])?.count, 2)

    let same = try sriovctl(["create-vfs", "ens1f0", "--count", "4", "--dry-run", "--root", root, "-o", "json"])
    XCTAssertEqual(try same.json()["changed"] as? Bool, false)
    let vfs = try XCTUnwrap(try same.json()["vfs"] as? [[String: Any]])
    XCTAssertEqual(vfs.count, 4)
    for key in ["index", "pci_address", "interface", "driver", "mac", "vlan", "trust", "spoofchk"] {
      XCTAssertTrue(vfs[0].keys.contains(key), key)
    }
  }

  func testDryRunTextSaysWhatWouldChange() throws {
    let run = try sriovctl(["create-vfs", "0000:3b:00.1", "--count", "2", "--dry-run", "--root", try x710()])
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertEqual(
      run.stdout, "0000:3b:00.1 (ens1f1): would change 0 VFs to 2:\n  create 2 VFs: write 2 to sriov_numvfs\n")
  }

  /// A PF with malformed sysfs data is refused with its problem; a config space cut to its
  /// header never makes TotalVFs 65535, so the count is checked against the kernel's total.
  func testMalformedPFsAreRefusedAndCountsUseCheckedTotals() throws {
    let root = try x710()
    let device = root + "/sys/bus/pci/devices/0000:3b:00.0/"
    let config = try Data(contentsOf: URL(fileURLWithPath: device + "config"))
    try config.prefix(64).write(to: URL(fileURLWithPath: device + "config"))
    let huge = try sriovctl(["create-vfs", "ens1f0", "--count", "65535", "--dry-run", "--root", root])
    assertCleanFailure(huge, mentioning: ["allows at most 64 VFs"])

    try config.prefix(0x150).write(to: URL(fileURLWithPath: device + "config"))
    let cut = try sriovctl(["create-vfs", "ens1f0", "--count", "65535", "--dry-run", "--root", root])
    assertCleanFailure(
      cut,
      mentioning: [
        "'ens1f0' (0000:3b:00.0) cannot be used: config ends at byte 0x150, inside the SR-IOV capability at 0x120"
      ])
    XCTAssertEqual(cut.stderr.split(separator: "\n").count, 1, cut.stderr)

    // Cut where TotalVFs would be (0x12e) and without the kernel's total: libpci reads the
    // missing bytes as 0xffff.
    try config.prefix(0x12e).write(to: URL(fileURLWithPath: device + "config"))
    try FileManager.default.moveItem(atPath: device + "sriov_totalvfs", toPath: root + "/sriov_totalvfs")
    let noTotal = try sriovctl(["create-vfs", "ens1f0", "--count", "65535", "--dry-run", "--root", root])
    assertCleanFailure(noTotal, mentioning: ["config ends at byte 0x12e, inside the SR-IOV capability at 0x120"])
    try FileManager.default.moveItem(atPath: root + "/sriov_totalvfs", toPath: device + "sriov_totalvfs")

    try config.write(to: URL(fileURLWithPath: device + "config"))
    try FileManager.default.removeItem(atPath: device + "sriov_numvfs")
    try "100\n".write(toFile: device + "sriov_numvfs", atomically: false, encoding: .utf8)
    for arguments in [
      ["create-vfs", "0000:3b:00.0", "--count", "2", "--dry-run"],
      ["persist", "ens1f0", "--count", "2", "--method", "udev"],
    ] {
      let run = try sriovctl(arguments + ["--root", root])
      assertCleanFailure(
        run, mentioning: ["cannot be used: sriov_numvfs holds '100', expected a number of VFs from 0 to sriov_totalvfs, 64"])
    }
  }

  func testBadInputFailsAndLeavesTheHostAsItWas() throws {
    let root = try x710()
    let numvfs = root + "/sys/bus/pci/devices/0000:3b:00.0/sriov_numvfs"
    let before = try String(contentsOfFile: numvfs, encoding: .utf8)
    let cases: [([String], Int32, String)] = [
      (["create-vfs", "ens1f0"], 64, "Missing expected argument '--count <N>'"),
      (["create-vfs", "ens1f0", "--count", "two"], 64, "'two'"),
      (["create-vfs", "ens1f0", "--count", "2", "--vlan", "1=5000"], 64, "--vlan '1=5000': expected a VLAN ID from 0 (none) to 4094"),
      (["create-vfs", "ens1f0", "--count", "2", "--mac", "5=02:00:00:00:00:01"], 64, "--mac names VF 5"),
      (["create-vfs", "ens1f0", "--count", "2", "--trust", "yes"], 64, "--trust 'yes': expected on or off"),
      (["create-vfs", "ens1f0", "--count", "2", "--driver", "vfio pci"], 64, "--driver 'vfio pci'"),
      (["create-vfs", "ens1f0", "--count", "65", "--dry-run"], 1, "allows at most 64 VFs"),
      (["create-vfs", "ens1f0", "--count", "2"], 1, "only --dry-run is possible"),
      (["create-vfs", "ens9", "--count", "2", "--dry-run"], 1, "no network interface 'ens9' exists"),
    ]
    for (arguments, status, message) in cases {
      let run = try sriovctl(arguments + ["--root", root])
      assertCleanFailure(run, status: status, mentioning: [message])
    }
    XCTAssertEqual(try String(contentsOfFile: numvfs, encoding: .utf8), before)
    XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/run/sriovctl.lock"))
  }

  func testMACAutoWithoutAPFMACIsAnError() throws {
    for content in [nil, "zz:not:a:mac\n", "00:00:00:00:00:00\n", "ff:ff:ff:ff:ff:ff\n"] {
      let root = try x710()
      let address = root + "/sys/bus/pci/devices/0000:3b:00.0/net/ens1f0/address"
      XCTAssertTrue(FileManager.default.fileExists(atPath: address))
      try FileManager.default.removeItem(atPath: address)
      if let content { try content.write(toFile: address, atomically: false, encoding: .utf8) }
      for count in ["4", "2"] {  // the count kept, and changed
        let run = try sriovctl(["create-vfs", "ens1f0", "--count", count, "--mac", "auto", "--dry-run", "--root", root])
        assertCleanFailure(
          run, mentioning: ["0000:3b:00.0: --mac auto derives VF addresses from the PF's MAC", "/sys/class/net/ens1f0/address"])
        XCTAssertEqual(run.stderr.filter { $0 == "\n" }.count, 1, run.stderr)
      }
    }
    // With the PF's MAC readable, the plan sets derived addresses.
    let root = try x710()
    let run = try sriovctl(["create-vfs", "ens1f0", "--count", "2", "--mac", "auto", "--dry-run", "--root", root])
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertTrue(run.stdout.contains("set VF 1 mac "), run.stdout)
  }
}
