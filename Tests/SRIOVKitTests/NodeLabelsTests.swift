import Foundation
import SRIOVFixtures
import SRIOVKit
import XCTest

/// The labels `sriovctl label` computes from an inventory.
final class NodeLabelsTests: XCTestCase {
  private func x710() throws -> Inventory {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("labels-\(UUID().uuidString)")
    addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
    try FixtureHosts.x710(at: directory.path)
    return try Inventory.discover(root: try HostRoot(directory.path), names: false)
  }

  /// A count that is no label value (discovery refuses such sysfs values, but the label code must
  /// not trust that): an error naming the fact, never a trap (found by the corrupted-tree corpus).
  func testAFactThatIsNoLabelValueIsAnErrorNotATrap() throws {
    var inventory = try x710()
    inventory.physicalFunctions[0].totalVFs = -200
    XCTAssertThrowsError(try NodeLabeling.labels(for: inventory, prefix: "sriovctl.io/", extra: [])) { error in
      XCTAssertEqual(
        "\(error)", "the host's sriovctl.io/total-vfs is '-136', which is not a label value; see 'sriovctl list'")
    }
  }

  func testTheFactsOfAnX710() throws {
    let labels = try NodeLabeling.labels(for: try x710(), prefix: "sriovctl.io/", extra: [])
    XCTAssertEqual(
      labels.map { "\($0.0)=\($0.1)" },
      ["sriov=enabled", "sriovctl.io/capable=true", "sriovctl.io/vfs=4", "sriovctl.io/total-vfs=128", "sriovctl.io/nic-vendor=8086"])
  }
}
