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
    // A directory where a file should be is an I/O error, not an absent file.
    XCTAssertThrowsError(try root.readAttribute("/sys/devices/x")) { error in
      XCTAssertEqual("\(error)", "cannot read /sys/devices/x: Is a directory")
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
}
