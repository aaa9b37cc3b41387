import Foundation
import SRIOVKit
import XCTest

/// When create-vfs takes an interface's name as final: the state udev leaves in sysfs and
/// /run/udev while it renames VFs (the kernel's eth1 becoming enp1s0v1), built as a small tree.
/// The real kernel and udev are PersistRebootTests' job.
final class InterfaceReadinessTests: XCTestCase {
  private let pf = PCIAddress("0000:01:00.0")!
  private var directory = ""
  private var root: HostRoot!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("readiness-\(UUID().uuidString)").path
    let devices = directory + "/sys/bus/pci/devices"
    for function in ["0000:01:00.0", "0000:01:10.0", "0000:01:10.2"] {
      try FileManager.default.createDirectory(atPath: "\(devices)/\(function)", withIntermediateDirectories: true)
    }
    try FileManager.default.createDirectory(atPath: directory + "/sys/bus/pci/drivers/igbvf", withIntermediateDirectories: true)
    for (index, vf) in [(0, "0000:01:10.0"), (1, "0000:01:10.2")] {
      try FileManager.default.createSymbolicLink(atPath: "\(devices)/0000:01:00.0/virtfn\(index)", withDestinationPath: "../\(vf)")
      try FileManager.default.createSymbolicLink(atPath: "\(devices)/\(vf)/driver", withDestinationPath: "../../drivers/igbvf")
    }
    try write("/run/udev/control", "")
    try FileManager.default.createDirectory(atPath: directory + "/run/udev/data", withIntermediateDirectories: true)
    // VF 0 is done: renamed, and udev has written its database entry.
    try write("/sys/bus/pci/devices/0000:01:10.0/net/enp1s0v0/ifindex", "5\n")
    try write("/run/udev/data/n5", "I:1\n")
    root = try HostRoot(directory)
  }

  override func tearDown() {
    try? FileManager.default.removeItem(atPath: directory)
  }

  private func write(_ path: String, _ text: String) throws {
    let url = URL(fileURLWithPath: directory + path)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try text.write(to: url, atomically: false, encoding: .utf8)
  }

  private func unready(interfacesExpected: Bool = true) throws -> [String] {
    try VFCreation.unreadyVFs(pf: pf, count: 2, drivers: [0: "igbvf", 1: "igbvf"], interfacesExpected: interfacesExpected, root: root)
  }

  /// VF 1's eth1 was listed, then renamed away before its ifindex was read, and the kernel has
  /// already given the name eth1 to another interface that udev has finished with.
  func testAnInterfaceThatVanishedMidRenameIsNotReady() throws {
    try FileManager.default.createDirectory(
      atPath: directory + "/sys/bus/pci/devices/0000:01:10.2/net/eth1", withIntermediateDirectories: true)
    try write("/sys/class/net/eth1/ifindex", "9\n")
    try write("/run/udev/data/n9", "I:1\n")
    XCTAssertEqual(try unready(), ["VF 1 (0000:01:10.2) has its interface eth1 being renamed by udev"])
    XCTAssertEqual(
      try InterfaceReadiness.of(device: "/sys/bus/pci/devices/0000:01:10.2", root: root), .renaming("eth1"))
    // Gone from /sys/class/net too: still not ready.
    try FileManager.default.removeItem(atPath: directory + "/sys/class/net/eth1")
    XCTAssertEqual(try unready(), ["VF 1 (0000:01:10.2) has its interface eth1 being renamed by udev"])
  }

  func testANameIsFinalOnlyOnceUdevHasWrittenItsDatabaseEntry() throws {
    XCTAssertEqual(try unready(), ["VF 1 (0000:01:10.2) has no network interface yet"])
    try write("/sys/bus/pci/devices/0000:01:10.2/net/enp1s0v1/ifindex", "7\n")
    XCTAssertEqual(try unready(), ["VF 1 (0000:01:10.2) has its interface enp1s0v1 not yet named by udev"])
    XCTAssertEqual(
      try InterfaceReadiness.of(device: "/sys/bus/pci/devices/0000:01:10.2", root: root),
      .pending(name: "enp1s0v1", ifindex: 7))
    try write("/run/udev/data/n7", "I:1\n")
    XCTAssertEqual(try unready(), [])
    XCTAssertEqual(
      try InterfaceReadiness.of(device: "/sys/bus/pci/devices/0000:01:10.2", root: root).ready?.name, "enp1s0v1")
  }

  /// Where no udevd runs (a busybox initramfs), the kernel's name is final.
  func testWithoutUdevTheKernelNameIsFinal() throws {
    try write("/sys/bus/pci/devices/0000:01:10.2/net/eth1/ifindex", "7\n")
    XCTAssertEqual(try unready().count, 1)
    try FileManager.default.removeItem(atPath: directory + "/run/udev/control")
    XCTAssertFalse(InterfaceReadiness.udevRunning(root))
    XCTAssertEqual(try unready(), [])
  }

  /// Once the count is settled, a VF without an interface (moved to a container's namespace) is
  /// not waited for; one whose name is still changing is.
  func testAfterwardsOnlyNamesInFluxAreWaitedFor() throws {
    XCTAssertEqual(try unready(interfacesExpected: false), [])
    try write("/sys/bus/pci/devices/0000:01:10.2/net/eth1/ifindex", "7\n")
    XCTAssertEqual(try unready(interfacesExpected: false).count, 1)
  }

  func testAVFBoundElsewhereOrMissingIsNamed() throws {
    XCTAssertEqual(
      try VFCreation.unreadyVFs(pf: pf, count: 3, drivers: [0: "vfio-pci", 1: "vfio-pci", 2: "vfio-pci"], interfacesExpected: true, root: root),
      [
        "VF 0 (0000:01:10.0) is not bound to vfio-pci", "VF 1 (0000:01:10.2) is not bound to vfio-pci",
        "VF 2 was not created",
      ])
  }

  func testAnImpossibleIfindexIsAnError() throws {
    for value in ["0", "-3", "4294967296"] {
      try write("/sys/bus/pci/devices/0000:01:10.2/net/eth1/ifindex", value + "\n")
      XCTAssertThrowsError(try InterfaceReadiness.of(device: "/sys/bus/pci/devices/0000:01:10.2", root: root), value) {
        XCTAssertTrue("\($0)".contains("ifindex"), "\($0)")
      }
    }
  }
}
