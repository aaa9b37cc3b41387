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
    // Each attempt, with the exact one-line error and exit status every method must give: a crash,
    // a second line or another message fails the test.
    func notAPF(_ value: String) -> String {
      "Error: The value '\(value)' is invalid for '<PF>': '\(value)' is neither a PCI address (0000:3b:00.0 or "
        + "3b:00.0) nor an interface name (1 to 15 of the characters A-Z a-z 0-9 . _ - @ +)"
    }
    let notADriver = "expected kernel (the VF's own driver) or a driver name such as vfio-pci"
    let attempts: [(arguments: [String], status: Int32, error: String)] = [
      (["ens1f0\"", "--count", "2"], 64, notAPF("ens1f0\"")),
      (["ens1f0\nRUN+=\"/bin/sh\"", "--count", "2"], 64, notAPF("ens1f0\\nRUN+=\"/bin/sh\"")),
      (["ens1f0", "--count", "2", "--driver", "vfio-pci\"; RUN+=\"x"], 64, "Error: --driver 'vfio-pci\"; RUN+=\"x': expected INDEX=VALUE with a VF index from 0 to 65534"),
      (["ens1f0", "--count", "2", "--driver", "%n"], 64, "Error: --driver '%n': " + notADriver),
      (["ens1f0", "--count", "2", "--driver", "$(reboot)"], 64, "Error: --driver '$(reboot)': " + notADriver),
      (["ens1f0", "--count", "2", "--vlan", "0=4*"], 64, "Error: --vlan '0=4*': expected a VLAN ID from 0 (none) to 4094"),
      (["ens1f0", "--count", "2", "--mac", "0=02:00:00:00:00:0$"], 64, "Error: --mac '0=02:00:00:00:00:0$': expected auto or a unicast, non-zero MAC address (02:11:22:33:44:55)"),
      (["ens1f0", "--count", "2", "--link-state", "0=auto\nExecStartPre=/bin/rm"], 64, "Error: --link-state '0=auto\\nExecStartPre=/bin/rm': expected auto, enable or disable"),
      (["ens1f0", "--count", "-1"], 64, "Error: --count '-1': expected a number of VFs, 0 or more"),
    ]
    for attempt in attempts {
      for method in ["udev", "systemd", "link"] {
        let run = try sriovctl(["persist"] + attempt.arguments + ["--method", method, "--install", "--root", root])
        XCTAssertEqual(run.status, attempt.status, "\(attempt.arguments) \(method): \(run.stderr)")
        XCTAssertEqual(run.stdout, "", "\(attempt.arguments) \(method)")
        XCTAssertEqual(run.stderr, attempt.error + "\n", "\(attempt.arguments) \(method)")
      }
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/etc/udev"))
    XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/etc/systemd"))
  }

  func testMethodsRefuseWhatTheyCannotCarry() throws {
    let root = try x710()
    let udev = try sriovctl(["persist", "ens1f0", "--method", "udev", "--count", "2", "--vlan", "3", "--root", root])
    assertCleanFailure(udev, status: 64, mentioning: ["--method udev cannot carry --vlan; use --method link or systemd"])
    let link = try sriovctl(["persist", "ens1f0", "--method", "link", "--count", "2", "--driver", "vfio-pci", "--root", root])
    assertCleanFailure(link, status: 64, mentioning: ["--method link cannot carry --driver; use --method systemd"])
    let auto = try sriovctl(["persist", "ens1f0", "--method", "link", "--count", "2", "--mac", "auto", "--root", root])
    assertCleanFailure(auto, status: 64, mentioning: ["--method link cannot carry --mac auto; use --method systemd"])
    let missing = try sriovctl(["persist", "ens1f0", "--count", "2", "--root", root])
    assertCleanFailure(missing, status: 64, mentioning: ["--method"])
    let both = try sriovctl(["persist", "ens1f0", "--method", "udev", "--count", "2", "--install", "--remove", "--root", root])
    assertCleanFailure(both, status: 64, mentioning: ["--install and --remove"])
  }

  /// 99-default.link belongs to another package: only its naming settings are carried over, and
  /// nothing in it can break or inject into the .link file sriovctl writes (found by fuzzing).
  func testTheDefaultLinkFileCarriesOnlyItsNamingSettings() throws {
    let root = try x710()
    let directory = root + "/usr/lib/systemd/network"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let hostile = """
      [Match]
      OriginalName=*

      [Link]
      NamePolicy=keep kernel database onboard slot path
      N\u{0}mePolicy=path
      no equals sign here
      SR-IOVVirtualFunctions=64
      MACAddressPolicy=persistent
      AlternativeNamesPolicy=database %s "quoted"
      [SR-IOV
      Name=  lan0  

      """
    try hostile.write(toFile: directory + "/99-default.link", atomically: false, encoding: .utf8)
    let run = try sriovctl(["persist", "ens1f0", "--method", "link", "--count", "2", "--root", root])
    XCTAssertEqual(run.status, 0, run.stderr)
    let body = run.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }.joined(separator: "\n")
    XCTAssertEqual(
      body,
      """
      [Match]
      Path=pci-0000:3b:00.0
      [Link]
      NamePolicy=keep kernel database onboard slot path
      MACAddressPolicy=persistent
      SR-IOVVirtualFunctions=2
      """)
  }

  func testOldSystemdGetsAnotherMethodSuggested() throws {
    let root = try x710()
    try FileManager.default.createDirectory(atPath: root + "/usr/lib/systemd", withIntermediateDirectories: true)
    FileManager.default.createFile(atPath: root + "/usr/lib/systemd/libsystemd-shared-249.so", contents: Data())
    let run = try sriovctl(["persist", "ens1f0", "--method", "link", "--count", "2", "--root", root])
    assertCleanFailure(run, mentioning: ["systemd 249 has no SR-IOV settings in .link files (251 or newer has); use --method udev or systemd"])
  }

  // MARK: persist refuses what create-vfs refuses

  func testACountThePFCannotTakeIsRefusedAsCreateVFsRefusesIt() throws {
    let root = try x710()
    for method in ["udev", "systemd", "link"] {
      for extra in [[], ["--install"]] {
        let run = try sriovctl(["persist", "ens1f0", "--count", "9999", "--method", method, "--root", root] + extra)
        assertCleanFailure(run, mentioning: ["0000:3b:00.0 allows at most 64 VFs (sriov_totalvfs); 9999 were asked for"])
      }
    }
    let create = try sriovctl(["create-vfs", "ens1f0", "--count", "9999", "--dry-run", "--root", root])
    assertCleanFailure(create, mentioning: ["0000:3b:00.0 allows at most 64 VFs (sriov_totalvfs); 9999 were asked for"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/etc/udev"))
    XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/etc/systemd"))

    // SR-IOV off in the firmware: no VF at all, but 0 is still a count.
    let cx5 = try temporaryDirectory(self).path + "/cx5"
    try FixtureHosts.connectX5SRIOVDisabled(at: cx5)
    let one = try sriovctl(["persist", "0000:af:00.0", "--count", "1", "--method", "udev", "--install", "--root", cx5])
    assertCleanFailure(one, mentioning: ["offers no VFs (sriov_totalvfs is 0): SR-IOV is disabled in the NIC's firmware or the BIOS"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: cx5 + "/etc/udev"))
    let zero = try sriovctl(["persist", "0000:af:00.0", "--count", "0", "--method", "udev", "--root", cx5])
    XCTAssertEqual(zero.status, 0, zero.stderr)
  }

  func testAnImageWithoutSysfsSaysTheCountWasNotChecked() throws {
    let image = try temporaryDirectory(self).path
    let run = try sriovctl(["persist", "0000:5e:00.1", "--method", "udev", "--count", "9999", "--root", image, "-o", "json"])
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertEqual(
      try run.json()["notes"] as? [String],
      ["no sysfs under \(image): --count 9999 was not checked against 0000:5e:00.1's sriov_totalvfs"])
  }

  func testAFractionalTimeoutIsWrittenAsGivenAndReadBack() throws {
    let root = try x710()
    for (given, written) in [("0.5", "0.5"), ("90", "90"), ("2.25", "2.25"), ("1e-3", "0.001")] {
      let run = try sriovctl(["persist", "ens1f0", "--method", "systemd", "--count", "2", "--timeout", given, "--root", root])
      XCTAssertEqual(run.status, 0, run.stderr)
      let lines = run.stdout.split(separator: "\n").map(String.init)
      let exec = try XCTUnwrap(lines.first { $0.hasPrefix("ExecStart=") })
      XCTAssertTrue(exec.hasSuffix("--wait-for-pf --timeout \(written)"), exec)
      let reproduce = try XCTUnwrap(lines.first { $0.hasPrefix("# Reproduce:") })
      XCTAssertTrue(reproduce.contains("--timeout \(written) --method systemd"), reproduce)
      // What the unit runs at boot parses back (here as a dry run against the fixture).
      let arguments = Array(exec.dropFirst("ExecStart=".count).split(separator: " ").map(String.init).dropFirst())
      let boot = try sriovctl(arguments + ["--dry-run", "--root", root])
      XCTAssertEqual(boot.status, 0, "\(arguments): \(boot.stderr)")
    }
    let normal = try sriovctl(["persist", "ens1f0", "--method", "udev", "--count", "2", "--root", root])
    XCTAssertFalse(normal.stdout.contains("--timeout"), "the default is not repeated")
  }

  // MARK: persist never overwrites or removes what is not its own

  func testInstallNeverOverwritesAFileItDidNotWrite() throws {
    let root = try x710()
    let cases = [
      ("udev", "/etc/udev/rules.d/70-sriovctl-0000-3b-00.0.rules"),
      ("systemd", "/etc/systemd/system/sriovctl-vfs-0000-3b-00.0.service"),
      ("link", "/etc/systemd/network/10-sriovctl-0000-3b-00.0.link"),
    ]
    for (method, path) in cases {
      try FileManager.default.createDirectory(atPath: root + (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
      try "# hand-written\nACTION==\"add\"\n".write(toFile: root + path, atomically: false, encoding: .utf8)
      let run = try sriovctl(["persist", "ens1f0", "--method", method, "--count", "2", "--install", "--root", root])
      assertCleanFailure(run, mentioning: ["\(path) was not written by sriovctl; it was left alone"])
      XCTAssertEqual(try String(contentsOfFile: root + path, encoding: .utf8), "# hand-written\nACTION==\"add\"\n")
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/etc/systemd/system/multi-user.target.wants"))
  }

  /// Every path beneath a directory with its kind and content or link target.
  private func snapshot(_ directory: String) throws -> [String: String] {
    var result: [String: String] = [:]
    let manager = FileManager.default
    for path in manager.subpaths(atPath: directory) ?? [] {
      let full = directory + "/" + path
      if let target = try? manager.destinationOfSymbolicLink(atPath: full) {
        result[path] = "link " + target
      } else if let data = manager.contents(atPath: full) {
        result[path] = "file " + String(decoding: data, as: UTF8.self)
      } else {
        result[path] = "directory"
      }
    }
    return result
  }

  func testAFailedSystemdInstallLeavesTheTreeAsItWas() throws {
    let root = try x710()
    let wants = root + "/etc/systemd/system/multi-user.target.wants/sriovctl-vfs-0000-3b-00.0.service"
    // A directory where the wants link goes: the unit cannot be enabled.
    try FileManager.default.createDirectory(atPath: wants, withIntermediateDirectories: true)
    let before = try snapshot(root + "/etc")
    let new = try sriovctl(["persist", "ens1f0", "--method", "systemd", "--count", "2", "--install", "--root", root])
    assertCleanFailure(new)
    XCTAssertEqual(try snapshot(root + "/etc"), before, "the new unit file was removed")

    // An installed unit whose link was replaced by a foreign file: the old unit stays as it was.
    try FileManager.default.removeItem(atPath: wants)
    let first = try sriovctl(["persist", "ens1f0", "--method", "systemd", "--count", "2", "--install", "--root", root])
    XCTAssertEqual(first.status, 0, first.stderr)
    try FileManager.default.removeItem(atPath: wants)
    try "not a link\n".write(toFile: wants, atomically: false, encoding: .utf8)
    let installed = try snapshot(root + "/etc")
    let changed = try sriovctl(["persist", "ens1f0", "--method", "systemd", "--count", "3", "--install", "--root", root])
    assertCleanFailure(changed)
    XCTAssertEqual(try snapshot(root + "/etc"), installed, "the previous unit file was restored")
  }

  func testRemoveLeavesAForeignWantsLinkAndSaysSo() throws {
    let root = try x710()
    let install = try sriovctl(["persist", "ens1f0", "--method", "systemd", "--count", "2", "--install", "--root", root])
    XCTAssertEqual(install.status, 0, install.stderr)
    let wants = root + "/etc/systemd/system/multi-user.target.wants/sriovctl-vfs-0000-3b-00.0.service"
    try FileManager.default.removeItem(atPath: wants)
    try FileManager.default.createSymbolicLink(atPath: wants, withDestinationPath: "/dev/null")
    let run = try sriovctl(["persist", "ens1f0", "--method", "systemd", "--remove", "--root", root, "-o", "json"])
    XCTAssertEqual(run.status, 0, run.stderr)
    let document = try run.json()
    XCTAssertEqual(document["changed"] as? Bool, true, "the unit file was ours and is gone")
    XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/etc/systemd/system/sriovctl-vfs-0000-3b-00.0.service"))
    XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: wants), "/dev/null", "the foreign link is left")
    let notes = try XCTUnwrap(document["notes"] as? [String])
    XCTAssertEqual(notes, [
      "disabled and removed offline under \(root); takes effect at its next boot",
      "/etc/systemd/system/multi-user.target.wants/sriovctl-vfs-0000-3b-00.0.service links to /dev/null, not to sriovctl's unit; left alone",
    ])
    XCTAssertFalse(notes.contains { $0.contains("enabled offline") })
    // Nothing of ours is left: a second removal changes nothing, and still leaves the link.
    let again = try sriovctl(["persist", "ens1f0", "--method", "systemd", "--remove", "--root", root, "-o", "json"])
    XCTAssertEqual(try again.json()["changed"] as? Bool, false)
    XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: wants), "/dev/null")
  }
}
