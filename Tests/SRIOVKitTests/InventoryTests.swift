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

  /// libpci calls exit(1) on a malformed tree unless its error handler is trapped.
  func testAMalformedTreeIsAnErrorNotAnExit() throws {
    let root = try host { path in
      try FixtureHosts.x710(at: path)
      let device = path + "/sys/bus/pci/devices/0000:3b:00.1/"
      try FileManager.default.removeItem(atPath: device + "class")
    }
    XCTAssertThrowsError(try Inventory.discover(root: root)) { error in
      XCTAssertTrue("\(error)".hasPrefix("cannot enumerate PCI devices: Cannot open "), "\(error)")
      XCTAssertTrue("\(error)".contains("0000:3b:00.1/class"), "\(error)")
    }
    let empty = try host { try FileManager.default.createDirectory(atPath: $0, withIntermediateDirectories: true) }
    XCTAssertThrowsError(try Inventory.discover(root: empty)) { error in
      XCTAssertEqual(
        "\(error)",
        "cannot enumerate PCI devices: \(empty.path)/sys/bus/pci/devices does not exist (is sysfs mounted?)")
    }
  }

  func testAnUnreadableAttributeIsNamed() throws {
    let root = try host { path in
      try FixtureHosts.x710(at: path)
      let numvfs = path + "/sys/bus/pci/devices/0000:3b:00.0/sriov_numvfs"
      try FileManager.default.removeItem(atPath: numvfs)
      try "four\n".write(toFile: numvfs, atomically: false, encoding: .utf8)
    }
    XCTAssertThrowsError(try Inventory.discover(root: root)) { error in
      XCTAssertEqual(
        "\(error)", "/sys/bus/pci/devices/0000:3b:00.0/sriov_numvfs holds 'four', expected an integer")
    }
  }
}
