import Foundation
import XCTest

/// The VM test bed (Tests/vm/testbed.sh) from a test: one boot of a real Linux kernel under QEMU
/// running a scenario of Tests/vm/scenarios, and what it brought back. A new real-kernel test is a
/// scenario file and a few lines of Swift:
///
///     let boot = try Testbed.boot(self, "kernel-claims.sh", [Testbed.iproute2()],
///                                 options: ["--viommu", "--no-autoload"])
///     XCTAssertEqual(try boot.trimmed("step.status"), "0", boot.description)
///
/// The tests need `Tests/vm/testbed.sh prepare` (which `make test` runs). Where QEMU cannot run
/// they fail, loudly; SRIOVCTL_SKIP_VM_TESTS=1 skips them on purpose (CI unsets it and fails a run
/// with a skipped test).
enum Testbed {
  struct Failure: Error, CustomStringConvertible {
    var description: String
  }

  /// QEMU's CPU for the Intel IOMMU scenarios ("max" also runs Swift code about twice as fast
  /// under TCG as the default qemu64).
  static let intelCPU = ["--cpu", "max,vendor=GenuineIntel"]

  /// Skips the test when SRIOVCTL_SKIP_VM_TESTS=1.
  static func requireWanted() throws {
    if ProcessInfo.processInfo.environment["SRIOVCTL_SKIP_VM_TESTS"] == "1" {
      throw XCTSkip("SRIOVCTL_SKIP_VM_TESTS=1: the real-kernel tests were skipped on purpose")
    }
  }

  /// The debug binary the busybox guest runs by default.
  static var debugBinary: URL { productsDirectory.appendingPathComponent("sriovctl") }

  /// The release binary (linked with the static Swift runtime), which the Debian guest can run.
  static func releaseBinary() throws -> URL {
    let binary = repositoryRoot.appendingPathComponent(".build/release/sriovctl")
    guard FileManager.default.isExecutableFile(atPath: binary.path) else {
      throw Failure(
        description: "\(binary.path) does not exist: build it with 'swift build -c release --static-swift-stdlib' "
          + "(make test does)")
    }
    return binary
  }

  /// iproute2's ip on the host, for `--include` (busybox ip cannot show VF attributes). Not
  /// /sbin/ip or /bin/ip: in the busybox guest those are applet links, which a copy would replace.
  static func iproute2() throws -> String {
    for path in ["/usr/sbin/ip", "/usr/bin/ip"] where FileManager.default.isExecutableFile(atPath: path) {
      return path
    }
    throw Failure(description: "iproute2's ip is not installed at /usr/sbin/ip (apt-get install iproute2; make test-deps does)")
  }

  /// The cached Debian 12 image for `--debian` (built by debian-image.sh when missing, damaged or
  /// outdated; checking it takes ~2 s).
  static func debianImage() throws -> String {
    let run = try runProgram(repositoryRoot.appendingPathComponent("Tests/vm/debian-image.sh"), [])
    guard run.status == 0, let image = run.stdout.split(separator: "\n").last.map(String.init) else {
      throw Failure(
        description: "Tests/vm/debian-image.sh failed (exit \(run.status)); it needs root and apt's Debian mirror "
          + "the first time:\n" + run.stdout + run.stderr)
    }
    return image
  }

  /// Boots the test bed once: `testbed.sh run OPTIONS -- SCENARIO ARGUMENTS`, with the results in
  /// a directory `name` of the test's temporary directory (or `out`).
  ///
  /// - Parameters:
  ///   - options: `testbed.sh run` options (`--viommu`, `--cmdline WORDS`, `--debian IMAGE`...).
  ///   - binary: the sriovctl the guest gets (default: the debug build).
  /// - Throws: `XCTSkip` on purpose (see ``requireWanted()``); ``Failure`` when the test bed
  ///   itself failed or the scenario did not exit 0, with the test bed's output.
  static func boot(
    _ test: XCTestCase, _ scenario: String, _ arguments: [String] = [], options: [String] = [],
    binary: URL? = nil, name: String = "vm", out: URL? = nil, timeout: Int = 240
  ) throws -> TestbedResults {
    try requireWanted()
    let directory = try out ?? temporaryDirectory(test).appendingPathComponent(name)
    let testbed = try runProgram(
      repositoryRoot.appendingPathComponent("Tests/vm/testbed.sh"),
      ["run", "--binary", (binary ?? debugBinary).path, "--out", directory.path, "--timeout", String(timeout)]
        + options + ["--", repositoryRoot.appendingPathComponent("Tests/vm/scenarios/\(scenario)").path] + arguments)
    let results = TestbedResults(directory: directory)
    guard testbed.status == 0 else {
      throw Failure(
        description: "the VM test bed failed in \(name) (exit \(testbed.status)); run 'Tests/vm/testbed.sh prepare' "
          + "as root:\n\(testbed.stdout)\(testbed.stderr)\n\(results)")
    }
    return results
  }
}

/// What one boot of the test bed brought back: the scenario's files plus console.log,
/// exit-status and testbed.txt.
struct TestbedResults: CustomStringConvertible {
  var directory: URL

  func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

  func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: url(name).path) }

  func text(_ name: String) throws -> String {
    do {
      return try String(contentsOf: url(name), encoding: .utf8)
    } catch {
      throw Testbed.Failure(description: "the scenario left no \(name)\n\(self)")
    }
  }

  func trimmed(_ name: String) throws -> String {
    try text(name).trimmingCharacters(in: .whitespacesAndNewlines)
  }

  /// A file that must hold a JSON object.
  func json(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
    let text = try text(name)
    let object = try? JSONSerialization.jsonObject(with: Data(text.utf8))
    return try XCTUnwrap(object as? [String: Any], "\(name) is not a JSON object: \(text)", file: file, line: line)
  }

  /// A file that holds an exit status.
  func status(_ name: String) throws -> Int32? { Int32(try trimmed(name)) }

  /// The end of the console, for failure messages.
  var description: String {
    let console = (try? String(contentsOf: url("console.log"), encoding: .utf8)) ?? "(no console.log)"
    let tail = console.split(separator: "\n", omittingEmptySubsequences: false).suffix(40)
    return "results in \(directory.path); console tail:\n" + tail.joined(separator: "\n")
  }
}
