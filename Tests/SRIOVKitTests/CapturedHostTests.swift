import Foundation
import SRIOVKit
import XCTest

/// A host captured from a real kernel (Tests/vm/capture-fixture.sh: QEMU's igb NIC, 3 VFs, under
/// Debian's kernel): reading the capture must give what sriovctl saw on the live kernel.
final class CapturedHostTests: XCTestCase {
  private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fixtures/hosts")

  private func extract(_ name: String) throws -> HostRoot {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "captured-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
    let tar = Process()
    tar.executableURL = URL(fileURLWithPath: "/bin/tar")
    tar.arguments = ["-xzf", fixtures.appendingPathComponent("\(name).tar.gz").path, "-C", directory.path]
    try tar.run()
    tar.waitUntilExit()
    XCTAssertEqual(tar.terminationStatus, 0)
    return try HostRoot(directory.path)
  }

  func testTheCapturedIgbHostReadsAsTheLiveKernelDid() throws {
    let root = try extract("qemu-igb")
    let pfs = try Inventory.discover(root: root).physicalFunctions
    XCTAssertEqual(pfs.count, 1)
    let pf = try XCTUnwrap(pfs.first)
    XCTAssertEqual(pf.vendorID.pciID + ":" + pf.deviceID.pciID, "8086:10c9")
    XCTAssertEqual(pf.driver, "igb")
    XCTAssertEqual(pf.totalVFs, 7, "igb caps the device's 8 at 7")
    XCTAssertEqual(pf.deviceTotalVFs, 8)
    XCTAssertEqual(pf.numVFs, 3)
    XCTAssertEqual(pf.vfDeviceID, 0x10ca)
    XCTAssertEqual(pf.vfs.map(\.index), [0, 1, 2])
    XCTAssertEqual(pf.vfs.map(\.driver), ["igbvf", "igbvf", "igbvf"])
    XCTAssertTrue(pf.vfs.allSatisfy { $0.interface != nil }, "each VF has its netdev")

    // What sriovctl printed inside the guest, on the live kernel.
    let live = try Data(contentsOf: fixtures.appendingPathComponent("qemu-igb.list.json"))
    let captured = JSON.object([("pfs", .array(pfs.map(\.json)))]).rendered()
    XCTAssertEqual(
      try JSONSerialization.jsonObject(with: Data(captured.utf8)) as? NSDictionary,
      try JSONSerialization.jsonObject(with: live) as? NSDictionary)
  }

  /// On the real kernel's layout (physfn and its net/ directory, driver links): the device
  /// plugin's devices are the 3 VFs, what device-plugin-config writes selects exactly them, and
  /// a config naming the wrong VF driver is explained with igbvf.
  func testTheDevicePluginRuleOnTheCapturedIgbHost() throws {
    let root = try extract("qemu-igb")
    let inventory = try Inventory.discover(root: root)
    let candidates = DevicePluginConfig.candidates(inventory, root: root)
    XCTAssertEqual(
      candidates.map(\.label),
      ["VF 0 of eth0 (0000:01:10.0)", "VF 1 of eth0 (0000:01:10.2)", "VF 2 of eth0 (0000:01:10.4)"])
    XCTAssertEqual(Set(candidates.map { "\($0.vendor):\($0.device) \($0.driver ?? "-")" }), ["8086:10ca igbvf"])

    let generated = try DevicePluginConfig.build(
      inventory: inventory, root: root, selections: [], grouping: .pf, resourceName: nil, resourcePrefix: "intel.com")
    let read = try DevicePluginConfig.read(configJSON: generated.json.rendered())
    let assigned = DevicePluginConfig.assign(read, candidates: candidates)
    XCTAssertEqual(assigned.map(\.fullName), ["intel.com/sriov_eth0"])
    XCTAssertEqual(assigned.first?.devices, candidates)

    let wrong = try DevicePluginConfig.read(configJSON: """
      {"resourceList": [{"resourceName": "vfs", "selectors": {"vendors": ["8086"], "devices": ["10ca"], "drivers": ["ixgbevf"]}}]}
      """)
    let none = DevicePluginConfig.assign(wrong, candidates: candidates)
    XCTAssertEqual(
      DevicePluginConfig.whyNothing(none[0], candidates),
      ["drivers [ixgbevf]: none of the 3 devices match; they have driver igbvf (3)"])
  }
}
