import SRIOVKit
import XCTest

final class PCIAddressTests: XCTestCase {
  func testParsesFullAndShortForms() throws {
    let full = try XCTUnwrap(PCIAddress("0000:3b:00.1"))
    XCTAssertEqual(full, PCIAddress(domain: 0, bus: 0x3b, device: 0, function: 1)!)
    XCTAssertEqual(PCIAddress("3b:00.1"), full)
    XCTAssertEqual(PCIAddress("0000:3B:1F.7")?.description, "0000:3b:1f.7")
    XCTAssertEqual(PCIAddress("10000:00:02.0")?.description, "10000:00:02.0", "VMD domains")
  }

  func testRejectsMalformedAddresses() {
    for text in [
      "", "3b:00", "3b.00.0", "0000:3b:00.8", "0000:3b:20.0", "000:3b:00.0", "0000:3b:0.0",
      "0000:3b:000.0", "0000:g0:00.0", "0000:3b:00.0 ", " 3b:00.0", "0000:3b:00.0\n", "0000::00.0",
      "a:b:c:d.0", "0000:3b:00.-1", "0x00:3b:00.0", "0000:+3:00.0",
    ] {
      XCTAssertNil(PCIAddress(text), "accepted '\(text)'")
    }
  }

  /// No device or function value from libpci, sysfs or config space can build an impossible
  /// address (the memberwise init trapped on a precondition).
  func testImpossiblePartsMakeNoAddress() {
    XCTAssertNil(PCIAddress(bus: 0x3b, device: 0, function: 9))
    XCTAssertNil(PCIAddress(bus: 0x3b, device: 0xff, function: 0))
    XCTAssertNil(PCIAddress(bus: 0x3b, device: 32, function: 0))
    XCTAssertEqual(PCIAddress(bus: 0x3b, device: 31, function: 7)?.description, "0000:3b:1f.7")
    XCTAssertEqual(PCIAddress(domain: 1, routingID: 0x3b12)?.description, "0001:3b:02.2")
    XCTAssertEqual(PCIAddress(routingID: 0xffff)?.description, "0000:ff:1f.7")
    XCTAssertNil(PCIAddress(routingID: 0x10000))
    XCTAssertNil(PCIAddress(routingID: -1))
  }

  /// A sysfs entry counts only in the kernel's own spelling, so paths built from the address name
  /// the same directory.
  func testSysfsNamesMustBeTheKernelsSpelling() {
    XCTAssertEqual(PCIAddress(sysfsName: "0000:3b:00.1")?.description, "0000:3b:00.1")
    XCTAssertEqual(PCIAddress(sysfsName: "10000:00:02.0")?.description, "10000:00:02.0")
    for name in ["0000:3B:00.1", "3b:00.1", "0000:3b:00.9", "0000:3b:ff.0", "00000:3b:00.1", ""] {
      XCTAssertNil(PCIAddress(sysfsName: name), name)
    }
  }

  func testOrdersByDomainBusDeviceFunction() {
    let addresses = ["0001:00:00.0", "0000:3b:00.1", "0000:3b:00.0", "0000:af:00.0", "0000:3b:02.0"]
      .compactMap { PCIAddress($0) }
    XCTAssertEqual(
      addresses.sorted().map(\.description),
      ["0000:3b:00.0", "0000:3b:00.1", "0000:3b:02.0", "0000:af:00.0", "0001:00:00.0"])
  }
}

final class InterfaceNameTests: XCTestCase {
  func testAcceptsKernelNames() {
    for name in ["eth0", "ens1f0", "enp59s0f0np0", "ens1f0v127", "a", "123456789012345", "br-lan_1.2"] {
      XCTAssertNotNil(InterfaceName(name), name)
    }
  }

  func testRejectsWhatTheKernelOrAGeneratedFileWouldNot() {
    for name in [
      "", ".", "..", "1234567890123456", "eth/0", "eth:0", "eth 0", "eth\t0", "eth0\n", "ëth0",
      "eth\"0", "eth\u{7f}", "eth'0", "eth%i", "eth$x", "eth*", "eth\\0", "eth;0",
    ] {
      XCTAssertNil(InterfaceName(name), "accepted '\(name)'")
    }
  }

  func testSelectorsPreferAddresses() {
    XCTAssertEqual(PFSelector("3b:00.0"), .address(PCIAddress("0000:3b:00.0")!))
    XCTAssertEqual(PFSelector("ens1f0"), .interface(InterfaceName("ens1f0")!))
    XCTAssertNil(PFSelector("no/such"))
  }
}
