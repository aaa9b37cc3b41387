import Foundation
import SRIOVKit
import XCTest

final class HostRootTests: XCTestCase {
  private var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "hostroot-\(UUID().uuidString)")
    try FileManager.default.createDirectory(
      at: directory.appendingPathComponent("sys/devices/x"), withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(at: directory)
  }

  private func write(_ hostPath: String, _ text: String) throws {
    try text.write(toFile: directory.path + hostPath, atomically: false, encoding: .utf8)
  }

  func testRejectsRootsThatCannotBeUsed() throws {
    XCTAssertThrowsError(try HostRoot("")) { error in
      XCTAssertEqual("\(error)", "cannot use '' as the host root: the path is empty")
    }
    XCTAssertThrowsError(try HostRoot(directory.path + "/missing")) { error in
      XCTAssertEqual(
        "\(error)", "cannot use '\(directory.path)/missing' as the host root: no such directory")
    }
    try write("/file", "x")
    XCTAssertThrowsError(try HostRoot(directory.path + "/file")) { error in
      XCTAssertTrue("\(error)".hasSuffix("not a directory"), "\(error)")
    }
  }

  func testResolvesBeneathTheRootAndSlashIsLive() throws {
    let root = try HostRoot(directory.path + "/sys/..")
    XCTAssertEqual(root.resolve("/sys/class/net"), directory.path + "/sys/class/net")
    XCTAssertTrue(try HostRoot("/").isLive)
    XCTAssertEqual(HostRoot.live.resolve("/proc/cmdline"), "/proc/cmdline")
  }

  func testReadsAttributesLikeTheKernelWritesThem() throws {
    let root = try HostRoot(directory.path)
    try write("/sys/devices/x/vendor", "0x8086\n")
    try write("/sys/devices/x/numvfs", "7\n")
    try write("/sys/devices/x/bad", "seven\n")
    XCTAssertEqual(try root.readAttribute("/sys/devices/x/vendor"), "0x8086")
    XCTAssertEqual(try root.readInteger("/sys/devices/x/vendor"), 0x8086)
    XCTAssertEqual(try root.readInteger("/sys/devices/x/numvfs"), 7)
    XCTAssertNil(try root.readInteger("/sys/devices/x/absent"))
    XCTAssertThrowsError(try root.readInteger("/sys/devices/x/bad")) { error in
      XCTAssertEqual("\(error)", "/sys/devices/x/bad holds 'seven', expected an integer")
    }
    // A directory where a file should be is an error, not an absent file.
    XCTAssertThrowsError(try root.readAttribute("/sys/devices/x")) { error in
      XCTAssertEqual(
        "\(error)", "/sys/devices/x is a directory, not a regular file; sriovctl reads and replaces only regular files there")
    }
  }

  func testListsAndFollowsLinksInsideTheRoot() throws {
    let root = try HostRoot(directory.path)
    try FileManager.default.createSymbolicLink(
      atPath: directory.path + "/sys/devices/x/driver", withDestinationPath: "../../bus/pci/drivers/igb")
    try write("/sys/devices/x/.hidden", "")
    XCTAssertEqual(try root.list("/sys/devices/x"), ["driver"])
    XCTAssertEqual(try root.list("/sys/nothing"), [])
    XCTAssertEqual(try root.linkName("/sys/devices/x/driver"), "igb")
    XCTAssertNil(try root.readLink("/sys/devices/x/none"))
    XCTAssertFalse(root.exists("/sys/devices/x/driver"), "dangling inside the root")
  }

  // MARK: The root is a root

  /// A directory beside the root, and what it holds, to prove nothing outside the root is read.
  private func sentinel(_ name: String, holding text: String) throws -> String {
    let outside = directory.path + "-outside"
    try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
    addTeardownBlock { try? FileManager.default.removeItem(atPath: outside) }
    try text.write(toFile: outside + "/" + name, atomically: false, encoding: .utf8)
    return outside + "/" + name
  }

  func testAbsoluteAndRelativeLinksResolveInsideTheRoot() throws {
    let root = try HostRoot(directory.path)
    let outside = try sentinel("total", holding: "7\n")
    let x = directory.path + "/sys/devices/x"
    try FileManager.default.createSymbolicLink(atPath: x + "/absolute", withDestinationPath: outside)
    try FileManager.default.createSymbolicLink(
      atPath: x + "/relative", withDestinationPath: String(repeating: "../", count: 12) + outside.dropFirst())
    try FileManager.default.createSymbolicLink(atPath: x + "/proc", withDestinationPath: "/proc/self/oom_score_adj")
    // Nothing at the target inside the root: absent, though the same path outside holds 7.
    for name in ["absolute", "relative", "proc"] {
      XCTAssertNil(try root.readInteger("/sys/devices/x/\(name)"), name)
      XCTAssertFalse(root.exists("/sys/devices/x/\(name)"), name)
    }
    // The same path inside the root is what the links mean.
    try FileManager.default.createDirectory(
      atPath: directory.path + (outside as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try write(outside, "3\n")
    XCTAssertEqual(try root.readInteger("/sys/devices/x/absolute"), 3)
    XCTAssertEqual(try root.readInteger("/sys/devices/x/relative"), 3)
    XCTAssertEqual(try root.readLink("/sys/devices/x/absolute"), outside)
    // `..` in a host path stops at the root, too.
    XCTAssertEqual(try root.readInteger("/../../../..\(outside)"), 3)
  }

  func testMagicLinksAreNotFollowedEvenOnTheLiveRoot() throws {
    // /proc/self/exe is a procfs magic link (proc(5)): openat2 RESOLVE_NO_MAGICLINKS refuses it.
    XCTAssertThrowsError(try HostRoot.live.readBytes("/proc/self/exe", limit: 4)) { error in
      XCTAssertEqual(error as? HostError, .unreadable("/proc/self/exe", errno: ELOOP))
    }
    XCTAssertFalse(HostRoot.live.exists("/proc/self/cwd"))
    XCTAssertTrue(HostRoot.live.isDirectory("/proc/self"), "an ordinary link is followed")
  }

  func testLoopingLinksAreAnErrorOrAbsentNeverAHang() throws {
    let root = try HostRoot(directory.path)
    try FileManager.default.createSymbolicLink(atPath: directory.path + "/sys/devices/x/a", withDestinationPath: "b")
    try FileManager.default.createSymbolicLink(atPath: directory.path + "/sys/devices/x/b", withDestinationPath: "a")
    XCTAssertThrowsError(try root.readAttribute("/sys/devices/x/a")) { error in
      XCTAssertEqual(error as? HostError, .unreadable("/sys/devices/x/a", errno: ELOOP))
    }
    XCTAssertFalse(root.exists("/sys/devices/x/a"))
    XCTAssertFalse(root.isDirectory("/sys/devices/x/a"))
    XCTAssertEqual(try root.readLink("/sys/devices/x/a"), "b")
  }

  func testOnlyRegularFilesAreReadOrReplaced() throws {
    let root = try HostRoot(directory.path)
    let x = directory.path + "/sys/devices/x"
    XCTAssertEqual(mkfifo(x + "/fifo", 0o644), 0)
    // 1:3 is /dev/null (Documentation/admin-guide/devices.txt); old-style encoding major << 8 | minor.
    XCTAssertEqual(mknod(x + "/null", S_IFCHR | 0o644, dev_t(0x0103)), 0)
    // A reader, so that even code that opened the FIFO would not block (the test must fail, not hang).
    let reader = open(x + "/fifo", O_RDONLY | O_NONBLOCK)
    XCTAssertGreaterThanOrEqual(reader, 0)
    defer { close(reader) }
    // Never opened: a FIFO would block a writer, and a device could do anything on open.
    XCTAssertThrowsError(try root.writeAttribute("/sys/devices/x/fifo", "1")) { error in
      XCTAssertEqual(error as? HostError, .notARegularFile("/sys/devices/x/fifo", kind: "a FIFO"))
    }
    XCTAssertThrowsError(try root.readAttribute("/sys/devices/x/null")) { error in
      XCTAssertEqual(error as? HostError, .notARegularFile("/sys/devices/x/null", kind: "a character device"))
    }
    XCTAssertThrowsError(try root.writeFileAtomically("/sys/devices/x/fifo", "x")) { error in
      XCTAssertEqual(error as? HostError, .notARegularFile("/sys/devices/x/fifo", kind: "a FIFO"))
    }
    XCTAssertThrowsError(try root.writeFileAtomically("/sys/devices/x", "x")) { error in
      XCTAssertEqual(error as? HostError, .notARegularFile("/sys/devices/x", kind: "a directory"))
    }
    XCTAssertThrowsError(try root.removeFile("/sys/devices")) { error in
      XCTAssertEqual(error as? HostError, .notARegularFile("/sys/devices", kind: "a directory"))
    }
    var info = stat()
    XCTAssertEqual(lstat(x + "/fifo", &info), 0)
    XCTAssertEqual(info.st_mode & S_IFMT, S_IFIFO, "the FIFO is still there")
  }

  func testTheKernelLogIsReadOnlyFromItsOwnDevice() throws {
    let root = try HostRoot(directory.path)
    try FileManager.default.createDirectory(atPath: directory.path + "/dev", withIntermediateDirectories: true)
    // /dev/null (1:3) where /dev/kmsg (1:11) should be.
    XCTAssertEqual(mknod(directory.path + "/dev/kmsg", S_IFCHR | 0o644, dev_t(0x0103)), 0)
    XCTAssertThrowsError(try KernelLog.read(root: root)) { error in
      XCTAssertEqual(error as? HostError, .notARegularFile("/dev/kmsg", kind: "a character device"))
    }
    unlink(directory.path + "/dev/kmsg")
    try write("/dev/kmsg", "6,0,1000,-;hello\n")
    XCTAssertEqual(try KernelLog.read(root: root).messages.map(\.text), ["hello"])
  }

  func testDirectoriesAndFilesGetTheirModeWhateverTheUmask() throws {
    let root = try HostRoot(directory.path)
    let previous = umask(0o077)
    defer { umask(previous) }
    XCTAssertTrue(try root.writeFileAtomically("/etc/a/b/file", "x\n"))
    XCTAssertTrue(try root.makeLink("/etc/c/link", to: "/etc/a/b/file"))
    for (path, mode) in [("/etc/a", 0o755), ("/etc/a/b", 0o755), ("/etc/a/b/file", 0o644), ("/etc/c", 0o755)] {
      var info = stat()
      XCTAssertEqual(stat(directory.path + path, &info), 0, path)
      XCTAssertEqual(Int(info.st_mode & 0o7777), mode, path)
    }
    XCTAssertFalse(try root.writeFileAtomically("/etc/a/b/file", "x\n"), "unchanged")
    XCTAssertEqual(try root.list("/etc/a/b"), ["file"], "no temporary file left")
  }

  func testWritesFollowDirectoryLinksInsideTheRootOnly() throws {
    let root = try HostRoot(directory.path)
    let outside = (try sentinel("keep", holding: "keep") as NSString).deletingLastPathComponent
    try FileManager.default.createDirectory(atPath: directory.path + "/etc", withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(atPath: directory.path + "/etc/rules.d", withDestinationPath: outside)
    // The link's target does not exist inside the root: an error, and nothing made anywhere.
    XCTAssertThrowsError(try root.writeFileAtomically("/etc/rules.d/70.rules", "x")) { error in
      XCTAssertEqual(error as? HostError, .danglingLink("/etc/rules.d"))
    }
    XCTAssertThrowsError(try root.makeLink("/etc/rules.d/wants/unit", to: "/etc/unit"))
    try FileManager.default.createDirectory(atPath: directory.path + outside, withIntermediateDirectories: true)
    XCTAssertTrue(try root.writeFileAtomically("/etc/rules.d/70.rules", "x"))
    XCTAssertTrue(try root.makeLink("/etc/rules.d/wants/unit", to: "/etc/unit"))
    XCTAssertEqual(try String(contentsOfFile: directory.path + outside + "/70.rules", encoding: .utf8), "x")
    XCTAssertTrue(try root.removeFile("/etc/rules.d/70.rules"))
    XCTAssertTrue(try root.removeFile("/etc/rules.d/wants/unit"))
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outside), ["keep"])
  }

  func testValuesFromTheTreeAreNeverUsedAsPaths() throws {
    XCTAssertTrue(HostRoot.isPathComponent("6.1.0-31-amd64"))
    for bad in ["", ".", "..", "../../..", "a/b", "a\0b", "a b", "a\nb", String(repeating: "x", count: 256), "é"] {
      XCTAssertFalse(HostRoot.isPathComponent(bad), bad.debugDescription)
    }
    try FileManager.default.createDirectory(
      atPath: directory.path + "/proc/sys/kernel", withIntermediateDirectories: true)
    try FileManager.default.createDirectory(atPath: directory.path + "/lib/modules", withIntermediateDirectories: true)
    let root = try HostRoot(directory.path)
    for release in ["../../..", "6.1\u{1b}[2J", "/lib/modules"] {
      try write("/proc/sys/kernel/osrelease", release + "\n")
      XCTAssertThrowsError(try KernelModules(root: root), release.debugDescription) { error in
        XCTAssertTrue("\(error)".hasPrefix("/proc/sys/kernel/osrelease holds '"), "\(error)")
        XCTAssertFalse("\(error)".contains("\u{1b}"), "printable")
      }
    }
  }

  func testADeadlineFromAnyNumberOfSecondsCannotTrap() {
    // Converting these to nanoseconds unchecked traps (UInt64 of infinity, NaN or > 1.8e10 s).
    XCTAssertFalse(Deadline(secondsFromNow: .infinity).hasPassed)
    XCTAssertFalse(Deadline(secondsFromNow: 1e300).hasPassed)
    XCTAssertTrue(Deadline(secondsFromNow: .nan).hasPassed)
    XCTAssertTrue(Deadline(secondsFromNow: -1).hasPassed)
  }
}
