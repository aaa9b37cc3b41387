import Foundation
import SRIOVFixtures
import XCTest

/// `sriovctl check`, run as Ansible or cloud-init would gate on it.
final class CheckCommandTests: XCTestCase {
  private func root(_ host: FixtureHost) throws -> String {
    let directory = try temporaryDirectory(self).path + "/host"
    try host.write(to: directory)
    return directory
  }

  func testAReadyHostExitsZeroAndSaysSo() throws {
    let root = try root(try FixtureHosts.x710())
    let run = try sriovctl(["check", "--root", root])
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertEqual(run.stderr, "")
    let lines = run.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    XCTAssertTrue(lines[0].hasPrefix("Checking for IOMMU support in firmware (Intel VT-d) "), lines[0])
    XCTAssertTrue(lines[0].hasSuffix(" : PASS (the firmware publishes the ACPI DMAR table)"), lines[0])
    XCTAssertTrue(run.stdout.contains("Checking SR-IOV on 0000:3b:00.0 (ens1f0)"))
    XCTAssertTrue(run.stdout.hasSuffix("\nReady for SR-IOV.\n"), run.stdout)
    XCTAssertFalse(run.stdout.contains("\u{1B}["), "no colour when stdout is not a terminal")
  }

  /// A PF with impossible sysfs values fails nic.sriov with the reason; the other PF passes.
  func testAMalformedPFFailsItsOwnCheckOnly() throws {
    let root = try root(try FixtureHosts.x710())
    let totalvfs = root + "/sys/bus/pci/devices/0000:3b:00.1/sriov_totalvfs"
    try FileManager.default.removeItem(atPath: totalvfs)
    try "garbage\n".write(toFile: totalvfs, atomically: false, encoding: .utf8)
    let run = try sriovctl(["check", "--root", root])
    XCTAssertEqual(run.status, 1, run.stderr)
    XCTAssertEqual(run.stderr, "", "a malformed PF is a finding, not an error")
    let lines = run.stdout.split(separator: "\n").map(String.init)
    let port0 = try XCTUnwrap(lines.first { $0.hasPrefix("Checking SR-IOV on 0000:3b:00.0 (ens1f0)") })
    XCTAssertTrue(port0.hasSuffix(": PASS (4 of 64 VFs enabled, driver i40e)"), port0)
    let port1 = try XCTUnwrap(lines.first { $0.hasPrefix("Checking SR-IOV on 0000:3b:00.1 (ens1f1)") })
    XCTAssertTrue(
      port1.hasSuffix(
        ": FAIL (its sysfs data is malformed: sriov_totalvfs holds 'garbage', expected a number of VFs "
          + "from 0 to the device's TotalVFs, 64)"), port1)
    XCTAssertTrue(run.stdout.hasSuffix("\nNot ready for SR-IOV: 1 check failed.\n"), run.stdout)

    let json = try sriovctl(["check", "--root", root, "--pf", "ens1f1", "-o", "json"])
    XCTAssertEqual(json.status, 1, json.stderr)
    let checks = try XCTUnwrap(try json.json()["checks"] as? [[String: Any]])
    let nic = checks.filter { $0["id"] as? String == "nic.sriov" }
    XCTAssertEqual(nic.map { $0["status"] as? String }, ["fail"])
    XCTAssertEqual(nic.first?["pf"] as? String, "0000:3b:00.1")

    let other = try sriovctl(["check", "--root", root, "--pf", "ens1f0"])
    XCTAssertEqual(other.status, 0, other.stdout)
    XCTAssertFalse(other.stdout.contains("3b:00.1"), other.stdout)
  }

  /// Where every check was skipped nothing is known: not "Ready for SR-IOV.", and exit 1.
  func testNothingCheckedIsNotReady() throws {
    let root = try temporaryDirectory(self).path
    let run = try sriovctl(["check", "--root", root])
    XCTAssertEqual(run.status, 1, run.stdout)
    XCTAssertEqual(run.stderr, "")
    XCTAssertFalse(run.stdout.contains("Ready for SR-IOV"), run.stdout)
    XCTAssertTrue(run.stdout.hasSuffix("\nNothing could be checked: every check was skipped.\n"), run.stdout)
    let json = try sriovctl(["check", "--root", root, "-o", "json"])
    XCTAssertEqual(json.status, 1)
    XCTAssertEqual(try json.json()["ok"] as? Bool, false)
  }

  func testAFailingHostExitsOneWithRemediesAndJSON() throws {
    let root = try root(try FixtureHosts.connectX5SRIOVDisabled())
    let text = try sriovctl(["check", "--root", root])
    XCTAssertEqual(text.status, 1)
    XCTAssertEqual(text.stderr, "", "a failed check is a finding, not an error")
    XCTAssertTrue(text.stdout.contains(" : FAIL (the SR-IOV capability is present but offers 0 VFs"), text.stdout)
    XCTAssertTrue(text.stdout.contains("    remedy: enable SR-IOV in the NIC's firmware: 'mstconfig"), text.stdout)
    XCTAssertTrue(text.stdout.hasSuffix("\nNot ready for SR-IOV: 1 check failed.\n"), text.stdout)

    let json = try sriovctl(["-o", "json", "check", "--root", root])
    XCTAssertEqual(json.status, 1)
    let document = try json.json()
    XCTAssertEqual(document["ok"] as? Bool, false)
    let checks = try XCTUnwrap(document["checks"] as? [[String: Any]])
    XCTAssertEqual(
      checks.map { $0["id"] as? String },
      ["firmware.iommu", "kernel.iommu", "kernel.cmdline", "kernel.log", "nic.sriov", "modules.vfio",
       "memory.hugepages", "devices.vfio", "devices.vhost-net", "host.conflicts"])
    XCTAssertEqual(
      checks.map { $0["status"] as? String }, ["pass", "pass", "pass", "pass", "fail", "pass", "pass", "pass", "pass", "pass"])
  }

  func testWarningsDoNotFail() throws {
    var host = try FixtureHosts.x710()
    host.kernelCommandLine = "root=/dev/sda1 intel_iommu=on"
    let run = try sriovctl(["check", "--root", try root(host), "-o", "json"])
    XCTAssertEqual(run.status, 0, run.stdout)
    XCTAssertEqual(try run.json()["ok"] as? Bool, true)
    XCTAssertTrue(run.stdout.contains("\"status\": \"warn\""))
  }

  func testPFSelectionAndBadPFs() throws {
    let root = try root(try FixtureHosts.x710())
    let one = try sriovctl(["check", "--root", root, "--pf", "ens1f1", "-o", "json"])
    XCTAssertEqual(one.status, 0, one.stderr)
    let nics = try XCTUnwrap(try one.json()["checks"] as? [[String: Any]]).filter { $0["id"] as? String == "nic.sriov" }
    XCTAssertEqual(nics.map { $0["pf"] as? String }, ["0000:3b:00.1"])

    let unknown = try sriovctl(["check", "--root", root, "--pf", "ens9"])
    assertCleanFailure(unknown, mentioning: ["no network interface 'ens9' exists"])
    let malformed = try sriovctl(["check", "--root", root, "--pf", "ens\n9"])
    assertCleanFailure(malformed, status: 64, mentioning: ["is neither a PCI address"])
  }

  // MARK: Not root: 64 bytes of config space

  /// As a user other than root reads it, config space is 64 bytes: the ConnectX-5 whose firmware
  /// has SR-IOV off cannot be told from a NIC without SR-IOV, and check and list say so instead of
  /// claiming either; as root (the whole space) check tells the firmware is at fault.
  func testANICThatCannotBeToldIsSaidSoNotCalledEither() throws {
    var host = try FixtureHosts.connectX5SRIOVDisabled()
    let asRoot = try root(host)
    host.readableConfigBytes = 64
    let asUser = try root(host)
    let reason =
      "only 64 bytes of its PCI configuration space are readable, and the SR-IOV capability lies beyond them "
      + "(the kernel shows the whole space to root only)"

    let told = try sriovctl(["check", "--root", asRoot, "-o", "json"])
    XCTAssertEqual(told.status, 1)
    let toldNIC = try XCTUnwrap((try told.json()["checks"] as? [[String: Any]])?.first { $0["id"] as? String == "nic.sriov" })
    XCTAssertEqual(toldNIC["status"] as? String, "fail")
    XCTAssertTrue((toldNIC["summary"] as? String ?? "").hasPrefix("the SR-IOV capability is present but offers 0 VFs"))

    let check = try sriovctl(["check", "--root", asUser, "-o", "json"])
    XCTAssertEqual(check.status, 0, "nothing failed: \(check.stdout)")
    let nic = try XCTUnwrap((try check.json()["checks"] as? [[String: Any]])?.filter { $0["id"] as? String == "nic.sriov" })
    XCTAssertEqual(nic.count, 1, "\(nic)")
    XCTAssertEqual(nic.first?["status"] as? String, "skip")
    XCTAssertEqual(nic.first?["pf"] as? String, "0000:af:00.0")
    XCTAssertEqual(nic.first?["summary"] as? String, "cannot tell whether it has SR-IOV: " + reason)
    XCTAssertEqual(
      nic.first?["remedy"] as? String,
      "run 'sriovctl check' as root: only then can a NIC whose firmware has SR-IOV off be told apart from a NIC without SR-IOV")
    let text = try sriovctl(["check", "--root", asUser])
    XCTAssertTrue(text.stdout.hasSuffix("\nReady for SR-IOV as far as could be checked (1 not checked: see the remedy).\n"), text.stdout)

    let list = try sriovctl(["list", "--root", asUser, "-o", "json"])
    XCTAssertEqual(list.status, 0, list.stderr)
    XCTAssertEqual(list.stderr, "sriovctl: 0000:af:00.0 (ens2f0np0): cannot tell whether it has SR-IOV: \(reason); run as root\n")
    let unknown = try XCTUnwrap(try list.json()["unknown"] as? [[String: Any]])
    XCTAssertEqual(unknown.count, 1)
    XCTAssertEqual(unknown.first?["pci_address"] as? String, "0000:af:00.0")
    XCTAssertEqual(unknown.first?["reason"] as? String, reason)
    let rootList = try sriovctl(["list", "--root", asRoot, "-o", "json"])
    XCTAssertEqual((try rootList.json()["unknown"] as? [Any])?.count, 0)

    let named = try sriovctl(["create-vfs", "ens2f0np0", "--count", "1", "--dry-run", "--root", asUser])
    assertCleanFailure(named, mentioning: ["cannot tell whether 'ens2f0np0' (0000:af:00.0) has SR-IOV: \(reason); run sriovctl as root"])
  }

  /// A PF the kernel set SR-IOV up for is one whatever the reader: its sysfs attributes say so.
  func testAPFIsStillAPFWithSixtyFourBytes() throws {
    var host = try FixtureHosts.x710()
    host.readableConfigBytes = 64
    let root = try root(host)
    let list = try sriovctl(["list", "--root", root, "-o", "json"])
    XCTAssertEqual(list.status, 0, list.stderr)
    let pfs = try XCTUnwrap(try list.json()["pfs"] as? [[String: Any]])
    XCTAssertEqual(pfs.map { $0["pci_address"] as? String }, ["0000:3b:00.0", "0000:3b:00.1"])
    XCTAssertEqual(pfs.map { $0["total_vfs"] as? Int }, [64, 64])
    XCTAssertTrue(pfs.allSatisfy { $0["device_total_vfs"] is NSNull }, "the capability's figure needs root: \(pfs)")
    // The host's onboard NIC without SR-IOV (eno1) cannot be told from a disabled one now.
    let check = try sriovctl(["check", "--root", root])
    XCTAssertEqual(check.status, 0, check.stdout)
    XCTAssertTrue(check.stdout.contains("Checking SR-IOV on 0000:04:00.0 (eno1)              : SKIP (cannot tell"), check.stdout)
    XCTAssertTrue(check.stdout.contains(" : PASS (4 of 64 VFs enabled, driver i40e)\n"), check.stdout)
    XCTAssertTrue(check.stdout.hasSuffix("\nReady for SR-IOV as far as could be checked (1 not checked: see the remedy).\n"), check.stdout)
  }
}
