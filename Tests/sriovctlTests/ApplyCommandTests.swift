import Foundation
import SRIOVFixtures
import XCTest

/// `sriovctl apply` and `verify` as a person, cron or Ansible runs them against a fixture host;
/// the real kernel is ApplyVMTests' job.
final class ApplyCommandTests: XCTestCase {
  private func x710() throws -> (root: String, file: String) {
    let directory = try temporaryDirectory(self).path
    try FixtureHosts.x710(at: directory + "/host")
    return (directory + "/host", directory + "/node.yaml")
  }

  private let node = """
    version: 1
    policies:
      - name: dpdk
        nicSelector: {pfNames: ["ens1f0#0-1"]}
        numVfs: 4
        deviceType: vfio-pci
        priority: 10
      - name: second-port
        nicSelector: {rootDevices: ["0000:3b:00.1"]}
        numVfs: 2
      - name: elsewhere
        nicSelector: {pfNames: [ens9f0]}
        numVfs: 2

    """

  func testDryRunPrintsThePlanForEveryPFAsDocumentedJSON() throws {
    let (root, file) = try x710()
    try node.write(toFile: file, atomically: true, encoding: .utf8)
    let before = try String(contentsOfFile: root + "/sys/bus/pci/devices/0000:3b:00.1/sriov_numvfs", encoding: .utf8)
    let run = try sriovctl(["apply", "-f", file, "--dry-run", "--root", root, "-o", "json"])
    XCTAssertEqual(run.status, 0, run.stderr)
    let document = try run.json()
    XCTAssertEqual(document["changed"] as? Bool, true)
    XCTAssertEqual(document["dry_run"] as? Bool, true)
    XCTAssertEqual(document["unmatched"] as? [String], ["elsewhere"])
    XCTAssertEqual(document["errors"] as? [String], [])
    let pfs = try XCTUnwrap(document["pfs"] as? [[String: Any]])
    XCTAssertEqual(pfs.map { $0["pf"] as? String }, ["0000:3b:00.0", "0000:3b:00.1"])
    XCTAssertEqual(pfs.map { $0["policies"] as? [String] }, [["dpdk"], ["second-port"]])
    for key in ["interface", "changed", "previous", "num_vfs", "actions", "vfs", "error"] {
      XCTAssertTrue(pfs[0].keys.contains(key), key)
    }
    XCTAssertEqual(pfs[0]["actions"] as? [String], ["load the kernel module vfio-pci", "bind VF 0 (0000:3b:02.0) to vfio-pci (was iavf)", "bind VF 1 (0000:3b:02.1) to vfio-pci (was iavf)"])
    XCTAssertEqual(pfs[1]["actions"] as? [String], ["create 2 VFs: write 2 to sriov_numvfs"])
    XCTAssertEqual(try String(contentsOfFile: root + "/sys/bus/pci/devices/0000:3b:00.1/sriov_numvfs", encoding: .utf8), before)

    let text = try sriovctl(["apply", "-f", file, "--dry-run", "--root", root])
    XCTAssertTrue(text.stdout.contains("0000:3b:00.1 (ens1f1): would change 0 VFs to 2: [second-port]"), text.stdout)
    XCTAssertTrue(text.stdout.contains("unmatched: elsewhere selects no PF on this host"), text.stdout)
  }

  func testApplyChangesOnlyTheLiveSystem() throws {
    let (root, file) = try x710()
    try node.write(toFile: file, atomically: true, encoding: .utf8)
    assertCleanFailure(try sriovctl(["apply", "-f", file, "--root", root]), mentioning: ["only --dry-run is possible"])
  }

  func testABadFileIsOneLineWithItsPositionAndNothingChanges() throws {
    let (root, file) = try x710()
    try (node + "    colour: red\n").write(toFile: file, atomically: true, encoding: .utf8)
    for verb in [["apply", "--dry-run"], ["verify"]] {
      let run = try sriovctl(verb + ["-f", file, "--root", root])
      assertCleanFailure(run, mentioning: ["\(file):14:5: unknown key 'colour' in a policy"])
    }
    assertCleanFailure(try sriovctl(["apply", "--dry-run", "--root", root]), mentioning: ["/etc/sriovctl/sriovctl.yaml: no such file"])
    let usage = try sriovctl(["apply", "--dry-run", "--root", root, "-f", file, "-f", file])
    XCTAssertEqual(usage.status, 64, usage.stderr)
  }

  func testVerifyExitsTwoOnDriftNamingEachDifferenceAndZeroInSync() throws {
    let (root, file) = try x710()
    try node.write(toFile: file, atomically: true, encoding: .utf8)
    let drifted = try sriovctl(["verify", "-f", file, "--root", root, "-o", "json"])
    XCTAssertEqual(drifted.status, 2, drifted.stderr)
    let document = try drifted.json()
    XCTAssertEqual(document["in_sync"] as? Bool, false)
    let differences = try XCTUnwrap(document["differences"] as? [[String: Any]])
    let rows = differences.map { "\($0["pf"]!) \($0["vf"] ?? "nil") \($0["field"]!) \($0["want"]!) \($0["have"]!)" }
    XCTAssertEqual(
      rows,
      [
        "0000:3b:00.0 0 deviceType vfio-pci iavf", "0000:3b:00.0 1 deviceType vfio-pci iavf",
        "0000:3b:00.1 <null> numVfs 2 0",
      ])
    let inSync = """
      version: 1
      policies:
        - name: as-it-is
          nicSelector: {pfNames: [ens1f0]}
          numVfs: 4

      """
    try inSync.write(toFile: file, atomically: true, encoding: .utf8)
    let run = try sriovctl(["verify", "-f", file, "--root", root])
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertEqual(run.stdout, "in sync\n")
  }
}
