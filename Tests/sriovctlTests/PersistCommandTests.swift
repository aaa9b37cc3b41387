import Foundation
import SRIOVFixtures
import XCTest

/// `sriovctl persist` against fixture hosts and image roots: golden files, systemd's own
/// verifier, atomic installs, offline enabling, removal, and injection attempts.
final class PersistCommandTests: XCTestCase {
  private let golden = repositoryRoot.appendingPathComponent("Tests/Fixtures/persist")

  /// An X710 host with sriovctl installed where the systemd unit expects it.
  private func x710() throws -> String {
    let root = try temporaryDirectory(self).path + "/host"
    try FixtureHosts.x710(at: root)
    try FileManager.default.createDirectory(atPath: root + "/usr/local/bin", withIntermediateDirectories: true)
    try FileManager.default.copyItem(
      atPath: productsDirectory.appendingPathComponent("sriovctl").path, toPath: root + "/usr/local/bin/sriovctl")
    return root
  }

  private let settings = ["--vlan", "0=42", "--trust", "1=on", "--spoofchk", "off", "--mac", "2=02:00:00:00:00:02"]

  func testEachMethodRendersItsGoldenFile() throws {
    let root = try x710()
    let cases: [(String, [String], String)] = [
      ("udev", ["--count", "4", "--autoprobe", "on"], "udev.rules"),
      ("systemd", ["--count", "4", "--driver", "vfio-pci", "--timeout", "90"] + settings, "systemd.service"),
      ("link", ["--count", "4"] + settings, "link.link"),
    ]
    for (method, options, file) in cases {
      let run = try sriovctl(["persist", "ens1f0", "--method", method, "--root", root] + options)
      XCTAssertEqual(run.status, 0, run.stderr)
      let expected = try String(contentsOf: golden.appendingPathComponent(file), encoding: .utf8)
      XCTAssertEqual(run.stdout, expected, "\(method): Tests/Fixtures/persist/\(file) differs")
      XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/etc/udev/rules.d"), "printing writes nothing")
    }
  }

  func testSystemdAcceptsTheUnit() throws {
    let root = try x710()
    let install = try sriovctl(["persist", "0000:3b:00.0", "--method", "systemd", "--count", "4", "--install", "--root", root] + settings)
    XCTAssertEqual(install.status, 0, install.stderr)
    let verify = try runProgram(
      URL(fileURLWithPath: "/usr/bin/systemd-analyze"),
      ["verify", "--man=no", "--root=\(root)", "/etc/systemd/system/sriovctl-vfs-0000-3b-00.0.service"])
    XCTAssertEqual(verify.status, 0, verify.stderr)
    XCTAssertEqual(verify.stderr, "", "no warnings either")
  }

  func testInstallIsAtomicIdempotentAndEnablesOffline() throws {
    let root = try x710()
    let arguments = ["persist", "ens1f0", "--method", "systemd", "--count", "2", "--install", "--root", root, "-o", "json"]
    let first = try sriovctl(arguments)
    XCTAssertEqual(first.status, 0, first.stderr)
    let document = try first.json()
    XCTAssertEqual(document["pf"] as? String, "0000:3b:00.0")
    XCTAssertEqual(document["method"] as? String, "systemd")
    XCTAssertEqual(document["path"] as? String, "/etc/systemd/system/sriovctl-vfs-0000-3b-00.0.service")
    XCTAssertEqual(document["changed"] as? Bool, true)
    XCTAssertTrue((document["content"] as? String)?.contains("ExecStart=/usr/local/bin/sriovctl create-vfs") == true)
    let unit = root + "/etc/systemd/system/sriovctl-vfs-0000-3b-00.0.service"
    let attributes = try FileManager.default.attributesOfItem(atPath: unit)
    XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o644)
    XCTAssertEqual(
      try FileManager.default.destinationOfSymbolicLink(
        atPath: root + "/etc/systemd/system/multi-user.target.wants/sriovctl-vfs-0000-3b-00.0.service"),
      "/etc/systemd/system/sriovctl-vfs-0000-3b-00.0.service", "enabled as systemctl --root would")
    let modified = attributes[.modificationDate] as? Date
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: root + "/etc/systemd/system")
    XCTAssertEqual(leftovers.sorted(), ["multi-user.target.wants", "sriovctl-vfs-0000-3b-00.0.service"], "no temporary files")

    let second = try sriovctl(arguments)
    XCTAssertEqual(try second.json()["changed"] as? Bool, false)
    XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: unit)[.modificationDate] as? Date, modified, "not rewritten")

    let changed = try sriovctl(arguments.map { $0 == "2" ? "3" : $0 })
    XCTAssertEqual(try changed.json()["changed"] as? Bool, true)
    XCTAssertTrue(try String(contentsOfFile: unit, encoding: .utf8).contains("--count 3"))
  }

  func testASymlinkedTargetIsRefused() throws {
    let root = try x710()
    let rules = root + "/etc/udev/rules.d"
    try FileManager.default.createDirectory(atPath: rules, withIntermediateDirectories: true)
    try "precious\n".write(toFile: root + "/precious", atomically: false, encoding: .utf8)
    try FileManager.default.createSymbolicLink(atPath: rules + "/70-sriovctl-0000-3b-00.0.rules", withDestinationPath: root + "/precious")
    let run = try sriovctl(["persist", "ens1f0", "--method", "udev", "--count", "2", "--install", "--root", root])
    assertCleanFailure(run, mentioning: ["/etc/udev/rules.d/70-sriovctl-0000-3b-00.0.rules is a symbolic link"])
    XCTAssertEqual(try String(contentsOfFile: root + "/precious", encoding: .utf8), "precious\n")
  }

  func testRemoveDeletesOnlyWhatSriovctlWrote() throws {
    let root = try x710()
    for method in ["udev", "systemd", "link"] {
      let run = try sriovctl(["persist", "ens1f0", "--method", method, "--count", "2", "--install", "--root", root])
      XCTAssertEqual(run.status, 0, run.stderr)
    }
    let one = try sriovctl(["persist", "ens1f0", "--method", "udev", "--remove", "--root", root, "-o", "json"])
    XCTAssertEqual(one.status, 0, one.stderr)
    XCTAssertEqual(try one.json()["changed"] as? Bool, true)
    XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/etc/udev/rules.d/70-sriovctl-0000-3b-00.0.rules"))
    XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/etc/systemd/network/10-sriovctl-0000-3b-00.0.link"))

    // A file of the same name that someone else wrote is left alone.
    try "[Match]\nPath=pci-0000:3b:00.0\n".write(
      toFile: root + "/etc/systemd/network/10-sriovctl-0000-3b-00.0.link", atomically: false, encoding: .utf8)
    let foreign = try sriovctl(["persist", "ens1f0", "--method", "link", "--remove", "--root", root])
    assertCleanFailure(foreign, mentioning: ["was not written by sriovctl; it was left alone"])
    XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/etc/systemd/network/10-sriovctl-0000-3b-00.0.link"))

    let systemd = try sriovctl(["persist", "ens1f0", "--method", "systemd", "--remove", "--root", root])
    XCTAssertEqual(systemd.status, 0, systemd.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/etc/systemd/system/sriovctl-vfs-0000-3b-00.0.service"))
    XCTAssertNil(try? FileManager.default.destinationOfSymbolicLink(
      atPath: root + "/etc/systemd/system/multi-user.target.wants/sriovctl-vfs-0000-3b-00.0.service"))
    let again = try sriovctl(["persist", "ens1f0", "--method", "systemd", "--remove", "--root", root, "-o", "json"])
    XCTAssertEqual(try again.json()["changed"] as? Bool, false)
  }

  func testAnImageWithoutSysfsTakesAPCIAddress() throws {
    let image = try temporaryDirectory(self).path
    let run = try sriovctl(["persist", "0000:5e:00.1", "--method", "udev", "--count", "8", "--install", "--root", image])
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertTrue(try String(contentsOfFile: image + "/etc/udev/rules.d/70-sriovctl-0000-5e-00.1.rules", encoding: .utf8)
      .contains("KERNELS==\"0000:5e:00.1\""))
    let byName = try sriovctl(["persist", "ens1f0", "--method", "udev", "--count", "8", "--root", image])
    assertCleanFailure(byName, mentioning: ["name the PF by its PCI address"])
  }

  func testInjectionAttemptsAreRefusedAndNothingIsWritten() throws {
    let root = try x710()
    let attempts: [[String]] = [
      ["ens1f0\"", "--count", "2"],
      ["ens1f0\nRUN+=\"/bin/sh\"", "--count", "2"],
      ["ens1f0", "--count", "2", "--driver", "vfio-pci\"; RUN+=\"x"],
      ["ens1f0", "--count", "2", "--driver", "%n"],
      ["ens1f0", "--count", "2", "--driver", "$(reboot)"],
      ["ens1f0", "--count", "2", "--vlan", "0=4*"],
      ["ens1f0", "--count", "2", "--mac", "0=02:00:00:00:00:0$"],
      ["ens1f0", "--count", "2", "--link-state", "0=auto\nExecStartPre=/bin/rm"],
      ["ens1f0", "--count", "-1"],
    ]
    for attempt in attempts {
      for method in ["udev", "systemd", "link"] {
        let run = try sriovctl(["persist"] + attempt + ["--method", method, "--install", "--root", root])
        XCTAssertNotEqual(run.status, 0, "\(attempt) \(method): \(run.stdout)")
        XCTAssertEqual(run.stdout, "")
        XCTAssertEqual(run.stderr.filter { $0 == "\n" }.count >= 1, true)
      }
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/etc/udev"))
    XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/etc/systemd"))
  }

  func testMethodsRefuseWhatTheyCannotCarry() throws {
    let root = try x710()
    let udev = try sriovctl(["persist", "ens1f0", "--method", "udev", "--count", "2", "--vlan", "3", "--root", root])
    assertCleanFailure(udev, mentioning: ["--method udev cannot carry --vlan; use --method link or systemd"])
    let link = try sriovctl(["persist", "ens1f0", "--method", "link", "--count", "2", "--driver", "vfio-pci", "--root", root])
    assertCleanFailure(link, mentioning: ["--method link cannot carry --driver; use --method systemd"])
    let missing = try sriovctl(["persist", "ens1f0", "--count", "2", "--root", root])
    assertCleanFailure(missing, status: 64, mentioning: ["--method"])
    let both = try sriovctl(["persist", "ens1f0", "--method", "udev", "--count", "2", "--install", "--remove", "--root", root])
    assertCleanFailure(both, status: 64, mentioning: ["--install and --remove"])
  }

  func testOldSystemdGetsAnotherMethodSuggested() throws {
    let root = try x710()
    try FileManager.default.createDirectory(atPath: root + "/usr/lib/systemd", withIntermediateDirectories: true)
    FileManager.default.createFile(atPath: root + "/usr/lib/systemd/libsystemd-shared-249.so", contents: Data())
    let run = try sriovctl(["persist", "ens1f0", "--method", "link", "--count", "2", "--root", root])
    assertCleanFailure(run, mentioning: ["systemd 249 has no SR-IOV settings in .link files (251 or newer has); use --method udev or systemd"])
  }
}
