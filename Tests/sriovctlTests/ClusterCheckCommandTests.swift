import Foundation
import SRIOVFixtures
import XCTest

/// `sriovctl check --kubeconfig`: the real kubectl (Debian's kubernetes-client) against the
/// stand-in API server, on the X710 fixture host (ens1f0 with 4 VFs on iavf, 8086:154c; ens1f1
/// without VFs). Every run must send GET requests only.
final class ClusterCheckCommandTests: XCTestCase {
  private var root = ""
  private var server: FakeAPIServer?

  /// One finding of the JSON report.
  private struct Finding {
    var status: String
    var summary: String
    var remedy: String?
    var details: [String]
  }

  private static let node = "x710-host"

  /// The device plugin pod as the project's DaemonSet makes it.
  private static func pod(
    name: String = "kube-sriov-device-plugin-7xk2p", node: String = node, app: String = "sriovdp",
    phase: String = "Running", ready: Bool = true, waiting: String? = nil, args: [String] = ["--log-level=10"]
  ) -> [String: Any] {
    var state: [String: Any] = ["running": [:]]
    if let waiting { state = ["waiting": ["reason": waiting, "message": "back-off 5m0s restarting failed container"]] }
    return [
      "metadata": ["name": name, "namespace": "kube-system", "labels": ["app": app, "name": "sriov-device-plugin"]],
      "spec": ["nodeName": node, "containers": [["name": "kube-sriovdp", "args": args]]],
      "status": [
        "phase": phase,
        "containerStatuses": [["name": "kube-sriovdp", "ready": ready, "restartCount": waiting == nil ? 0 : 7, "state": state]],
      ],
    ]
  }

  private static func configMap(_ configJSON: String, name: String = "sriovdp-config") -> [String: Any] {
    ["metadata": ["name": name, "namespace": "kube-system"], "data": ["config.json": configJSON]]
  }

  /// The config.json `device-plugin-config` writes for the fixture host.
  private func generatedConfig(_ extra: [String] = []) throws -> String {
    try prepareRoot()
    let run = try sriovctl(["device-plugin-config", "--root", root, "--raw"] + extra)
    XCTAssertEqual(run.status, 0, run.stderr)
    return run.stdout
  }

  /// A Ready node's status, with these allocatable resources (none at all for `nil`).
  private static func ready(allocatable: [String: String]?) -> [String: Any] {
    var status: [String: Any] = ["conditions": [["type": "Ready", "status": "True", "reason": "KubeletReady"]]]
    if let allocatable { status["allocatable"] = allocatable }
    return status
  }

  private static var readyStatus: [String: Any] { ready(allocatable: ["cpu": "16", "intel.com/sriov_ens1f0": "4"]) }

  /// The labels `sriovctl label` sets on the fixture host.
  private static let labelled = [
    "kubernetes.io/hostname": node, "sriov": "enabled", "sriovctl.io/capable": "true", "sriovctl.io/vfs": "4",
    "sriovctl.io/total-vfs": "128", "sriovctl.io/nic-vendor": "8086",
  ]

  private func start(
    labels: [String: String] = labelled, nodeStatus: [String: Any] = readyStatus, configMaps: [[String: Any]]? = nil,
    pods: [[String: Any]] = [pod()], mode: String = "normal"
  ) throws {
    server?.stop()
    try prepareRoot()
    let maps = try configMaps ?? [Self.configMap(try generatedConfig(["--pf", "ens1f0"]))]
    server = try FakeAPIServer(self, labels: labels, nodeStatus: nodeStatus, configMaps: maps, pods: pods, mode: mode)
  }

  /// The X710 fixture host, written once per test.
  private func prepareRoot() throws {
    guard root.isEmpty else { return }
    root = try temporaryDirectory(self).path + "/host"
    _ = try FixtureHosts.x710(at: root)
  }

  /// Runs `check -o json --kubeconfig` and returns the findings by id, after asserting that
  /// only GET requests reached the server.
  private func check(_ extra: [String] = [], status: Int32? = nil, file: StaticString = #filePath, line: UInt = #line)
    throws -> [String: Finding]
  {
    let server = try XCTUnwrap(server)
    let run = try sriovctl(
      ["check", "--root", root, "-o", "json", "--kubectl", server.kubectl, "--kubeconfig", server.kubeconfig] + extra)
    if let status { XCTAssertEqual(run.status, status, run.stdout + run.stderr, file: file, line: line) }
    XCTAssertEqual(run.stderr, "", file: file, line: line)
    let requests = try server.requests()
    XCTAssertEqual(Set(requests.map(\.method)).subtracting(["GET"]), [], "only GET requests", file: file, line: line)
    let checks = try XCTUnwrap(try run.json()["checks"] as? [[String: Any]], file: file, line: line)
    var findings: [String: Finding] = [:]
    for check in checks where (check["id"] as? String ?? "").hasPrefix("kubernetes.") {
      findings[check["id"] as! String] = Finding(
        status: check["status"] as? String ?? "", summary: check["summary"] as? String ?? "",
        remedy: check["remedy"] as? String, details: check["details"] as? [String] ?? [])
    }
    return findings
  }

  private func statuses(_ findings: [String: Finding]) -> [String: String] { findings.mapValues(\.status) }

  func testAClusterThatSeesTheVFsPassesEveryCheckWithGetsOnly() throws {
    try start()
    let findings = try check(status: 0)
    XCTAssertEqual(
      statuses(findings),
      [
        "kubernetes.node": "pass", "kubernetes.label": "pass", "kubernetes.device-plugin-config": "pass",
        "kubernetes.device-plugin": "pass", "kubernetes.allocatable": "pass",
      ])
    XCTAssertEqual(findings["kubernetes.node"]?.summary, "node x710-host is Ready")
    XCTAssertEqual(findings["kubernetes.label"]?.summary, "sriov=enabled; the sriovctl.io/ labels are as this host is")
    XCTAssertEqual(
      findings["kubernetes.device-plugin-config"]?.summary, "kube-system/sriovdp-config: intel.com/sriov_ens1f0 (4)")
    XCTAssertEqual(
      findings["kubernetes.device-plugin-config"]?.details.first,
      "intel.com/sriov_ens1f0: 4 VF(s) here: VF 0 of ens1f0 (0000:3b:02.0), VF 1 of ens1f0 (0000:3b:02.1), "
        + "VF 2 of ens1f0 (0000:3b:02.2), VF 3 of ens1f0 (0000:3b:02.3)")
    XCTAssertEqual(
      findings["kubernetes.device-plugin"]?.summary, "kube-system/kube-sriov-device-plugin-7xk2p is Running, ready")
    XCTAssertEqual(findings["kubernetes.allocatable"]?.summary, "node x710-host offers intel.com/sriov_ens1f0: 4")

    // What kubectl asked: the node, the plugin's pods on this node by both DaemonSets' labels,
    // the ConfigMap; discovery aside, nothing else.
    let paths = try XCTUnwrap(server).requests().filter { !["/api", "/apis", "/api/v1"].contains($0.path) }
    XCTAssertEqual(
      paths.map(\.path).sorted(),
      ["/api/v1/namespaces/kube-system/configmaps/sriovdp-config", "/api/v1/nodes/x710-host", "/api/v1/pods"])
    let pods = try XCTUnwrap(paths.first { $0.path == "/api/v1/pods" })
    XCTAssertTrue(pods.query.contains("fieldSelector=spec.nodeName=x710-host"), pods.query)
    XCTAssertTrue(pods.query.contains("labelSelector=app+in+(sriovdp,sriov-device-plugin)"), pods.query)

    // Without --kubeconfig nothing is asked and no kubernetes.* finding appears.
    let before = try XCTUnwrap(server).requests().count
    let plain = try sriovctl(["check", "--root", root, "-o", "json"])
    XCTAssertEqual(plain.status, 0, plain.stderr)
    let ids = try XCTUnwrap(try plain.json()["checks"] as? [[String: Any]]).compactMap { $0["id"] as? String }
    XCTAssertFalse(ids.contains { $0.hasPrefix("kubernetes.") }, "\(ids)")
    XCTAssertEqual(try XCTUnwrap(server).requests().count, before)
  }

  /// The generator's whole output (both PFs, one without VFs) read back by the checker: they
  /// agree on ens1f0's 4 VFs, and ens1f1's resource is a warning, not a mismatch.
  func testTheGeneratorsConfigIsWhatTheCheckerExpects() throws {
    for grouping in ["pf", "vendor"] {
      try start(configMaps: [Self.configMap(try generatedConfig(["--group-by", grouping]))])
      let findings = try check()
      let config = try XCTUnwrap(findings["kubernetes.device-plugin-config"], grouping)
      if grouping == "pf" {
        XCTAssertEqual(config.status, "warn", "\(config)")
        XCTAssertEqual(
          config.summary,
          "kube-system/sriovdp-config: intel.com/sriov_ens1f0 (4); intel.com/sriov_ens1f1 selects ens1f1, which has no VFs now")
      } else {
        // One resource for both PFs: it takes ens1f0's VFs, and ens1f1's when they exist.
        XCTAssertEqual(config.status, "pass", "\(config)")
        XCTAssertEqual(config.summary, "kube-system/sriovdp-config: intel.com/intel_sriov_netdevice (4)")
      }
    }
  }

  /// The example ConfigMap people copy, with the VF driver's old name: the finding names iavf.
  func testTheCopiedExampleWithI40evfNamesTheDriverTheVFsReallyUse() throws {
    let example = """
      {"resourceList": [
        {"resourceName": "intel_sriov_netdevice",
         "selectors": {"vendors": ["8086"], "devices": ["154c", "10ed"], "drivers": ["i40evf", "ixgbevf"]}},
        {"resourceName": "intel_sriov_dpdk",
         "selectors": {"vendors": ["8086"], "devices": ["154c", "10ed"], "drivers": ["vfio-pci"], "pfNames": ["enp0s0f0", "enp2s2f1"]}},
        {"resourceName": "mlnx_sriov_rdma",
         "selectors": {"vendors": ["15b3"], "devices": ["1018"], "drivers": ["mlx5_ib"], "isRdma": true}}
      ]}
      """
    try start(nodeStatus: Self.ready(allocatable: ["cpu": "16"]),
      configMaps: [Self.configMap(example)])
    let findings = try check(status: 1)
    let config = try XCTUnwrap(findings["kubernetes.device-plugin-config"])
    XCTAssertEqual(config.status, "fail")
    XCTAssertEqual(
      config.summary,
      "intel.com/intel_sriov_netdevice selects none of this host's devices: drivers [i40evf, ixgbevf]: none of the 4 "
        + "devices selected so far match; they have driver iavf (4)")
    XCTAssertEqual(
      config.details,
      [
        "intel.com/intel_sriov_netdevice vendors [8086]: 6 of 6 pass",
        "intel.com/intel_sriov_netdevice devices [154c, 10ed]: 4 of 6 pass",
        "intel.com/intel_sriov_netdevice drivers [i40evf, ixgbevf]: 0 of 4 pass; they have driver iavf (4)",
        "intel.com/intel_sriov_dpdk: for other hardware (no device here has its vendors, devices, addresses or PF names)",
        "intel.com/mlnx_sriov_rdma: for other hardware (no device here has its vendors, devices, addresses or PF names)",
        "in no resource: VF 0 of ens1f0 (0000:3b:02.0), VF 1 of ens1f0 (0000:3b:02.1), VF 2 of ens1f0 (0000:3b:02.2), "
          + "VF 3 of ens1f0 (0000:3b:02.3)",
      ])
    XCTAssertTrue(config.remedy?.contains("sriovctl device-plugin-config --namespace kube-system | kubectl apply -f -") ?? false)
    XCTAssertEqual(findings["kubernetes.allocatable"]?.status, "skip")

    // Corrected, the same resource takes the four VFs.
    try start(configMaps: [Self.configMap(example.replacingOccurrences(of: "\"i40evf\", \"ixgbevf\"", with: "\"iavf\""))])
    let fixed = try check()
    XCTAssertEqual(fixed["kubernetes.device-plugin-config"]?.status, "pass")
    XCTAssertEqual(
      fixed["kubernetes.device-plugin-config"]?.summary, "kube-system/sriovdp-config: intel.com/intel_sriov_netdevice (4)")
  }

  func testResourcesThatSelectNothingSayWhyFieldByField() throws {
    let config = """
      {"resourceList": [
        {"resourceName": "first", "resourcePrefix": "example.com", "selectors": {"pfNames": ["ens1f0#0-1"]}},
        {"resourceName": "wide", "selectors": {"vendors": ["8086"], "devices": ["154c"], "pfNames": ["ens1f0#0-1"]}},
        {"resourceName": "range", "selectors": [{"pfNames": ["ENS1F0#8-15"]}]},
        {"resourceName": "typo", "selectors": {"drivers": "iavf"}}
      ]}
      """
    try start(
      nodeStatus: Self.ready(allocatable: ["example.com/first": "2"]),
      configMaps: [Self.configMap(config)])
    let config_ = try XCTUnwrap(try check(status: 1)["kubernetes.device-plugin-config"])
    XCTAssertEqual(config_.status, "fail")
    XCTAssertEqual(config_.summary, "3 resources of kube-system/sriovdp-config are wrong for this host")
    XCTAssertEqual(
      Array(config_.details.prefix(3)),
      [
        "intel.com/wide selects none of this host's devices: the 2 device(s) it selects were all given to "
          + "example.com/first, listed earlier (the device plugin gives a device to the first resource that selects it)",
        "intel.com/range selects none of this host's devices: pfNames [ENS1F0#8-15]: none of the 6 devices match; "
          + "they have PF ens1f0#0 (1), ens1f0#1 (1), ens1f0#2 (1), ens1f0#3 (1), none (not a VF) (2)",
        "intel.com/typo: the device plugin skips it: selectors.drivers is not a list of strings",
      ])
    XCTAssertTrue(
      config_.details.contains(
        "intel.com/range pfNames [ENS1F0#8-15]: 0 of 6 pass; they have PF ens1f0#0 (1), ens1f0#1 (1), ens1f0#2 (1), "
          + "ens1f0#3 (1), none (not a VF) (2)"), "\(config_.details)")
  }

  func testAConfigMapThePluginWouldRefuseOrThatIsMissing() throws {
    let cases: [(String, String)] = [
      ("{\"resourceList\": [", "the device plugin would not start with kube-system/sriovdp-config: config.json is not JSON"),
      ("{\"resourceList\": [{\"resourceName\": \"a b\", \"selectors\": {}}]}",
       "the device plugin would not start with kube-system/sriovdp-config: resource name 'a b' has characters"),
      ("{\"resourceList\": [{\"resourceName\": \"a\", \"selectors\": {}}, {\"resourceName\": \"a\", \"selectors\": {}}]}",
       "the device plugin would not start with kube-system/sriovdp-config: two resources are named 'intel.com/a'"),
      ("{\"resources\": []}", "config.json is not a device plugin configuration: it has no resourceList"),
    ]
    for (text, expected) in cases {
      try start(configMaps: [Self.configMap(text)])
      let finding = try XCTUnwrap(try check(status: 1)["kubernetes.device-plugin-config"])
      XCTAssertEqual(finding.status, "fail", text)
      XCTAssertTrue(finding.summary.contains(expected), "\(text): \(finding.summary)")
    }
    try start(configMaps: [])
    let missing = try check(status: 1)
    XCTAssertEqual(missing["kubernetes.device-plugin-config"]?.summary, "there is no ConfigMap kube-system/sriovdp-config")
    XCTAssertEqual(missing["kubernetes.allocatable"]?.status, "skip")

    // Another ConfigMap, named with --device-plugin-config; the operator's form keys it by node.
    try start(configMaps: [
      ["metadata": ["name": "device-plugin-config", "namespace": "sriov-network-operator"],
       "data": ["x710-host": try generatedConfig(["--pf", "ens1f0"])]]
    ])
    let named = try check(["--device-plugin-config", "sriov-network-operator/device-plugin-config"], status: 0)
    XCTAssertEqual(
      named["kubernetes.device-plugin-config"]?.summary,
      "sriov-network-operator/device-plugin-config: intel.com/sriov_ens1f0 (4)")
  }

  func testAllocatableMissingOrDifferentNamesTheCause() throws {
    try start(nodeStatus: Self.ready(allocatable: ["cpu": "16"]))
    let missing = try XCTUnwrap(try check(status: 1)["kubernetes.allocatable"])
    XCTAssertEqual(missing.status, "fail")
    XCTAssertEqual(
      missing.summary,
      "node x710-host offers none of the resources that take this host's VFs: intel.com/sriov_ens1f0: not in allocatable, 4 here")
    XCTAssertEqual(
      missing.remedy,
      "the device plugin reads config.json and finds devices only when it starts: after changing the ConfigMap or the "
        + "VFs, restart it (kubectl -n kube-system delete pod kube-sriov-device-plugin-7xk2p); if that does not help, read its log")

    try start(nodeStatus: Self.ready(allocatable: ["intel.com/sriov_ens1f0": "2"]))
    let different = try XCTUnwrap(try check(status: 0)["kubernetes.allocatable"])
    XCTAssertEqual(different.status, "warn")
    XCTAssertEqual(
      different.summary, "node x710-host offers a different count than this host has: intel.com/sriov_ens1f0: 2 allocatable, 4 here")

    // The plugin started with --resource-prefix: the resources are named with it.
    try start(
      nodeStatus: Self.ready(allocatable: ["example.com/sriov_ens1f0": "4"]),
      configMaps: [Self.configMap(try generatedConfig(["--pf", "ens1f0"]).replacingOccurrences(of: "\"resourcePrefix\": \"intel.com\",", with: ""))],
      pods: [Self.pod(args: ["--resource-prefix", "example.com"])])
    let prefixed = try check(status: 0)
    XCTAssertEqual(prefixed["kubernetes.allocatable"]?.summary, "node x710-host offers example.com/sriov_ens1f0: 4")

    // No plugin pod: allocatable says so rather than asking for a restart.
    try start(nodeStatus: Self.ready(allocatable: nil), pods: [])
    let none = try check(status: 1)
    XCTAssertEqual(none["kubernetes.device-plugin"]?.status, "fail")
    XCTAssertEqual(
      none["kubernetes.device-plugin"]?.summary,
      "no device plugin pod on node x710-host (pods labelled app=sriovdp or app=sriov-device-plugin)")
    XCTAssertEqual(
      none["kubernetes.allocatable"]?.remedy, "no device plugin is running on the node (see kubernetes.device-plugin); start it")
  }

  func testThePluginPodsStateDecides() throws {
    try start(pods: [Self.pod(ready: false, waiting: "CrashLoopBackOff")])
    let crashing = try XCTUnwrap(try check(status: 1)["kubernetes.device-plugin"])
    XCTAssertEqual(crashing.status, "fail")
    XCTAssertEqual(
      crashing.summary,
      "kube-system/kube-sriov-device-plugin-7xk2p is Running, waiting: CrashLoopBackOff (back-off 5m0s restarting failed container)")
    XCTAssertEqual(
      crashing.remedy,
      "see why: kubectl -n kube-system describe pod kube-sriov-device-plugin-7xk2p; kubectl -n kube-system logs kube-sriov-device-plugin-7xk2p")

    // Another node's pod does not count; the operator's label does.
    try start(pods: [Self.pod(name: "elsewhere", node: "worker-2"), Self.pod(name: "sriov-device-plugin-q8x", app: "sriov-device-plugin")])
    let operatorPod = try XCTUnwrap(try check(status: 0)["kubernetes.device-plugin"])
    XCTAssertEqual(operatorPod.summary, "kube-system/sriov-device-plugin-q8x is Running, ready")

    try start(pods: [Self.pod(name: "elsewhere", node: "worker-2"), Self.pod(name: "unrelated", app: "nginx")])
    XCTAssertEqual(try check(status: 1)["kubernetes.device-plugin"]?.status, "fail")

    try start(pods: [Self.pod(phase: "Pending", ready: false)])
    let pending = try XCTUnwrap(try check(status: 1)["kubernetes.device-plugin"])
    XCTAssertEqual(pending.summary, "kube-system/kube-sriov-device-plugin-7xk2p is Pending")
  }

  func testTheNodeAndItsLabels() throws {
    try start(nodeStatus: ["conditions": [["type": "Ready", "status": "False", "reason": "KubeletNotReady",
      "message": "container runtime network not ready"]]])
    let notReady = try check(status: 1)
    XCTAssertEqual(notReady["kubernetes.node"]?.status, "fail")
    XCTAssertEqual(
      notReady["kubernetes.node"]?.summary,
      "node x710-host is not Ready (Ready=False, KubeletNotReady: container runtime network not ready)")

    let unknown = try check(["--node", "worker-9"], status: 1)
    XCTAssertEqual(unknown["kubernetes.node"]?.summary, "node worker-9 is not registered in the cluster")
    XCTAssertEqual(unknown["kubernetes.label"]?.status, "skip")
    XCTAssertEqual(unknown["kubernetes.allocatable"]?.status, "skip")
    XCTAssertEqual(unknown["kubernetes.device-plugin"]?.status, "fail", "no plugin pod on a node that does not exist")

    try start(labels: ["kubernetes.io/hostname": "x710-host"])
    let unlabelled = try XCTUnwrap(try check(status: 1)["kubernetes.label"])
    XCTAssertEqual(unlabelled.status, "fail")
    XCTAssertEqual(
      unlabelled.summary,
      "node x710-host has no sriov label, but this host offers VFs: pods selecting sriov=enabled will not be scheduled here")
    XCTAssertEqual(unlabelled.remedy, "sriovctl label --kubeconfig \(try XCTUnwrap(server).kubeconfig) --node x710-host")
    // The remedy is the command that fixes it, with the same context and prefix.
    let other = try check(["--context", "test", "--label-prefix", "example.com/"], status: 1)
    XCTAssertEqual(
      other["kubernetes.label"]?.remedy,
      "sriovctl label --kubeconfig \(try XCTUnwrap(server).kubeconfig) --context test --node x710-host --prefix example.com/")

    var stale = Self.labelled
    stale["sriovctl.io/vfs"] = "2"
    stale.removeValue(forKey: "sriovctl.io/nic-vendor")
    try start(labels: stale)
    let staleFinding = try XCTUnwrap(try check(status: 0)["kubernetes.label"])
    XCTAssertEqual(staleFinding.status, "warn")
    XCTAssertEqual(staleFinding.details, ["sriovctl.io/vfs is 2 (4 here)", "sriovctl.io/nic-vendor is missing (8086 here)"])

    // After 'sriovctl label' the same node passes: label and check agree on the labels.
    let label = try sriovctl(["label", "--root", root, "--kubectl", try XCTUnwrap(server).kubectl, "--kubeconfig", try XCTUnwrap(server).kubeconfig])
    XCTAssertEqual(label.status, 0, label.stderr)
    let server = try XCTUnwrap(self.server)
    let run = try sriovctl(["check", "--root", root, "-o", "json", "--kubectl", server.kubectl, "--kubeconfig", server.kubeconfig])
    let labels = try XCTUnwrap(try run.json()["checks"] as? [[String: Any]]).first { $0["id"] as? String == "kubernetes.label" }
    XCTAssertEqual(labels?["status"] as? String, "pass")
  }

  /// kubectl missing, the cluster unreachable, the credentials rejected or refused: one finding
  /// each, and nothing else asked.
  func testAClusterThatCannotBeReadIsOneFinding() throws {
    try start()
    let server = try XCTUnwrap(server)
    func only(_ arguments: [String]) throws -> [String: Any] {
      let run = try sriovctl(["check", "--root", root, "-o", "json"] + arguments)
      XCTAssertEqual(run.status, 1, run.stdout + run.stderr)
      let checks = try XCTUnwrap(try run.json()["checks"] as? [[String: Any]]).filter {
        ($0["id"] as? String ?? "").hasPrefix("kubernetes.")
      }
      XCTAssertEqual(checks.count, 1, "\(checks)")
      XCTAssertEqual(checks.first?["id"] as? String, "kubernetes.cluster")
      XCTAssertEqual(checks.first?["status"] as? String, "fail")
      return try XCTUnwrap(checks.first)
    }
    let noKubectl = try only(["--kubectl", "/nonexistent/kubectl", "--kubeconfig", server.kubeconfig])
    XCTAssertEqual(noKubectl["summary"] as? String, "kubectl was not found (/nonexistent/kubectl)")

    // A kubectl that cannot be started (not executable): kubectl's failure, in words.
    let notExecutable = root + "/kubectl"
    try "#!/bin/sh\n".write(toFile: notExecutable, atomically: true, encoding: .utf8)
    let refusedToRun = try only(["--kubectl", notExecutable, "--kubeconfig", server.kubeconfig])
    XCTAssertEqual(refusedToRun["summary"] as? String, "kubectl failed: Permission denied (EACCES)")

    let down = server.kubeconfig + ".down"
    try FakeAPIServer.kubeconfig(server: "http://127.0.0.1:1").write(toFile: down, atomically: true, encoding: .utf8)
    let unreachable = try only(["--kubectl", server.kubectl, "--kubeconfig", down])
    XCTAssertEqual(unreachable["summary"] as? String, "the cluster cannot be reached")

    try start(mode: "unauthorized")
    let rejected = try only(["--kubectl", self.server!.kubectl, "--kubeconfig", self.server!.kubeconfig])
    XCTAssertEqual(rejected["summary"] as? String, "the cluster rejected the credentials in \(self.server!.kubeconfig)")

    try start(mode: "forbidden")
    let refused = try only(["--kubectl", self.server!.kubectl, "--kubeconfig", self.server!.kubeconfig])
    XCTAssertEqual(refused["summary"] as? String, "the credentials may not read node x710-host (RBAC)")
    XCTAssertEqual(Set(try self.server!.requests().map(\.method)), ["GET"])
  }

  func testRBACRefusalOfOneKindIsThatChecksFinding() throws {
    try start(mode: "forbidden-configmaps")
    let configMaps = try check(status: 1)
    XCTAssertEqual(configMaps["kubernetes.device-plugin-config"]?.summary, "the credentials may not read ConfigMap kube-system/sriovdp-config (RBAC)")
    XCTAssertEqual(configMaps["kubernetes.node"]?.status, "pass")
    XCTAssertEqual(configMaps["kubernetes.device-plugin"]?.status, "pass")

    try start(mode: "forbidden-pods")
    let pods = try check(status: 1)
    XCTAssertEqual(pods["kubernetes.device-plugin"]?.summary, "the credentials may not list pods (RBAC)")
    XCTAssertEqual(pods["kubernetes.device-plugin-config"]?.status, "pass")
  }

  func testClusterOptionsAreRefusedWithoutAKubeconfigOrWithABadOne() throws {
    try start()
    let directory = try temporaryDirectory(self).path
    for (arguments, message) in [
      (["--node", "worker-1"], "--node is for the cluster checks, which run only with --kubeconfig FILE"),
      (["--device-plugin-config", "a/b"], "--device-plugin-config is for the cluster checks"),
      (["--kubeconfig", directory + "/absent"], "--kubeconfig '\(directory)/absent': No such file or directory"),
      (["--kubeconfig", try XCTUnwrap(server).kubeconfig, "--device-plugin-config", "kube-system"],
       "--device-plugin-config 'kube-system' is not NAMESPACE/NAME"),
      (["--kubeconfig", try XCTUnwrap(server).kubeconfig, "--label-prefix", "example.com"],
       "--label-prefix 'example.com' is not a label prefix"),
      (["--kubeconfig", try XCTUnwrap(server).kubeconfig, "--node", "Bad_Node"], "--node 'Bad_Node' is not a node name"),
    ] {
      let run = try sriovctl(["check", "--root", root] + arguments)
      assertCleanFailure(run, status: 64, mentioning: [message])
    }
    XCTAssertEqual(try XCTUnwrap(server).requests().count, 0, "kubectl never ran")
  }
}
