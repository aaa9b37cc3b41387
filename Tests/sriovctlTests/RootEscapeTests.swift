import Foundation
import SRIOVFixtures
import XCTest

/// "The root is a root": hostile image trees (links out of the root, FIFOs, a held lock, a kernel
/// release that is a path) against the built binary. Each test keeps a sentinel directory beside
/// the root and proves it unchanged; each run has a time limit, so a hang fails instead of
/// stopping the suite.
final class RootEscapeTests: XCTestCase {
  private var base = ""
  private var root = ""
  private var sentinel = ""

  override func setUpWithError() throws {
    base = try temporaryDirectory(self).path
    root = base + "/host"
    sentinel = base + "/sentinel"
    try FixtureHosts.x710(at: root)
    try FileManager.default.createDirectory(atPath: root + "/usr/local/bin", withIntermediateDirectories: true)
    try FileManager.default.copyItem(
      atPath: productsDirectory.appendingPathComponent("sriovctl").path, toPath: root + "/usr/local/bin/sriovctl")
    try FileManager.default.createDirectory(atPath: sentinel + "/systemd/system", withIntermediateDirectories: true)
    try "keep\n".write(toFile: sentinel + "/keep", atomically: false, encoding: .utf8)
    // A file --remove would take for its own if it looked outside the root.
    try "# Written by sriovctl\n".write(
      toFile: sentinel + "/70-sriovctl-0000-3b-00.0.rules", atomically: false, encoding: .utf8)
  }

  /// Every entry under a directory: path, type, mode and content or link target.
  private func snapshot(_ directory: String) throws -> [String] {
    var entries: [String] = []
    let enumerator = FileManager.default.enumerator(atPath: directory)
    while let name = enumerator?.nextObject() as? String {
      let path = directory + "/" + name
      var info = stat()
      XCTAssertEqual(lstat(path, &info), 0)
      var entry = "\(name) \(String(info.st_mode, radix: 8))"
      switch info.st_mode & S_IFMT {
      case S_IFREG: entry += " " + (try String(contentsOfFile: path, encoding: .utf8))
      case S_IFLNK: entry += " -> " + (try FileManager.default.destinationOfSymbolicLink(atPath: path))
      default: break
      }
      entries.append(entry)
    }
    return entries.sorted()
  }

  /// Runs sriovctl with a time limit; a run that outlives it is killed and fails the test.
  private func run(_ arguments: [String], limit: Double = 20, file: StaticString = #filePath, line: UInt = #line)
    throws -> (run: Run, seconds: Double)
  {
    let started = Date()
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
    process.arguments = ["--signal=KILL", String(limit), productsDirectory.appendingPathComponent("sriovctl").path] + arguments
    var environment = ProcessInfo.processInfo.environment
    environment.removeValue(forKey: "SRIOVCTL_ROOT")
    let result = try runProgram(process.executableURL!, process.arguments!, environment: environment)
    XCTAssertNotEqual(result.status, 137, "sriovctl \(arguments) hung (killed after \(limit) s)", file: file, line: line)
    return (result, Date().timeIntervalSince(started))
  }

  private func link(_ hostPath: String, to target: String) throws {
    try? FileManager.default.removeItem(atPath: root + hostPath)
    try FileManager.default.createDirectory(
      atPath: ((root + hostPath) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(atPath: root + hostPath, withDestinationPath: target)
  }

  private let rule = "/etc/udev/rules.d/70-sriovctl-0000-3b-00.0.rules"

  func testAnAbsoluteRulesDirectoryLinkMeansTheSamePathInsideTheRoot() throws {
    let before = try snapshot(sentinel)
    try link("/etc/udev/rules.d", to: sentinel)
    // The link's target does not exist inside the root yet: a clean error, nothing anywhere.
    let dangling = try run(["persist", "ens1f0", "--count", "2", "--method", "udev", "--install", "--root", root]).run
    assertCleanFailure(dangling, mentioning: ["/etc/udev/rules.d is a symbolic link to something that does not exist"])
    XCTAssertEqual(try snapshot(sentinel), before)

    try FileManager.default.createDirectory(atPath: root + sentinel, withIntermediateDirectories: true)
    let install = try run(["persist", "ens1f0", "--count", "2", "--method", "udev", "--install", "--root", root]).run
    XCTAssertEqual(install.status, 0, install.stderr)
    let written = try String(contentsOfFile: root + sentinel + "/70-sriovctl-0000-3b-00.0.rules", encoding: .utf8)
    XCTAssertTrue(written.contains("ATTR{device/sriov_numvfs}=\"2\""), written)
    XCTAssertEqual(try snapshot(sentinel), before, "nothing outside the root changed")

    let remove = try run(["persist", "ens1f0", "--method", "udev", "--remove", "--root", root]).run
    XCTAssertEqual(remove.status, 0, remove.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: root + sentinel + "/70-sriovctl-0000-3b-00.0.rules"))
    XCTAssertEqual(try snapshot(sentinel), before, "--remove deleted nothing outside the root")
  }

  func testALinkedEtcKeepsTheUnitAndItsWantsLinkInsideTheRoot() throws {
    let before = try snapshot(sentinel)
    // The image's /etc is a link to a directory that holds what /etc held.
    try FileManager.default.createDirectory(
      atPath: (root + sentinel as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try FileManager.default.moveItem(atPath: root + "/etc", toPath: root + sentinel)
    try link("/etc", to: sentinel)
    let install = try run(["persist", "ens1f0", "--count", "2", "--method", "systemd", "--install", "--root", root]).run
    XCTAssertEqual(install.status, 0, install.stderr)
    let unit = root + sentinel + "/systemd/system/sriovctl-vfs-0000-3b-00.0.service"
    XCTAssertTrue(FileManager.default.fileExists(atPath: unit))
    XCTAssertEqual(
      try FileManager.default.destinationOfSymbolicLink(
        atPath: root + sentinel + "/systemd/system/multi-user.target.wants/sriovctl-vfs-0000-3b-00.0.service"),
      "/etc/systemd/system/sriovctl-vfs-0000-3b-00.0.service")
    XCTAssertEqual(try snapshot(sentinel), before)
    let remove = try run(["persist", "ens1f0", "--method", "systemd", "--remove", "--root", root]).run
    XCTAssertEqual(remove.status, 0, remove.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: unit))
    XCTAssertEqual(try snapshot(sentinel), before)
  }

  func testALinkedLockFileOrRunDirectoryCreatesNothingOutside() throws {
    let before = try snapshot(sentinel)
    let install = ["persist", "ens1f0", "--count", "2", "--method", "udev", "--install", "--root", root]
    try link("/run/sriovctl.lock", to: sentinel + "/lock")
    assertCleanFailure(try run(install).run, mentioning: ["/run/sriovctl.lock is a symbolic link"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: root + rule), "no lock, no write")
    XCTAssertEqual(try snapshot(sentinel), before)

    try link("/run", to: sentinel)
    assertCleanFailure(try run(install).run, mentioning: ["/run is a symbolic link"])
    XCTAssertEqual(try snapshot(sentinel), before)

    // With the target inside the root, the lock lives there, 0644 whatever the umask.
    try FileManager.default.createDirectory(atPath: root + sentinel, withIntermediateDirectories: true)
    let previous = umask(0o077)
    defer { umask(previous) }
    let done = try run(install).run
    XCTAssertEqual(done.status, 0, done.stderr)
    var info = stat()
    XCTAssertEqual(stat(root + sentinel + "/sriovctl.lock", &info), 0)
    XCTAssertEqual(info.st_mode & 0o7777, 0o644)
    XCTAssertEqual(try snapshot(sentinel), before)
  }

  func testAFIFOIsAnErrorNeverAHang() throws {
    try FileManager.default.createDirectory(atPath: root + "/etc/udev/rules.d", withIntermediateDirectories: true)
    XCTAssertEqual(mkfifo(root + rule, 0o644), 0)
    for arguments in [
      ["persist", "ens1f0", "--count", "2", "--method", "udev", "--install", "--root", root],
      ["persist", "ens1f0", "--method", "udev", "--remove", "--root", root],
    ] {
      assertCleanFailure(try run(arguments, limit: 10).run, mentioning: ["\(rule) is a FIFO, not a regular file"])
    }
    var info = stat()
    XCTAssertEqual(lstat(root + rule, &info), 0)
    XCTAssertEqual(info.st_mode & S_IFMT, S_IFIFO, "left as it was")

    // A FIFO for the lock file: refused, not opened (O_RDWR would open it at once, and flock it).
    XCTAssertEqual(unlink(root + rule), 0)
    try FileManager.default.createDirectory(atPath: root + "/run", withIntermediateDirectories: true)
    unlink(root + "/run/sriovctl.lock")
    XCTAssertEqual(mkfifo(root + "/run/sriovctl.lock", 0o644), 0)
    assertCleanFailure(
      try run(["persist", "ens1f0", "--count", "2", "--method", "udev", "--install", "--root", root], limit: 10).run,
      mentioning: ["/run/sriovctl.lock is a FIFO, not a regular file"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: root + rule))

    let numvfs = "/sys/bus/pci/devices/0000:3b:00.0/sriov_numvfs"
    XCTAssertEqual(unlink(root + numvfs), 0)
    XCTAssertEqual(mkfifo(root + numvfs, 0o644), 0)
    let dryRun = try run(["create-vfs", "0000:3b:00.0", "--count", "2", "--dry-run", "--root", root], limit: 10).run
    XCTAssertNotEqual(dryRun.status, 0)
    XCTAssertTrue(dryRun.stderr.contains("\(numvfs) is a FIFO, not a regular file"), dryRun.stderr)
  }

  func testInstallUnderUmask077MakesWorldReadableDirectoriesAndFile() throws {
    let previous = umask(0o077)
    defer { umask(previous) }
    let install = try run(["persist", "ens1f0", "--count", "2", "--method", "udev", "--install", "--root", root]).run
    XCTAssertEqual(install.status, 0, install.stderr)
    for (path, mode) in [("/etc/udev", 0o755), ("/etc/udev/rules.d", 0o755), (rule, 0o644), ("/run/sriovctl.lock", 0o644)] {
      var info = stat()
      XCTAssertEqual(stat(root + path, &info), 0, path)
      XCTAssertEqual(String(info.st_mode & 0o7777, radix: 8), String(mode, radix: 8), path)
    }
  }

  func testAHeldLockIsWaitedForOnlyUntilTheTimeoutAndNamesItsHolder() throws {
    try FileManager.default.createDirectory(atPath: root + "/run", withIntermediateDirectories: true)
    // flock(1) from util-linux holds the lock for longer than any bound below (--no-fork: the PID
    // that holds it is the one the test ends).
    let holder = Process()
    holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
    holder.arguments = ["--no-fork", root + "/run/sriovctl.lock", "sleep", "60"]
    try holder.run()
    defer {
      holder.terminate()
      holder.waitUntilExit()
    }
    // Until flock(1) holds it.
    let deadline = Date().addingTimeInterval(5)
    while Date() < deadline, !(try String(contentsOfFile: "/proc/locks", encoding: .utf8)).contains(" \(holder.processIdentifier) ") {
      usleep(20_000)
    }
    for arguments in [
      ["persist", "ens1f0", "--count", "2", "--method", "udev", "--install", "--timeout", "1", "--root", root],
      ["persist", "ens1f0", "--method", "udev", "--remove", "--timeout", "1", "--root", root],
    ] {
      let (result, seconds) = try run(arguments, limit: 10)
      assertCleanFailure(
        result,
        mentioning: ["another sriovctl (PID \(holder.processIdentifier)) holds /run/sriovctl.lock; gave up after 1 s (--timeout)"])
      XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "one line when stderr is not a terminal")
      XCTAssertGreaterThanOrEqual(seconds, 0.9)
      XCTAssertLessThan(seconds, 3, "bounded by --timeout")
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: root + rule), "nothing written without the lock")

    // On a terminal (script(1) gives it one), a person is told once why nothing happens.
    let command = [
      "/usr/bin/timeout", "--signal=KILL", "10", productsDirectory.appendingPathComponent("sriovctl").path,
      "persist", "ens1f0", "--count", "2", "--method", "udev", "--install", "--timeout", "1", "--root", root,
    ].joined(separator: " ")
    let terminal = try runProgram(URL(fileURLWithPath: "/usr/bin/script"), ["-q", "-e", "-c", command, "/dev/null"])
    XCTAssertEqual(terminal.status, 1, terminal.stdout)
    let lines = terminal.stdout.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
    XCTAssertEqual(
      lines,
      [
        "sriovctl: waiting up to 1 s for another sriovctl (PID \(holder.processIdentifier)), which holds /run/sriovctl.lock",
        "Error: another sriovctl (PID \(holder.processIdentifier)) holds /run/sriovctl.lock; gave up after 1 s (--timeout)",
      ])
  }

  func testTheLockHolderLeavesItsPIDForWaiters() throws {
    let install = try run(["persist", "ens1f0", "--count", "2", "--method", "udev", "--install", "--root", root]).run
    XCTAssertEqual(install.status, 0, install.stderr)
    let pid = try String(contentsOfFile: root + "/run/sriovctl.lock", encoding: .utf8)
    XCTAssertNotNil(Int32(pid.trimmingCharacters(in: .whitespacesAndNewlines)), pid)
  }

  func testAnAbsoluteLibLinkFindsTheImagesModulesNotThisMachines() throws {
    // A merged-/usr image whose /lib is an absolute link: its modules are ROOT/usr/lib/modules.
    try FileManager.default.createDirectory(atPath: root + "/usr", withIntermediateDirectories: true)
    try FileManager.default.moveItem(atPath: root + "/lib", toPath: root + "/usr/lib")
    try link("/lib", to: "/usr/lib")
    let check = try run(["check", "--root", root, "-o", "json"]).run
    let checks = try XCTUnwrap(try check.json()["checks"] as? [[String: Any]])
    let modules = try XCTUnwrap(checks.first { ($0["id"] as? String) == "modules.vfio" })
    XCTAssertEqual(modules["status"] as? String, "pass", "\(modules)")
    XCTAssertEqual(modules["summary"] as? String, "vfio-pci loadable; iavf loaded")
  }

  func testAKernelReleaseThatIsAPathIsAFindingNotAPath() throws {
    let before = try snapshot(sentinel)
    try "../../..\n".write(toFile: root + "/proc/sys/kernel/osrelease", atomically: false, encoding: .utf8)
    let check = try run(["check", "--root", root, "-o", "json"]).run
    let checks = try XCTUnwrap(try check.json()["checks"] as? [[String: Any]])
    let modules = try XCTUnwrap(checks.first { ($0["id"] as? String) == "modules.vfio" })
    XCTAssertEqual(modules["status"] as? String, "skip")
    XCTAssertEqual(
      modules["summary"] as? String,
      "/proc/sys/kernel/osrelease holds '../../..', expected a kernel release such as 6.1.0-18-amd64")
    XCTAssertEqual(try snapshot(sentinel), before)
  }
}
