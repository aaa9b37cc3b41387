import Foundation
import XCTest

/// `sriovctl check --kubeconfig` on the real kernel: the Debian guest with the igb PF, Debian's
/// kubectl and the stand-in API server inside the guest (Tests/vm/scenarios/cluster-check.sh).
/// The guest has a vIOMMU, so the whole report can be ready. What device-plugin-config writes
/// there, the cluster checks read back as the guest's 3 VFs;
/// the copied example with the old VF driver names is explained with the driver the kernel bound.
final class ClusterCheckVMTests: XCTestCase {
  func testTheClusterChecksOnTheRealKernel() throws {
    try Testbed.requireWanted()
    let fetch = try runProgram(repositoryRoot.appendingPathComponent("Tests/kubernetes/kubectl.sh"), [])
    XCTAssertEqual(fetch.status, 0, fetch.stderr)
    let kubectl = fetch.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    // --include copies a file to the same path in the guest, whose /tmp is a fresh tmpfs: a
    // checkout under /tmp (CI's) would hide it, so the stand-in goes in from /var/tmp.
    let apiserver = "/var/tmp/sriovctl-apiserver-\(UUID().uuidString).py"
    try FileManager.default.copyItem(
      atPath: repositoryRoot.appendingPathComponent("Tests/kubernetes/fake-apiserver.py").path, toPath: apiserver)
    addTeardownBlock { try? FileManager.default.removeItem(atPath: apiserver) }
    let boot = try Testbed.boot(
      self, "cluster-check.sh", [kubectl, apiserver],
      options: [
        "--debian", "cached", "--install-binary", "--include", kubectl, "--include", apiserver, "--viommu",
        "--cmdline", "intel_iommu=on iommu=pt",
      ] + Testbed.intelCPU,
      binary: try Testbed.releaseBinary(), timeout: 600)
    let context = boot.description
    XCTAssertEqual(try boot.trimmed("create.status"), "0", (try? boot.text("create.stderr")) ?? context)
    // The kernel's truth: three VFs, each bound to igbvf.
    XCTAssertEqual(
      try boot.trimmed("vf-drivers.txt"), "virtfn0 igbvf\nvirtfn1 igbvf\nvirtfn2 igbvf", context)
    let node = try boot.trimmed("node.txt")
    XCTAssertFalse(node.isEmpty)
    XCTAssertEqual(try boot.trimmed("label.status"), "0", (try? boot.text("label.stderr")) ?? context)

    func findings(_ name: String) throws -> [String: [String: Any]] {
      let checks = try XCTUnwrap(try boot.json("\(name).json")["checks"] as? [[String: Any]], name)
      var byID: [String: [String: Any]] = [:]
      for check in checks { byID[check["id"] as? String ?? ""] = check }
      return byID
    }

    // The generated ConfigMap: every cluster check passes, with the guest's own names and counts,
    // and the whole report is ready (exit 0; the host checks under a vIOMMU pass or warn).
    XCTAssertEqual(try boot.trimmed("check.status"), "0", (try? boot.text("check.json")) ?? context)
    XCTAssertEqual(try boot.json("check.json")["ok"] as? Bool, true)
    let generated = try findings("check")
    for id in ["kubernetes.node", "kubernetes.label", "kubernetes.device-plugin-config", "kubernetes.device-plugin", "kubernetes.allocatable"] {
      XCTAssertEqual(generated[id]?["status"] as? String, "pass", "\(id): \(generated[id] ?? [:])")
    }
    XCTAssertEqual(generated["kubernetes.node"]?["summary"] as? String, "node \(node) is Ready", "the name kubelet would use")
    let config = try XCTUnwrap(
      try JSONSerialization.jsonObject(with: Data(try boot.text("config.json").utf8)) as? [String: Any])
    let names = try XCTUnwrap(config["resourceList"] as? [[String: Any]]).compactMap { $0["resourceName"] as? String }
    XCTAssertEqual(names, ["sriov_enp1s0"], "one resource for the PF, named by its interface")
    XCTAssertEqual(
      generated["kubernetes.device-plugin-config"]?["summary"] as? String, "kube-system/sriovdp-config: intel.com/sriov_enp1s0 (3)")
    XCTAssertEqual(
      generated["kubernetes.allocatable"]?["summary"] as? String, "node \(node) offers intel.com/sriov_enp1s0: 3")

    // The copied example: the finding names igbvf, the driver the kernel bound.
    XCTAssertEqual(try boot.trimmed("example.status"), "1", context)
    let example = try findings("example")
    let finding = try XCTUnwrap(example["kubernetes.device-plugin-config"])
    XCTAssertEqual(finding["status"] as? String, "fail")
    let summary = try XCTUnwrap(finding["summary"] as? String)
    XCTAssertTrue(
      summary.hasPrefix("intel.com/intel_sriov_netdevice selects none of this host's devices: drivers [i40evf, ixgbevf]: none of the 3 devices"),
      summary)
    XCTAssertTrue(summary.hasSuffix("match; they have driver igbvf (3)"), summary)
    XCTAssertEqual(example["kubernetes.allocatable"]?["status"] as? String, "skip")

    // label's PATCH came first; the two checks sent GET requests only.
    let lines = try boot.text("requests.jsonl").split(separator: "\n")
    let before = try XCTUnwrap(Int(try boot.trimmed("requests-before-check.txt")))
    XCTAssertTrue(lines.prefix(before).contains { $0.contains("\"PATCH\"") }, "label patched the node")
    let requests = try lines.dropFirst(before).map { line -> (String, String) in
      let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
      let path = (object["path"] as? String ?? "").split(separator: "?").first.map(String.init) ?? ""
      return (object["method"] as? String ?? "", path)
    }
    XCTAssertEqual(Set(requests.map(\.0)), ["GET"])
    // kubectl's discovery is cached by then: each check reads the node, the pods, its ConfigMap.
    XCTAssertEqual(
      requests.map(\.1),
      [
        "/api/v1/nodes/\(node)", "/api/v1/pods", "/api/v1/namespaces/kube-system/configmaps/sriovdp-config",
        "/api/v1/nodes/\(node)", "/api/v1/pods", "/api/v1/namespaces/kube-system/configmaps/copied-example",
      ])
  }
}
