import Glibc
import XCTest

@testable import SRIOVKit

/// A blocking call bounded by a deadline: the run lock's flock and the sriov_numvfs write.
final class BoundedCallTests: XCTestCase {
  func testACallThatReturnsGivesItsResult() {
    XCTAssertEqual(BoundedCall.run(until: Deadline(secondsFromNow: 5)) { 0 }, .returned(0))
    XCTAssertEqual(BoundedCall.run(until: Deadline(secondsFromNow: 5)) { EBUSY }, .returned(EBUSY))
  }

  /// A read from a pipe nobody writes to blocks for ever; the wait ends at the deadline.
  func testACallThatNeverReturnsTimesOutAtTheDeadline() throws {
    var ends: [Int32] = [0, 0]
    XCTAssertEqual(pipe(&ends), 0)
    let reader = ends[0]
    let started = Deadline.now()
    let outcome = BoundedCall.run(until: Deadline(secondsFromNow: 0.3)) {
      var byte: UInt8 = 0
      return read(reader, &byte, 1) < 0 ? errno : 0
    }
    let elapsed = Double(Deadline.now() - started) / 1e9
    XCTAssertEqual(outcome, .timedOut)
    XCTAssertGreaterThanOrEqual(elapsed, 0.25)
    XCTAssertLessThan(elapsed, 5, "bounded by the deadline, not by the call")
    // Let the blocked thread finish: it returns once the pipe has a byte.
    var byte: UInt8 = 1
    XCTAssertEqual(write(ends[1], &byte, 1), 1)
  }
}
