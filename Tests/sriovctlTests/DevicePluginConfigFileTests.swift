import Foundation
import SRIOVFixtures
import XCTest

/// `sriovctl device-plugin-config -f`: the device plugin's resources from the node file's policies.
final class DevicePluginConfigFileTests: XCTestCase {
  private func x710(_ node: String) throws -> (root: String, file: String) {
    let directory = try temporaryDirectory(self).path
    try FixtureHosts.x710(at: directory + "/host")
    try node.write(toFile: directory + "/node.yaml", atomically: true, encoding: .utf8)
    return (directory + "/host", directory + "/node.yaml")
  }

  private let node = """
    version: 1
    policies:
      - name: dpdk
        nicSelector: {pfNames: ["ens1f0#0-3"]}
        numVfs: 8
        deviceType: vfio-pci
        resourceName: intel_dpdk
        needVhostNet: true
      - name: kernel
        nicSelector: {pfNames: ["ens1f0#4-7", "ens1f1"]}
        numVfs: 8

    """

  func testResourcesComeFromThePolicies() throws {
    let (root, file) = try x710(node)
    let run = try sriovctl(["device-plugin-config", "-f", file, "--root", root, "--raw"])
    XCTAssertEqual(run.status, 0, run.stderr)
    let resources = try XCTUnwrap(try run.json()["resourceList"] as? [[String: Any]])
    XCTAssertEqual(resources.map { $0["resourceName"] as? String }, ["intel_dpdk", "kernel"])
    let dpdk = try XCTUnwrap(resources[0]["selectors"] as? [String: Any])
    XCTAssertEqual(dpdk["drivers"] as? [String], ["vfio-pci"])
    XCTAssertEqual(dpdk["pfNames"] as? [String], ["ens1f0#0-3"])
    XCTAssertEqual(dpdk["devices"] as? [String], ["154c"])
    XCTAssertEqual(dpdk["needVhostNet"] as? Bool, true)
    let kernel = try XCTUnwrap(resources[1]["selectors"] as? [String: Any])
    XCTAssertEqual(kernel["pfNames"] as? [String], ["ens1f0#4-7", "ens1f1"], "one resource over both PFs")
    XCTAssertEqual(kernel["drivers"] as? [String], ["iavf"])
    XCTAssertNil(kernel["needVhostNet"])
  }

  func testANameTheDevicePluginRefusesIsAnError() throws {
    let (root, file) = try x710(node.replacingOccurrences(of: "name: kernel", with: "name: kernel-pods"))
    assertCleanFailure(
      try sriovctl(["device-plugin-config", "-f", file, "--root", root]), mentioning: ["kernel-pods"])
  }

  func testFileExcludesTheHostSelections() throws {
    let (root, file) = try x710(node)
    for extra in [["--pf", "ens1f0"], ["--group-by", "vendor"], ["--resource-name", "x"]] {
      let run = try sriovctl(["device-plugin-config", "-f", file, "--root", root] + extra)
      XCTAssertEqual(run.status, 64, "\(extra): \(run.stderr)")
    }
  }
}
