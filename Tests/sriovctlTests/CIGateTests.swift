import Foundation
import XCTest

/// `.ci/run` fails a run in which any test was skipped (`.ci/every-test-ran` reads the output of
/// `make test`), and runs the tests with every SRIOVCTL_SKIP_* variable unset.
final class CIGateTests: XCTestCase {
  private func gate(_ log: String) throws -> Run {
    let file = try temporaryDirectory(self).appendingPathComponent("make-test.log")
    try log.write(to: file, atomically: true, encoding: .utf8)
    return try runProgram(repositoryRoot.appendingPathComponent(".ci/every-test-ran"), [file.path])
  }

  func testARunWithEveryTestPasses() throws {
    let run = try gate(
      """
      Test Suite 'All tests' started at 2026-12-04 03:47:45.498
      Test Case 'A.b' passed (0.1 seconds)
      \t Executed 226 tests, with 0 failures (0 unexpected) in 1511.571 (1511.571) seconds
      fuzz: 4 targets, no crash

      """)
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertEqual(run.stdout, "ci: every test ran:\t Executed 226 tests, with 0 failures (0 unexpected) in 1511.571 (1511.571) seconds\n")
  }

  func testASkippedTestFailsTheRunAndIsNamed() throws {
    let run = try gate(
      """
      Test Case 'VMTests.testIOMMUWithFlagsIsReady' skipped (0.0 seconds)
      \t Executed 1 test, with 1 test skipped and 0 failures (0 unexpected) in 0.0 (0.0) seconds
      \t Executed 226 tests, with 1 test skipped and 0 failures (0 unexpected) in 1.0 (1.0) seconds

      """)
    XCTAssertEqual(run.status, 1)
    XCTAssertEqual(
      run.stderr,
      "ci: tests were skipped, so this run proves less than it claims:\n"
        + "Test Case 'VMTests.testIOMMUWithFlagsIsReady' skipped (0.0 seconds)\n")
  }

  func testARunWithoutASummaryFails() throws {
    let run = try gate("error: compile command failed\n")
    XCTAssertEqual(run.status, 1)
    XCTAssertEqual(run.stderr, "ci: no XCTest summary in the output: the tests did not run\n")
  }

  func testTheCIScriptUnsetsTheSkipVariablesAndUsesTheGate() throws {
    let script = try String(contentsOf: repositoryRoot.appendingPathComponent(".ci/run"), encoding: .utf8)
    // Run the script's own unsetting loop with skip variables set, and print what is left.
    let start = try XCTUnwrap(script.range(of: "while IFS= read -r name; do"))
    let end = try XCTUnwrap(script.range(of: "done < <(compgen -e | grep '^SRIOVCTL_SKIP_' || true)\n"))
    let loop = String(script[start.lowerBound..<end.upperBound])
    let bash = URL(fileURLWithPath: "/bin/bash")
    let run = try runProgram(
      bash, ["-c", loop + "compgen -e | grep '^SRIOVCTL_SKIP_' || echo none-left"],
      environment: ["SRIOVCTL_SKIP_VM_TESTS": "1", "SRIOVCTL_SKIP_ANSIBLE_TESTS": "1", "PATH": "/usr/bin:/bin"])
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertTrue(run.stdout.hasSuffix("none-left\n"), run.stdout)
    XCTAssertTrue(script.contains("make test 2>&1 | tee \"$log\"\n"), script)
    XCTAssertTrue(script.hasSuffix(".ci/every-test-ran \"$log\"\n"), script)
  }
}
