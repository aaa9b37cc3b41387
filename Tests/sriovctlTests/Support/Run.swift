import Foundation
import XCTest

/// The outcome of running the built `sriovctl`.
struct Run {
  var status: Int32
  var stdout: String
  var stderr: String

  /// stdout parsed as one JSON document.
  func json(file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8))
    return try XCTUnwrap(object as? [String: Any], "stdout is not a JSON object: \(stdout)", file: file, line: line)
  }
}

/// The directory holding the built products (the binary sits beside the test bundle).
let productsDirectory: URL = {
  let bundle = Bundle.main.bundleURL
  return bundle.pathExtension == "xctest" ? bundle.deletingLastPathComponent() : bundle
}()

/// The repository's root directory.
let repositoryRoot = URL(fileURLWithPath: #filePath)
  .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
  .deletingLastPathComponent()

/// Runs the built binary with arguments and environment additions, never through a shell.
func sriovctl(_ arguments: [String], environment: [String: String] = [:], removing: [String] = [])
  throws -> Run
{
  var env = ProcessInfo.processInfo.environment
  for name in removing { env.removeValue(forKey: name) }
  env.removeValue(forKey: "SRIOVCTL_ROOT")
  env.merge(environment) { $1 }
  return try runProgram(productsDirectory.appendingPathComponent("sriovctl"), arguments, environment: env)
}

/// Runs a program to its end, never through a shell, with no standard input.
func runProgram(_ executable: URL, _ arguments: [String], environment: [String: String]? = nil) throws -> Run {
  let process = Process()
  process.executableURL = executable
  process.arguments = arguments
  if let environment { process.environment = environment }
  // Files rather than pipes: a large output can never block the child.
  let base = FileManager.default.temporaryDirectory.appendingPathComponent("sriovctl-run-\(UUID().uuidString)")
  let outURL = base.appendingPathExtension("out")
  let errURL = base.appendingPathExtension("err")
  FileManager.default.createFile(atPath: outURL.path, contents: nil)
  FileManager.default.createFile(atPath: errURL.path, contents: nil)
  defer {
    try? FileManager.default.removeItem(at: outURL)
    try? FileManager.default.removeItem(at: errURL)
  }
  let out = try FileHandle(forWritingTo: outURL)
  let err = try FileHandle(forWritingTo: errURL)
  process.standardOutput = out
  process.standardError = err
  process.standardInput = FileHandle.nullDevice
  try process.run()
  process.waitUntilExit()
  try out.close()
  try err.close()
  let outData = try Data(contentsOf: outURL)
  let errData = try Data(contentsOf: errURL)
  return Run(
    status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
    stderr: String(decoding: errData, as: UTF8.self))
}

/// Asserts the shape every failure must have: a non-zero exit, nothing on stdout, and exactly one
/// line on stderr that is not a crash report.
func assertCleanFailure(
  _ run: Run, status: Int32 = 1, mentioning fragments: [String] = [], file: StaticString = #filePath,
  line: UInt = #line
) {
  XCTAssertEqual(run.status, status, "stderr: \(run.stderr)", file: file, line: line)
  XCTAssertEqual(run.stdout, "", file: file, line: line)
  XCTAssertFalse(run.stderr.contains("Fatal error"), run.stderr, file: file, line: line)
  XCTAssertFalse(run.stderr.contains("Backtrac"), run.stderr, file: file, line: line)
  for fragment in fragments {
    XCTAssertTrue(run.stderr.contains(fragment), "'\(fragment)' not in: \(run.stderr)", file: file, line: line)
  }
}

/// A fresh temporary directory, removed when the test ends.
func temporaryDirectory(_ test: XCTestCase) throws -> URL {
  let url = FileManager.default.temporaryDirectory.appendingPathComponent(
    "sriovctl-test-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
  return url
}
