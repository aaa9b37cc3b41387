import XCTest

@testable import SRIOVKit

/// The last check before a value reaches a netlink attribute: narrowing to the kernel's __u32.
final class NetworkLinksTests: XCTestCase {
  func testNarrowingToTheKernelsU32IsCheckedNotTrapped() throws {
    XCTAssertEqual(try NetworkLinks.kernelU32(0, "ip link set x vf 0 max_tx_rate 0"), 0)
    XCTAssertEqual(try NetworkLinks.kernelU32(4_294_967_295, "rate"), UInt32.max)
    for value in [4_294_967_296, -1, Int.max, Int.min] {
      XCTAssertThrowsError(try NetworkLinks.kernelU32(value, "ip link set ens1f0 vf 0 max_tx_rate \(value)")) { error in
        XCTAssertEqual(
          "\(error)", "ip link set ens1f0 vf 0 max_tx_rate \(value): \(value) is out of the kernel's range (0 to 4294967295)")
      }
    }
  }
}
