import Foundation
import SRIOVFixtures
import SRIOVKit
import XCTest

/// Discovery on fixture hosts: what libpci and sysfs say, turned into PFs and VFs.
final class InventoryTests: XCTestCase {
  private func host(_ build: (String) throws -> Void) throws -> HostRoot {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "inventory-\(UUID().uuidString)")
    addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
    try build(directory.path)
    return try HostRoot(directory.path)
  }

  func testX710ListsBothPortsAndOnlyNetworkPFs() throws {
    let root = try host { try FixtureHosts.x710(at: $0) }
    let inventory = try Inventory.discover(root: root)
    XCTAssertEqual(
      inventory.physicalFunctions.map(\.address.description), ["0000:3b:00.0", "0000:3b:00.1"],
      "the SR-IOV NVMe and the I210 are not network PFs")
    let port0 = inventory.physicalFunctions[0]
    XCTAssertEqual(port0.interfaces, ["ens1f0"])
    XCTAssertEqual(port0.vendorID, 0x8086)
    XCTAssertEqual(port0.deviceID, 0x1572)
    XCTAssertEqual(port0.vendorName, "Intel Corporation")
    XCTAssertEqual(port0.deviceName, "Ethernet Controller X710 for 10GbE SFP+")
    XCTAssertEqual(port0.driver, "i40e")
    XCTAssertEqual(port0.numaNode, 0)
    XCTAssertEqual(port0.totalVFs, 64)
    XCTAssertEqual(port0.deviceTotalVFs, 64)
    XCTAssertEqual(port0.numVFs, 4)
    XCTAssertEqual(port0.vfDeviceID, 0x154c)
    XCTAssertEqual(port0.driversAutoprobe, true)
    XCTAssertNotNil(port0.iommuGroup)
    XCTAssertEqual(port0.vfs.map(\.index), [0, 1, 2, 3])
    XCTAssertEqual(
      port0.vfs.map(\.address.description),
      ["0000:3b:02.0", "0000:3b:02.1", "0000:3b:02.2", "0000:3b:02.3"])
    XCTAssertEqual(port0.vfs.map(\.interface), ["ens1f0v0", "ens1f0v1", "ens1f0v2", "ens1f0v3"])
    XCTAssertEqual(port0.vfs.map(\.driver), ["iavf", "iavf", "iavf", "iavf"])

    let port1 = inventory.physicalFunctions[1]
    XCTAssertEqual(port1.interfaces, ["ens1f1"])
    XCTAssertEqual(port1.numVFs, 0)
    XCTAssertEqual(port1.vfs, [])
    XCTAssertEqual(port1.vfDeviceID, 0x154c, "known from the kernel before any VF exists")

    XCTAssertEqual(inventory.otherNetworkFunctions.map(\.interfaces), [["eno1"]])
  }

  func testConnectX5WithSRIOVOffInFirmwareHasATotalOfZero() throws {
    let root = try host { try FixtureHosts.connectX5SRIOVDisabled(at: $0) }
    let pfs = try Inventory.discover(root: root).physicalFunctions
    XCTAssertEqual(pfs.count, 1)
    let pf = try XCTUnwrap(pfs.first)
    XCTAssertEqual(pf.address.description, "0000:af:00.0")
    XCTAssertEqual(pf.vendorID.pciID + ":" + pf.deviceID.pciID, "15b3:1017")
    XCTAssertEqual(pf.driver, "mlx5_core")
    XCTAssertEqual(pf.numaNode, 1)
    XCTAssertEqual(pf.totalVFs, 0)
    XCTAssertEqual(pf.deviceTotalVFs, 0)
    XCTAssertEqual(pf.numVFs, 0)
    XCTAssertEqual(pf.vfDeviceID, 0x1018, "from config space: the kernel has no sriov_* files")
    XCTAssertNil(pf.driversAutoprobe)
  }

  func testAHostWithoutSRIOVHasNoPFs() throws {
    let root = try host { try FixtureHosts.noSRIOV(at: $0) }
    let inventory = try Inventory.discover(root: root)
    XCTAssertEqual(inventory.physicalFunctions, [])
    XCTAssertEqual(inventory.otherNetworkFunctions.count, 2)
  }

  func testSelectorsNameInterfacesOrAddressesOnce() throws {
    let root = try host { try FixtureHosts.x710(at: $0) }
    let inventory = try Inventory.discover(root: root)
    let chosen = try inventory.select(
      [PFSelector("ens1f1")!, PFSelector("3b:00.1")!, PFSelector("0000:3b:00.0")!], root: root)
    XCTAssertEqual(chosen.map(\.address.description), ["0000:3b:00.0", "0000:3b:00.1"])
    XCTAssertEqual(try inventory.select([], root: root).count, 2)
  }

  func testSelectorsThatMissSayWhatTheyNamedInstead() throws {
    let root = try host { path in
      try FixtureHosts.x710(at: path)
      // A software interface: in /sys/class/net with no PCI device behind it.
      try FileManager.default.createDirectory(
        atPath: path + "/sys/devices/virtual/net/br0", withIntermediateDirectories: true)
      try FileManager.default.createSymbolicLink(
        atPath: path + "/sys/class/net/br0", withDestinationPath: "../../devices/virtual/net/br0")
    }
    let inventory = try Inventory.discover(root: root)
    let candidates = "SR-IOV physical functions here: 0000:3b:00.0 (ens1f0), 0000:3b:00.1 (ens1f1)"
    func message(_ text: String) -> String {
      do {
        _ = try inventory.select([PFSelector(text)!], root: root)
        return "no error"
      } catch {
        return "\(error)"
      }
    }
    XCTAssertEqual(
      message("ens1f0v2"),
      "'ens1f0v2' (0000:3b:02.2) is a virtual function of 0000:3b:00.0, not a physical function; "
        + candidates)
    XCTAssertEqual(
      message("3b:02.0"),
      "0000:3b:02.0 is a virtual function of 0000:3b:00.0, not a physical function; " + candidates)
    XCTAssertEqual(
      message("eno1"),
      "'eno1' (\(inventory.otherNetworkFunctions[0].address), driver igb) has no SR-IOV capability; "
        + candidates)
    XCTAssertEqual(
      message("br0"),
      "'br0' is not a PCI network function (a virtual or software interface); " + candidates)
    XCTAssertEqual(message("ens9"), "no network interface 'ens9' exists; " + candidates)
    XCTAssertEqual(message("0000:99:00.0"), "no PCI function 0000:99:00.0 exists; " + candidates)
    let nvme = try XCTUnwrap(
      inventory.otherFunctions.first { $0.value.hasSuffix("class 0x0108") }?.key,
      "the X710 host has an NVMe drive")
    XCTAssertEqual(
      message(nvme.description),
      "\(nvme) is not a network controller (Non-Volatile memory controller, class 0x0108); "
        + candidates)
  }

  func testMissesOnAHostWithoutPFsSaySo() throws {
    let root = try host { try FixtureHosts.noSRIOV(at: $0) }
    let inventory = try Inventory.discover(root: root)
    XCTAssertThrowsError(try inventory.select([PFSelector("ens1f0")!], root: root)) { error in
      XCTAssertEqual(
        "\(error)",
        "no network interface 'ens1f0' exists; this host has no SR-IOV physical functions")
    }
  }

  /// A function without its identity attributes is a finding about it; only a missing
  /// `/sys/bus/pci/devices` fails discovery.
  func testAFunctionWithoutItsAttributesIsAFindingNotAnExit() throws {
    let root = try host { path in
      try FixtureHosts.x710(at: path)
      let device = path + "/sys/bus/pci/devices/0000:3b:00.1/"
      try FileManager.default.removeItem(atPath: device + "class")
    }
    let inventory = try Inventory.discover(root: root)
    XCTAssertEqual(inventory.physicalFunctions.map(\.address.description), ["0000:3b:00.0"])
    XCTAssertEqual(inventory.malformed.map(\.entry), ["0000:3b:00.1"])
    XCTAssertEqual(inventory.malformed.first?.problems, ["it has no class attribute"])
    let empty = try host { try FileManager.default.createDirectory(atPath: $0, withIntermediateDirectories: true) }
    XCTAssertThrowsError(try Inventory.discover(root: empty)) { error in
      XCTAssertEqual(
        "\(error)",
        "cannot enumerate PCI devices: \(empty.path)/sys/bus/pci/devices does not exist (is sysfs mounted?)")
    }
  }

  /// Entries whose names are no PCI function (libpci's own parsing made `0000:3b:00.9` function
  /// 9, which trapped PCIAddress's precondition) are findings; the real functions are listed.
  func testEntriesThatNameNoFunctionAreFindingsNotCrashes() throws {
    let root = try host { path in
      try FixtureHosts.x710(at: path)
      let devices = path + "/sys/bus/pci/devices/"
      let port1 = try FileManager.default.destinationOfSymbolicLink(atPath: devices + "0000:3b:00.1")
      for name in ["0000:3b:00.9", "0000:3b:ff.0", "0000:3B:00.1", "3b:00.1"] {
        try FileManager.default.createSymbolicLink(atPath: devices + name, withDestinationPath: port1)
      }
    }
    let inventory = try Inventory.discover(root: root)
    XCTAssertEqual(
      inventory.physicalFunctions.map(\.address.description), ["0000:3b:00.0", "0000:3b:00.1"])
    XCTAssertEqual(
      inventory.malformed.map(\.entry), ["0000:3B:00.1", "0000:3b:00.9", "0000:3b:ff.0", "3b:00.1"])
    for bad in inventory.malformed {
      XCTAssertNil(bad.address)
      XCTAssertEqual(bad.problems.count, 1)
      XCTAssertTrue(bad.problems[0].hasPrefix("not a PCI function"), bad.problems[0])
    }
  }

  /// Values the kernel never writes: each is a finding about that PF, with the value, and the other
  /// PF is discovered as usual.
  func testImpossibleKernelValuesAreFindingsAboutThatPF() throws {
    let cases: [(file: String, content: String, problem: String)] = [
      ("sriov_totalvfs", "-5", "sriov_totalvfs holds '-5', expected a number of VFs from 0 to the device's TotalVFs, 64"),
      ("sriov_totalvfs", "garbage", "sriov_totalvfs holds 'garbage', expected a number of VFs"),
      ("sriov_totalvfs", "65", "sriov_totalvfs holds '65', expected a number of VFs from 0 to the device's TotalVFs, 64"),
      ("sriov_totalvfs", "99999999999999999999", "sriov_totalvfs holds '99999999999999999999'"),
      ("sriov_totalvfs", "+4", "sriov_totalvfs holds '+4'"),
      ("sriov_numvfs", "100", "sriov_numvfs holds '100', expected a number of VFs from 0 to sriov_totalvfs, 64"),
      ("sriov_numvfs", "-1", "sriov_numvfs holds '-1'"),
      ("sriov_numvfs", "4\n5", "sriov_numvfs holds '4\\u{a}5'"),
      ("sriov_vf_device", "0x1234567", "sriov_vf_device holds '0x1234567', expected a 16-bit ID"),
      ("sriov_drivers_autoprobe", "2", "sriov_drivers_autoprobe holds '2', expected 0 or 1"),
      ("vendor", "0x10000", "vendor holds '0x10000', expected a 16-bit ID"),
      ("numa_node", "-2", "numa_node holds '-2', expected -1 or a NUMA node"),
    ]
    for (file, content, problem) in cases {
      let root = try host { path in
        try FixtureHosts.x710(at: path)
        let attribute = path + "/sys/bus/pci/devices/0000:3b:00.0/" + file
        try? FileManager.default.removeItem(atPath: attribute)
        try (content + "\n").write(toFile: attribute, atomically: false, encoding: .utf8)
      }
      let inventory = try Inventory.discover(root: root)
      XCTAssertEqual(inventory.physicalFunctions.map(\.address.description), ["0000:3b:00.1"], file)
      XCTAssertEqual(inventory.malformed.map(\.entry), ["0000:3b:00.0"], "\(file) \(content)")
      let problems = inventory.malformed.first?.problems ?? []
      XCTAssertEqual(problems.count, 1, "\(problems)")
      XCTAssertTrue(problems.first?.hasPrefix(problem) == true, "\(problems) for \(file) '\(content)'")
      XCTAssertEqual(inventory.malformed.first?.interfaces, ["ens1f0"])
    }
  }

  /// `virtfnN` links the kernel never makes (drivers/pci/iov.c writes "virtfn%u").
  func testVFLinksTheKernelNeverMakesAreFindings() throws {
    let cases: [(name: String, target: String?, problem: String)] = [
      ("virtfn-1", nil, "virtfn-1 is not a VF link the kernel makes: expected virtfnN, N from 0 to 63"),
      ("virtfn+3", nil, "virtfn+3 is not a VF link"),
      ("virtfn03", nil, "virtfn03 is not a VF link"),
      ("virtfn99999999999999999999", nil, "virtfn99999999999999999999 is not a VF link"),
      ("virtfn64", nil, "virtfn64 is not a VF link the kernel makes: expected virtfnN, N from 0 to 63"),
      ("virtfn5", "../0000:3b:02.9", "virtfn5 points at '../0000:3b:02.9', expected a link to a PCI function"),
    ]
    for (name, target, problem) in cases {
      let root = try host { path in
        try FixtureHosts.x710(at: path)
        let pf = path + "/sys/devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0/"
        let existing = try FileManager.default.destinationOfSymbolicLink(atPath: pf + "virtfn3")
        try FileManager.default.createSymbolicLink(atPath: pf + name, withDestinationPath: target ?? existing)
      }
      let inventory = try Inventory.discover(root: root)
      XCTAssertEqual(inventory.physicalFunctions.map(\.address.description), ["0000:3b:00.1"], name)
      let problems = inventory.malformed.first?.problems ?? []
      XCTAssertEqual(problems.count, 1, "\(problems)")
      XCTAssertTrue(problems.first?.hasPrefix(problem) == true, "\(problems) for \(name)")
      XCTAssertThrowsError(try inventory.select([PFSelector("ens1f0")!], root: root)) { error in
        XCTAssertEqual("\(error)", "'ens1f0' (0000:3b:00.0) cannot be used: \(problems[0])")
      }
    }
  }

  /// Only config bytes really present count: 64 bytes (what a non-root reader gets) means the
  /// kernel's attributes are the truth; a file that ends inside the SR-IOV capability is a finding,
  /// never TotalVFs 65535 read from the missing bytes.
  func testTruncatedConfigSpaceIsNeverReadAsTotalVFs65535() throws {
    func truncated(to length: Int, removeTotal: Bool = false) throws -> HostRoot {
      try host { path in
        try FixtureHosts.x710(at: path)
        let device = path + "/sys/bus/pci/devices/0000:3b:00.0/"
        let config = try Data(contentsOf: URL(fileURLWithPath: device + "config"))
        try config.prefix(length).write(to: URL(fileURLWithPath: device + "config"))
        if removeTotal { try FileManager.default.removeItem(atPath: device + "sriov_totalvfs") }
      }
    }
    let header = try Inventory.discover(root: truncated(to: 64)).physicalFunctions
    XCTAssertEqual(header.map(\.address.description), ["0000:3b:00.0", "0000:3b:00.1"])
    XCTAssertEqual(header[0].totalVFs, 64)
    XCTAssertNil(header[0].deviceTotalVFs)

    let capability = try XCTUnwrap(
      try Inventory.discover(root: truncated(to: 4096)).physicalFunctions.first?.deviceTotalVFs)
    XCTAssertEqual(capability, 64)
    // The x710's SR-IOV capability is at 0x120, TotalVFs at 0x12e, and it ends at 0x160.
    for (length, removeTotal) in [(0x150, false), (0x150, true), (0x12e, false), (0x12e, true)] {
      let inventory = try Inventory.discover(root: truncated(to: length, removeTotal: removeTotal))
      XCTAssertEqual(inventory.physicalFunctions.map(\.address.description), ["0000:3b:00.1"])
      let problems = inventory.malformed.first?.problems ?? []
      XCTAssertEqual(problems.count, 1, "\(problems)")
      XCTAssertTrue(
        problems.first
          == "config ends at byte 0x\(String(length, radix: 16)), inside the SR-IOV capability at 0x120",
        "\(problems)")
      XCTAssertFalse(problems.joined().contains("65535"))
    }
  }

  /// libpci gets each function under a name of its own choosing (dump.c reads at most a 5-digit
  /// domain); the capability is found for any domain PCIAddress allows, and a function without
  /// config bytes has none.
  func testPCIBusFindsCapabilitiesInAnyDomain() throws {
    let root = try host { try FixtureHosts.x710(at: $0) }
    let config = try XCTUnwrap(
      try root.readBytes("/sys/bus/pci/devices/0000:3b:00.0/config", limit: 4096))
    let wide = try XCTUnwrap(PCIAddress("12345678:ff:1f.7"))
    let plain = try XCTUnwrap(PCIAddress("0000:3b:00.0"))
    let empty = try XCTUnwrap(PCIAddress("0000:3b:00.1"))
    let bus = try PCIBus(configs: [wide: config, plain: Array(config.prefix(64)), empty: []])
    let capability = try XCTUnwrap(try bus.sriovCapability(of: wide))
    XCTAssertEqual(capability.offset, 0x120)
    XCTAssertEqual(capability.totalVFs, 64)
    XCTAssertEqual(capability.vfDeviceID, 0x154c)
    XCTAssertNil(try bus.sriovCapability(of: plain))
    XCTAssertNil(try bus.sriovCapability(of: empty))
    XCTAssertEqual(bus.vendorName(0x8086), "Intel Corporation")
  }
}
