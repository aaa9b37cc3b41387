import Foundation
import SRIOVFixtures
import XCTest

/// `sriovctl label` with the real kubectl (Debian's kubernetes-client) against a stand-in API
/// server on 127.0.0.1 (Tests/kubernetes/fake-apiserver.py) that records what kubectl sends.
final class LabelCommandTests: XCTestCase {
  private var server: FakeAPIServer?
  private var kubeconfig: String { server?.kubeconfig ?? "" }
  private var kubectl: String { server?.kubectl ?? "" }
  private var root = ""

  private func start(
    mode: String = "normal", labels: [String: String] = ["kubernetes.io/hostname": "x710-host"],
    fixture: (String) throws -> FixtureHost = { try FixtureHosts.x710(at: $0) }
  ) throws {
    server?.stop()  // a test that starts a second server stops the first
    root = try temporaryDirectory(self).path + "/host"
    _ = try fixture(root)
    server = try FakeAPIServer(self, labels: labels, mode: mode)
  }

  private func label(_ extra: [String]) throws -> Run {
    try sriovctl(["label", "--root", root, "--kubectl", kubectl, "--kubeconfig", kubeconfig] + extra)
  }

  /// The recorded requests: (method, path without query, body).
  private func requests() throws -> [(String, String, String?)] {
    try XCTUnwrap(server).requests().map { ($0.method, $0.path, $0.body) }
  }

  private func patches() throws -> [[String: Any]] {
    try XCTUnwrap(server).patches()
  }

  func testLabelsTheNodeOnceAndThenChangesNothing() throws {
    try start()
    let first = try label(["-o", "json", "--label", "example.com/pool=dpdk"])
    XCTAssertEqual(first.status, 0, first.stderr)
    let document = try first.json()
    XCTAssertEqual(document["node"] as? String, "x710-host", "the fixture's hostname")
    XCTAssertEqual(document["changed"] as? Bool, true)
    let expected: [String: String] = [
      "sriov": "enabled", "sriovctl.io/capable": "true", "sriovctl.io/vfs": "4", "sriovctl.io/total-vfs": "128",
      "sriovctl.io/nic-vendor": "8086", "example.com/pool": "dpdk",
    ]
    let sent = try patches()
    XCTAssertEqual(sent.count, 1)
    XCTAssertEqual(
      (sent.first?["metadata"] as? [String: Any])?["labels"] as? [String: String], expected, "the exact patch")
    XCTAssertEqual(sent.first?.keys.sorted(), ["metadata"])
    let patch = try XCTUnwrap(try requests().first { $0.0 == "PATCH" })
    XCTAssertEqual(patch.1, "/api/v1/nodes/x710-host")

    let again = try label(["-o", "json", "--label", "example.com/pool=dpdk"])
    XCTAssertEqual(again.status, 0, again.stderr)
    XCTAssertEqual(try again.json()["changed"] as? Bool, false)
    XCTAssertTrue(try again.json()["command"] is NSNull)
    XCTAssertEqual(try patches().count, 1, "no second PATCH")

    let dry = try label(["--label", "example.com/pool=sriov", "--dry-run"])
    XCTAssertEqual(dry.status, 0, dry.stderr)
    XCTAssertEqual(
      dry.stdout,
      "would run: \(kubectl) --kubeconfig \(kubeconfig) label node x710-host example.com/pool=sriov --overwrite\n")
    XCTAssertEqual(try patches().count, 1, "a dry run sends nothing")

    let remove = try label(["--remove", "--label", "example.com/pool=dpdk"])
    XCTAssertEqual(remove.status, 0, remove.stderr)
    let removal = try XCTUnwrap(try patches().last)
    let removedLabels = try XCTUnwrap((removal["metadata"] as? [String: Any])?["labels"] as? [String: Any])
    XCTAssertEqual(Set(removedLabels.keys), Set(expected.keys))
    XCTAssertTrue(removedLabels.values.allSatisfy { $0 is NSNull })
    let none = try label(["--remove", "-o", "json"])
    XCTAssertEqual(try none.json()["changed"] as? Bool, false)
  }

  func testOnlyDifferingLabelsAreSent() throws {
    try start(labels: ["sriov": "enabled", "sriovctl.io/vfs": "2"])
    let run = try label([])
    XCTAssertEqual(run.status, 0, run.stderr)
    let labels = try XCTUnwrap((try patches().first?["metadata"] as? [String: Any])?["labels"] as? [String: String])
    XCTAssertNil(labels["sriov"], "already right")
    XCTAssertEqual(labels["sriovctl.io/vfs"], "4")
  }

  func testKubectlErrorsAreReportedInItsOwnWords() throws {
    try start()
    let missing = try label(["--node", "worker-9"])
    assertCleanFailure(
      missing,
      mentioning: ["the node is not registered in the cluster (check --node)", "Error from server (NotFound): nodes \"worker-9\" not found"])
    XCTAssertEqual(try patches().count, 0)

    let noKubectl = try sriovctl(["label", "--root", root, "--kubectl", "/nonexistent/kubectl"])
    assertCleanFailure(noKubectl, mentioning: ["kubectl was not found (/nonexistent/kubectl)"])

    // A kubeconfig whose server is not listening.
    try String(contentsOfFile: kubeconfig, encoding: .utf8)
      .replacingOccurrences(of: "http://127.0.0.1:", with: "http://127.0.0.1:1#")
      .replacingOccurrences(of: "#", with: "").write(toFile: kubeconfig + ".down", atomically: true, encoding: .utf8)
    let unreachable = try sriovctl(["label", "--root", root, "--kubectl", kubectl, "--kubeconfig", kubeconfig + ".down"])
    assertCleanFailure(unreachable, mentioning: ["the cluster cannot be reached"])
  }

  func testForbiddenIsExplained() throws {
    try start(mode: "forbidden")
    let run = try label([])
    assertCleanFailure(
      run,
      mentioning: ["the credentials may not read or label nodes (RBAC)", "Error from server (Forbidden): nodes \"x710-host\" is forbidden"])
  }

  func testBadLabelsAndNodesAreRefusedBeforeKubectlRuns() throws {
    try start()
    for bad in ["no-equals", "UPPER.example.com/x=1", "example.com/pool=-dash", "x=\("a" + String(repeating: "b", count: 63))", "k=v w", "k=$(reboot)"] {
      let run = try label(["--label", bad])
      assertCleanFailure(run, status: 64, mentioning: ["--label '\(bad)' is not KEY=VALUE"])
    }
    let node = try label(["--node", "Bad_Node"])
    assertCleanFailure(node, status: 64, mentioning: ["--node 'Bad_Node' is not a node name"])
    let prefix = try label(["--prefix", "example.com"])
    assertCleanFailure(prefix, status: 64, mentioning: ["--prefix 'example.com' is not a label prefix"])
    XCTAssertEqual(try requests().count, 0, "kubectl never ran")
  }

  func testAHostWithoutVFsIsNotLabelledEnabled() throws {
    let hosts: [(String, (String) throws -> FixtureHost)] = [
      ("no SR-IOV PF", { try FixtureHosts.noSRIOV(at: $0) }),
      ("SR-IOV off in the firmware", { try FixtureHosts.connectX5SRIOVDisabled(at: $0) }),
    ]
    for (what, fixture) in hosts {
      // A node labelled before (the NIC since replaced, or SR-IOV switched off): the claim goes.
      try start(labels: ["kubernetes.io/hostname": "x710-host", "sriov": "enabled"], fixture: fixture)
      let run = try label(["--node", "x710-host", "-o", "json"])
      XCTAssertEqual(run.status, 0, "\(what): \(run.stderr)")
      let document = try run.json()
      XCTAssertNil((document["labels"] as? [String: String])?["sriov"], what)
      XCTAssertEqual((document["labels"] as? [String: String])?["sriovctl.io/capable"], "false", what)
      XCTAssertEqual(document["removed"] as? [String], ["sriov"], what)
      let sent = try XCTUnwrap((try patches().last?["metadata"] as? [String: Any])?["labels"] as? [String: Any], what)
      XCTAssertTrue(sent["sriov"] is NSNull, "\(what): sriov removed, not set: \(sent)")
      XCTAssertEqual(sent["sriovctl.io/capable"] as? String, "false", what)

      // A node never labelled: sriov is not mentioned at all.
      try start(fixture: fixture)
      let fresh = try label(["--node", "x710-host"])
      XCTAssertEqual(fresh.status, 0, "\(what): \(fresh.stderr)")
      let freshLabels = try XCTUnwrap((try patches().last?["metadata"] as? [String: Any])?["labels"] as? [String: Any], what)
      XCTAssertNil(freshLabels["sriov"], "\(what): \(freshLabels)")
    }
  }

  /// The labels sum over every PF: a PF whose sysfs data is malformed is refused with its
  /// problem, before kubectl runs, rather than left out of the totals.
  func testAMalformedPFIsRefusedNotLeftOut() throws {
    try start()
    let totalvfs = root + "/sys/bus/pci/devices/0000:3b:00.1/sriov_totalvfs"
    try FileManager.default.removeItem(atPath: totalvfs)
    try "-5\n".write(toFile: totalvfs, atomically: false, encoding: .utf8)
    let run = try label(["--dry-run"])
    assertCleanFailure(run, mentioning: ["0000:3b:00.1 cannot be used: sriov_totalvfs holds '-5'"])
    XCTAssertEqual(run.stderr.split(separator: "\n").count, 1, run.stderr)
    XCTAssertEqual(try requests().count, 0, "kubectl never ran")
  }
}
