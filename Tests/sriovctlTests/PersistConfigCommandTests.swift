import Foundation
import SRIOVFixtures
import XCTest

/// `sriovctl persist --config`: the node unit, and the node file installed beside it, on fixture
/// roots; the real boot is ApplyVMTests' job.
final class PersistConfigCommandTests: XCTestCase {
  private func x710() throws -> (root: String, file: String) {
    let directory = try temporaryDirectory(self).path
    let root = directory + "/host"
    try FixtureHosts.x710(at: root)
    try FileManager.default.createDirectory(atPath: root + "/usr/local/bin", withIntermediateDirectories: true)
    try FileManager.default.copyItem(
      atPath: productsDirectory.appendingPathComponent("sriovctl").path, toPath: root + "/usr/local/bin/sriovctl")
    let file = directory + "/node.yaml"
    try """
      version: 1
      policies:
        - name: both-ports
          nicSelector: {vendor: "8086", deviceID: "1572"}
          numVfs: 2
          vfSettings: {vlan: 100}

      """.write(toFile: file, atomically: true, encoding: .utf8)
    return (root, file)
  }

  func testInstallWritesTheUnitAndTheFileEnablesItAndIsIdempotent() throws {
    let (root, file) = try x710()
    let first = try sriovctl(["persist", "--config", "-f", file, "--install", "--root", root, "-o", "json"])
    XCTAssertEqual(first.status, 0, first.stderr)
    XCTAssertEqual(try first.json()["changed"] as? Bool, true)
    let unit = try String(contentsOfFile: root + "/etc/systemd/system/sriovctl.service", encoding: .utf8)
    XCTAssertTrue(unit.hasPrefix("# Written by sriovctl"))
    XCTAssertTrue(unit.contains("\nExecStart=/usr/local/bin/sriovctl apply --boot -f /etc/sriovctl/sriovctl.yaml --timeout 60\n"), unit)
    XCTAssertTrue(unit.contains("\nBefore=network-pre.target kubelet.service shutdown.target\n"), unit)
    XCTAssertTrue(unit.contains("\nAfter=systemd-udevd-control.socket systemd-udevd-kernel.socket systemd-udev-trigger.service\n"), unit)
    XCTAssertEqual(
      try FileManager.default.destinationOfSymbolicLink(atPath: root + "/etc/systemd/system/multi-user.target.wants/sriovctl.service"),
      "/etc/systemd/system/sriovctl.service")
    XCTAssertEqual(
      try String(contentsOfFile: root + "/etc/sriovctl/sriovctl.yaml", encoding: .utf8),
      try String(contentsOfFile: file, encoding: .utf8))
    let attributes = try FileManager.default.attributesOfItem(atPath: root + "/etc/sriovctl/sriovctl.yaml")
    XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o644)

    // The ExecStart line, run as systemd would (under the root, as a dry run), reads the
    // installed file.
    let boot = try sriovctl(["apply", "-f", root + "/etc/sriovctl/sriovctl.yaml", "--dry-run", "--root", root, "-o", "json"])
    XCTAssertEqual(boot.status, 0, boot.stderr)
    XCTAssertEqual((try boot.json()["pfs"] as? [[String: Any]])?.count, 2)

    let second = try sriovctl(["persist", "--config", "-f", file, "--install", "--root", root, "-o", "json"])
    XCTAssertEqual(try second.json()["changed"] as? Bool, false)

    let removed = try sriovctl(["persist", "--config", "--remove", "--root", root])
    XCTAssertEqual(removed.status, 0, removed.stderr)
    XCTAssertTrue(removed.stdout.contains("/etc/sriovctl/sriovctl.yaml was left in place"), removed.stdout)
    XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/etc/systemd/system/sriovctl.service"))
    XCTAssertNil(try? FileManager.default.destinationOfSymbolicLink(atPath: root + "/etc/systemd/system/multi-user.target.wants/sriovctl.service"))
    XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/etc/sriovctl/sriovctl.yaml"))
  }

  func testABadFileIsNeverInstalled() throws {
    let (root, file) = try x710()
    try "version: 1\npolicies:\n  - name: x\n    numVfs: 2\n".write(toFile: file, atomically: true, encoding: .utf8)
    let run = try sriovctl(["persist", "--config", "-f", file, "--install", "--root", root])
    assertCleanFailure(run, mentioning: ["\(file):3:5: policy 'x' needs a nicSelector"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/etc/sriovctl"))
    XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/etc/systemd/system/sriovctl.service"))
  }

  func testConfigExcludesPerPFOptions() throws {
    let (root, file) = try x710()
    for arguments in [
      ["persist", "--config", "ens1f0"], ["persist", "--config", "--method", "systemd"],
      ["persist", "--config", "--count", "2"], ["persist", "--config", "--remove", "-f", file],
      ["persist", "ens1f0", "--count", "2", "--method", "udev", "-f", file], ["persist", "--method", "udev"],
    ] {
      let run = try sriovctl(arguments + ["--root", root])
      XCTAssertEqual(run.status, 64, "\(arguments): \(run.stderr)")
    }
  }

  /// The unit runs the sriovctl that is installed under the root: the Debian package's
  /// /usr/sbin/sriovctl, `make install`'s /usr/local/sbin one before it, and none is an error.
  func testTheUnitRunsTheInstalledBinary() throws {
    let (root, file) = try x710()
    try FileManager.default.removeItem(atPath: root + "/usr/local/bin/sriovctl")
    let none = try sriovctl(["persist", "--config", "-f", file, "--install", "--root", root])
    XCTAssertEqual(none.status, 1)
    XCTAssertEqual(
      none.stderr,
      "Error: sriovctl is not installed under \(root) (/usr/sbin, /usr/bin or /usr/local): the unit runs it at boot; install the package or run 'make install' first\n")
    XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/etc/systemd/system/sriovctl.service"))
    XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/etc/sriovctl/sriovctl.yaml"))
    // Printing is for review: the unit is shown, naming the package's place, with a comment and a
    // note that say sriovctl is not there yet.
    let review = try sriovctl(["persist", "--config", "-f", file, "--root", root, "-o", "json"])
    XCTAssertEqual(review.status, 0, review.stderr)
    let json = try review.json()
    let content = try XCTUnwrap(json["content"] as? String)
    XCTAssertTrue(
      content.contains(
        "\n# sriovctl is not installed under \(root) yet: ExecStart expects it at /usr/sbin/sriovctl, where the\n"
          + "# Debian package puts it (or in /usr/local/sbin, from 'make install'); --install refuses until it is there.\n"),
      content)
    XCTAssertTrue(content.contains("\nExecStart=/usr/sbin/sriovctl apply --boot -f /etc/sriovctl/sriovctl.yaml --timeout 60\n"), content)
    XCTAssertEqual(
      json["notes"] as? [String],
      ["sriovctl is not installed under \(root): the unit names /usr/sbin/sriovctl; --install refuses until it is there"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/etc/systemd"))

    func execStart() throws -> String? {
      let shown = try sriovctl(["persist", "--config", "-f", file, "--root", root])
      XCTAssertEqual(shown.status, 0, shown.stderr)
      return shown.stdout.split(separator: "\n").first { $0.hasPrefix("ExecStart=") }.map(String.init)
    }
    for directory in ["/usr/sbin", "/usr/local/sbin"] {
      try FileManager.default.createDirectory(atPath: root + directory, withIntermediateDirectories: true)
      try "#!/bin/sh\n".write(toFile: root + directory + "/sriovctl", atomically: true, encoding: .utf8)
      XCTAssertEqual(
        try execStart(), "ExecStart=\(directory)/sriovctl apply --boot -f /etc/sriovctl/sriovctl.yaml --timeout 60")
      let shown = try sriovctl(["persist", "--config", "-f", file, "--root", root])
      XCTAssertFalse(shown.stdout.contains("not installed"), shown.stdout)
    }
  }

  /// The per-PF unit likewise: printed for review without sriovctl under the root, refused to install.
  func testThePerPFUnitIsPrintedButNotInstalledWithoutTheBinary() throws {
    let (root, _) = try x710()
    try FileManager.default.removeItem(atPath: root + "/usr/local/bin/sriovctl")
    let review = try sriovctl(["persist", "ens1f0", "--count", "2", "--method", "systemd", "--root", root])
    XCTAssertEqual(review.status, 0, review.stderr)
    XCTAssertTrue(review.stdout.contains("# sriovctl is not installed under \(root) yet: ExecStart expects it at /usr/sbin/sriovctl"), review.stdout)
    XCTAssertTrue(review.stdout.contains("\nExecStart=/usr/sbin/sriovctl create-vfs 0000:3b:00.0 --count 2 "), review.stdout)
    let install = try sriovctl(["persist", "ens1f0", "--count", "2", "--method", "systemd", "--install", "--root", root])
    assertCleanFailure(install, mentioning: ["sriovctl is not installed under \(root)"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/etc/systemd"))
  }
}
