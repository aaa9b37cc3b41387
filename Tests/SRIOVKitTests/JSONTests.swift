import SRIOVKit
import XCTest

final class JSONTests: XCTestCase {
  func testRendersNullsOrderAndNesting() {
    let document = JSON.object([
      ("b", .int(-2)), ("a", .string(nil)), ("list", .array([.bool(true), .object([])])),
      ("empty", .array([])),
    ])
    XCTAssertEqual(
      document.rendered(),
      """
      {
        "b": -2,
        "a": null,
        "list": [
          true,
          {}
        ],
        "empty": []
      }

      """)
  }

  func testEscapesStringsSoParsersAgree() throws {
    let tricky = "quote\" backslash\\ newline\n tab\t bell\u{07} nul\u{0} é ✓"
    let text = JSON.object([("s", .string(tricky))]).rendered()
    let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String]
    XCTAssertEqual(parsed?["s"], tricky)
  }

  func testPCIIDsAreFourLowercaseHexDigits() {
    XCTAssertEqual(UInt16(0x8086).pciID, "8086")
    XCTAssertEqual(UInt16(0x15B3).pciID, "15b3")
    XCTAssertEqual(UInt16(0x0a).pciID, "000a")
  }
}
