import Foundation
import SRIOVFixtures
import SRIOVKit
import XCTest

/// Fixture hosts written for one test, and the readiness report on them: shared by the tests of
/// `check`'s findings and of the device plugin's selector rule.
extension XCTestCase {
  /// `host` written to a fresh directory (removed when the test ends), changed by `change`, as a
  /// host root.
  func fixtureRoot(_ host: FixtureHost, change: (String) throws -> Void = { _ in }) throws -> HostRoot {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fixture-\(UUID().uuidString)").path
    addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
    try host.write(to: directory)
    try change(directory)
    return try HostRoot(directory)
  }

  /// Every check run on `host` (for the selected PFs), after `change`.
  func report(_ host: FixtureHost, pfs: [String] = [], change: (String) throws -> Void = { _ in }) throws
    -> CheckReport
  {
    try Readiness.check(root: try fixtureRoot(host, change: change), pfs: pfs.compactMap(PFSelector.init))
  }

  /// The one finding with `id`.
  func check(_ report: CheckReport, _ id: String, file: StaticString = #filePath, line: UInt = #line) throws -> Check {
    let matches = report.checks.filter { $0.id == id }
    XCTAssertEqual(matches.count, 1, "checks with id \(id)", file: file, line: line)
    return try XCTUnwrap(matches.first, file: file, line: line)
  }

  /// Writes `text` at `path`, making its directory and replacing what was there (a fixture's
  /// file or link).
  func writeFixtureFile(_ text: String, to path: String) throws {
    try FileManager.default.createDirectory(
      atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
    try text.write(toFile: path, atomically: false, encoding: .utf8)
  }
}
