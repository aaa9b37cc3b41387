import Foundation
import SRIOVFixtures
import SRIOVKit
import XCTest

/// The device plugin's selector rule, shared by `device-plugin-config` (which writes resources)
/// and `check --kubeconfig` (which reads them back): what one writes the other must read as
/// selecting exactly the VFs it was written for.
final class DevicePluginSelectorsTests: XCTestCase {
  /// For every fixture host, grouping and a split by VF ranges: each generated resource, rendered
  /// to config.json and read back, gets exactly the VFs it was generated for, and no VF is in two.
  func testWhatTheGeneratorWritesTheCheckerReadsAsItsVFs() throws {
    let hosts: [(String, FixtureHost)] = [
      ("x710", try FixtureHosts.x710()), ("large", try FixtureHosts.large(pfs: 3, vfsPerPF: 6)),
    ]
    for (name, host) in hosts {
      let root = try fixtureRoot(host)
      let inventory = try Inventory.discover(root: root)
      let candidates = DevicePluginConfig.candidates(inventory, root: root)
      let pfWithVFs = try XCTUnwrap(inventory.physicalFunctions.first { !$0.vfs.isEmpty }, name)
      let pfName = try XCTUnwrap(pfWithVFs.interfaces.first)
      let requests: [(String, [DevicePluginConfig.PFSelection], DevicePluginConfig.Grouping)] = [
        ("every PF", [], .pf), ("by vendor", [], .vendor),
        ("split", [try XCTUnwrap(.init("\(pfName)#0-1")), try XCTUnwrap(.init("\(pfName)#2,3"))], .pf),
      ]
      for (what, selections, grouping) in requests {
        let config = try DevicePluginConfig.build(
          inventory: inventory, root: root, selections: selections, grouping: grouping, resourceName: nil,
          resourcePrefix: "example.com")
        let read = try DevicePluginConfig.read(configJSON: config.json.rendered())
        XCTAssertEqual(read.map(\.resourceName), config.resources.map(\.resourceName), "\(name), \(what)")
        XCTAssertEqual(read.map(\.selectors), config.resources.map { [$0.selectors] }, "\(name), \(what): read back as written")
        let assignments = DevicePluginConfig.assign(read, candidates: candidates)
        for (resource, assignment) in zip(config.resources, assignments) {
          // What the resource was generated for, worked out from the request, not the rule.
          var expected: [PCIAddress] = []
          for entry in resource.pfNames {
            let selection = try XCTUnwrap(DevicePluginConfig.PFSelection(entry))
            let name = String(entry.split(separator: "#")[0])
            let pf = try XCTUnwrap(inventory.physicalFunctions.first { $0.interfaces.first == name })
            expected += pf.vfs.filter { vf in selection.ranges.isEmpty || selection.ranges.contains { $0.contains(vf.index) } }
              .map(\.address)
          }
          XCTAssertEqual(assignment.devices.map(\.address), expected.sorted(), "\(name), \(what), \(resource.resourceName)")
          XCTAssertEqual(assignment.fullName, "example.com/\(resource.resourceName)")
          XCTAssertTrue(assignment.takenEarlier.isEmpty, "\(name), \(what): no VF in two resources")
        }
        XCTAssertGreaterThan(assignments.reduce(0) { $0 + $1.devices.count }, 0, "\(name), \(what): something selected")
      }
    }
  }

  func testPFNameRangesAsThePluginReadsThem() throws {
    let root = try fixtureRoot(try FixtureHosts.x710())
    let candidates = DevicePluginConfig.candidates(try Inventory.discover(root: root), root: root)
    func indexes(_ item: String) -> [Int] {
      DevicePluginConfig.selected(by: .init(pfNames: [item]), from: candidates).compactMap(\.vfIndex)
    }
    XCTAssertEqual(indexes("ens1f0"), [0, 1, 2, 3])
    XCTAssertEqual(indexes("ENS1F0#1-2"), [1, 2], "names compared without case, as the plugin's EqualFold")
    XCTAssertEqual(indexes("ens1f0#0,3"), [0, 3])
    XCTAssertEqual(indexes("ens1f0#3-1"), [], "a reversed range takes nothing")
    XCTAssertEqual(indexes("ens1f0#x"), [], "a malformed range takes nothing")
    XCTAssertEqual(indexes("ens1f0#1#2"), [])
    XCTAssertEqual(indexes("ens1f0#99999999999999999999"), [], "out of range, never a trap")
    XCTAssertEqual(indexes("ens1f1"), [], "a PF without VFs: its VFs are none, and PFs have no pfName")
    let byAddress = DevicePluginConfig.selected(by: .init(rootDevices: ["0000:3b:00.0#2-3"]), from: candidates)
    XCTAssertEqual(byAddress.compactMap(\.vfIndex), [2, 3])
  }

  /// The plugin's devices: VFs, and functions without VFs enabled (ens1f1, the i210), less any
  /// carrying a default route (IPv4 or IPv6).
  func testCandidatesLeaveOutPFsWithVFsAndDefaultRoutes() throws {
    let plain = try fixtureRoot(try FixtureHosts.x710())
    let all = DevicePluginConfig.candidates(try Inventory.discover(root: plain), root: plain)
    XCTAssertEqual(
      all.map(\.address.description),
      ["0000:04:00.0", "0000:3b:00.1", "0000:3b:02.0", "0000:3b:02.1", "0000:3b:02.2", "0000:3b:02.3"])
    XCTAssertEqual(all.first?.device, "1533", "the i210's own device ID")
    XCTAssertEqual(all.first { $0.address.description == "0000:3b:00.1" }?.device, "1572")
    XCTAssertEqual(all.filter(\.isVF).map(\.device), ["154c", "154c", "154c", "154c"])

    let routed = try fixtureRoot(try FixtureHosts.x710()) { directory in
      try FileManager.default.createDirectory(atPath: directory + "/proc/net", withIntermediateDirectories: true)
      try """
        Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
        eno1\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
        eno1\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0
        ens1f0\t0002A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0

        """.write(toFile: directory + "/proc/net/route", atomically: false, encoding: .utf8)
      try """
        00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003   ens1f1
        00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo
        fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001 ens1f0v0

        """.write(toFile: directory + "/proc/net/ipv6_route", atomically: false, encoding: .utf8)
    }
    let candidates = DevicePluginConfig.candidates(try Inventory.discover(root: routed), root: routed)
    XCTAssertEqual(
      candidates.map(\.address.description), ["0000:3b:02.0", "0000:3b:02.1", "0000:3b:02.2", "0000:3b:02.3"],
      "eno1 (IPv4 default) and ens1f1 (IPv6 default) are left out; a VF with a link-local route is not")
  }

  func testAResourceThatSelectsNothingIsExplainedByTheFirstSelectorThatEmptiesIt() throws {
    // VF 1 unbound (autoprobe off, or unbound by hand): the plugin compares "" with drivers.
    let root = try fixtureRoot(try FixtureHosts.x710()) { directory in
      try FileManager.default.removeItem(atPath: directory + "/sys/bus/pci/devices/0000:3b:02.1/driver")
    }
    let candidates = DevicePluginConfig.candidates(try Inventory.discover(root: root), root: root)
    let resources = try DevicePluginConfig.read(configJSON: """
      {"resourceList": [
        {"resourceName": "dpdk", "selectors": {"vendors": ["8086"], "devices": ["154c"], "drivers": ["vfio-pci"]}},
        {"resourceName": "mlx", "selectors": [{"vendors": ["15b3"]}, {"devices": ["1018"]}]},
        {"resourceName": "both", "selectors": [{"vendors": ["15b3"]}, {"pfNames": ["ens1f0#3"], "linkTypes": ["ether"], "isRdma": false}]}
      ]}
      """)
    XCTAssertEqual(resources[1].selectors.count, 2, "a selectors list is several sets")
    XCTAssertEqual(resources[2].selectors[1].unevaluated, ["linkTypes"], "named, not evaluated; false is absent")
    let assignments = DevicePluginConfig.assign(resources, candidates: candidates)
    XCTAssertEqual(assignments.map(\.devices.count), [0, 0, 1])
    XCTAssertTrue(DevicePluginConfig.targets(resources[0], candidates))
    XCTAssertFalse(DevicePluginConfig.targets(resources[1], candidates), "Mellanox hardware is not here")
    XCTAssertEqual(
      DevicePluginConfig.whyNothing(assignments[0], candidates),
      ["drivers [vfio-pci]: none of the 4 devices selected so far match; they have driver iavf (3), none bound (1)"])

    // Field by field: each selector with how many devices pass it, up to the one that leaves none.
    XCTAssertEqual(
      DevicePluginConfig.fieldByField(resources[0], candidates),
      [
        "vendors [8086]: 6 of 6 pass", "devices [154c]: 4 of 6 pass",
        "drivers [vfio-pci]: 0 of 4 pass; they have driver iavf (3), none bound (1)",
      ])
    XCTAssertEqual(
      DevicePluginConfig.fieldByField(resources[1], candidates),
      [
        "selectors[0] vendors [15b3]: 0 of 6 pass; they have vendor 8086 (6)",
        "selectors[1] devices [1018]: 0 of 6 pass; they have device 1533 (1), 154c (4), 1572 (1)",
      ])
    let unreached = try DevicePluginConfig.read(configJSON: """
      {"resourceList": [{"resourceName": "x", "selectors": {"vendors": ["15b3"], "drivers": ["mlx5_core"], "isRdma": true}}]}
      """)
    XCTAssertEqual(
      DevicePluginConfig.fieldByField(unreached[0], candidates),
      ["vendors [15b3]: 0 of 6 pass; they have vendor 8086 (6)", "drivers [mlx5_core]: not reached", "isRdma: not evaluated"])
  }

  func testConfigsThePluginRefusesOrSkips() throws {
    XCTAssertThrowsError(try DevicePluginConfig.read(configJSON: "[]")) {
      XCTAssertEqual("\($0)", "config.json is not a device plugin configuration: it is not a JSON object")
    }
    XCTAssertThrowsError(try DevicePluginConfig.read(configJSON: "{\"resourceList\": [{\"resourceName\": 5}]}")) {
      XCTAssertEqual("\($0)", "config.json is not a device plugin configuration: resourceList[0].resourceName is not a string")
    }
    XCTAssertThrowsError(try DevicePluginConfig.read(configJSON: "{\"resourceList\": [{\"resourceName\": \"a\", \"deviceType\": \"gpu\"}]}")) {
      XCTAssertEqual(
        "\($0)", "config.json is not a device plugin configuration: resourceList[0].deviceType 'gpu' is not one the plugin knows")
    }
    // The same name under different prefixes is two resources.
    let two = try DevicePluginConfig.read(configJSON: """
      {"resourceList": [{"resourceName": "a", "selectors": {}}, {"resourceName": "a", "resourcePrefix": "x.io", "selectors": []},
        {"resourceName": "b"}, {"resourceName": "c", "selectors": {"needVhostNet": "yes"}}]}
      """)
    XCTAssertEqual(two.map { $0.fullName(defaultPrefix: "intel.com") }, ["intel.com/a", "x.io/a", "intel.com/b", "intel.com/c"])
    XCTAssertEqual(
      two.map(\.skippedBecause),
      [nil, "its selectors are neither an object nor a non-empty list of objects", "it has no selectors",
       "selectors.needVhostNet is not true or false"])
  }
}
