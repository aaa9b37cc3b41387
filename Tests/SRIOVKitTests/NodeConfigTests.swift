import Foundation
import SRIOVFixtures
import SRIOVKit
import XCTest

/// The node file without a kernel: parsing, each error at its line and column, the operator's
/// merge rules, and NodeApply's parallel PFs through a test double.
final class NodeConfigTests: XCTestCase {
  private func x710() throws -> HostRoot {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("node-\(UUID().uuidString)").path
    addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
    try FixtureHosts.x710(at: directory)
    return try HostRoot(directory)
  }

  /// The issue's own example.
  static let example = """
    version: 1
    policies:
      - name: dpdk
        nicSelector:
          pfNames: ["ens1f0#0-3"]
          rootDevices: ["0000:3b:00.0"]
          vendor: "8086"
          deviceID: "1572"
        numVfs: 8
        deviceType: vfio-pci
        mtu: 9000
        priority: 10
        resourceName: intel_dpdk
      - name: kernel
        nicSelector: {pfNames: ["ens1f0#4-7"]}
        numVfs: 8
        vfSettings: {mac: auto, vlan: 100, trust: on, spoofchk: off, linkState: auto, maxTxRate: 1000}
      - name: other-rack
        nicSelector: {rootDevices: ["0000:af:00.0"]}
        numVfs: 4

    """

  func testTheIssueExampleBecomesOneRequestPerPF() throws {
    let config = try NodeConfig.parse(Self.example, file: "node.yaml")
    XCTAssertEqual(config.format, .sriovctl)
    XCTAssertEqual(config.policies.map(\.name), ["dpdk", "kernel", "other-rack"])
    let targets = try config.resolve(root: try x710())
    XCTAssertEqual(targets.unmatched, ["other-rack"])
    XCTAssertEqual(targets.pfs.map(\.pf.address.description), ["0000:3b:00.0"])
    let request = targets.pfs[0].request
    XCTAssertEqual(request.pf, .address(PCIAddress("0000:3b:00.0")!))
    XCTAssertEqual(request.count, 8)
    XCTAssertEqual(request.policies, ["dpdk", "kernel"])
    XCTAssertEqual(request.mtu, 9000)
    let vfio = VFDriver.named(DriverName("vfio-pci")!)
    XCTAssertEqual((0..<8).map { request.drivers.value(for: $0) }, [vfio, vfio, vfio, vfio, .kernel, .kernel, .kernel, .kernel])
    XCTAssertNil(request[.vlan].value(for: 3))
    XCTAssertEqual(request[.vlan].value(for: 4), .value(.vlan(100)))
    XCTAssertEqual(request[.mac].value(for: 7), .derivedMAC)
    XCTAssertEqual(request[.trust].value(for: 5), .value(.trust(true)), "'on' is read as text, not YAML 1.1's boolean")
    XCTAssertEqual(request[.maxTxRate].value(for: 6), .value(.maxTxRate(1000)))
    XCTAssertEqual(targets.pfs[0].resources.map(\.resourceName), ["intel_dpdk", "kernel"])
    XCTAssertEqual(targets.pfs[0].resources.map(\.vfs), [0...3, 4...7])
  }

  private func message(_ text: String) -> String {
    do {
      _ = try NodeConfig.parse(text, file: "n.yaml").resolve(root: try x710())
      return "no error"
    } catch {
      return "\(error)"
    }
  }

  private func policy(_ lines: String) -> String {
    "version: 1\npolicies:\n" + lines
  }

  func testEachMistakeIsOneErrorAtItsLineAndColumn() {
    let cases: [(String, String)] = [
      ("", "n.yaml: empty file: expected 'version: 1' and 'policies'"),
      ("- a\n- b\n", "n.yaml:1:1: the file must be a mapping (key: value)"),
      ("version: 2\npolicies: []\n", "n.yaml:1:10: version '2': expected a whole number from 1 to 1"),
      ("policies: []\n", "n.yaml:1:1: missing 'version: 1' (or give SriovNetworkNodePolicy documents)"),
      ("version: 1\npolicies: [\n", "n.yaml:3:1: not valid YAML: did not find expected node content"),
      (policy("  - name: a\n    nicSelector: {pfNames: [ens1f0]}\n    numVfs: 2\n    colour: red\n"),
        "n.yaml:6:5: unknown key 'colour' in a policy (expected name, nicSelector, numVfs, deviceType, mtu, priority, resourceName, vfSettings, needVhostNet, excludeTopology)"),
      (policy("  - name: a\n    nicSelector: {pfNames: [ens1f0]}\n    numVfs: eight\n"),
        "n.yaml:5:13: numVfs 'eight': expected a whole number from 0 to 65535"),
      (policy("  - name: a\n    nicSelector: {pfNames: ens1f0}\n    numVfs: 2\n"), "n.yaml:4:28: pfNames must be a list"),
      (policy("  - name: a\n    nicSelector: {pfNames: [\"ens1f0#0-3\"]}\n    numVfs: 2\n"),
        "n.yaml:4:29: pfNames 'ens1f0#0-3' names VF 3, but policy 'a' has numVfs 2 (VFs 0 to 1)"),
      (policy("  - name: a\n    nicSelector: {rootDevices: [\"3b:00.9\"]}\n    numVfs: 2\n"),
        "n.yaml:4:33: rootDevices '3b:00.9': expected a PCI address (0000:3b:00.0)"),
      (policy("  - name: a\n    nicSelector: {pfNames: [ens1f0]}\n    numVfs: 2\n    vfSettings: {vlan: 4095}\n"),
        "n.yaml:6:24: vlan '4095': expected a VLAN ID from 0 (none) to 4094"),
      (policy("  - name: a\n    nicSelector: {pfNames: [ens1f0]}\n    numVfs: 2\n    vfSettings: {mac: \"02:00:00:00:00:01\"}\n"),
        "n.yaml:6:23: mac 02:00:00:00:00:01: one address cannot serve several VFs; give mac: auto, or a policy per VF"),
      (policy("  - name: a\n    nicSelector: {pfNames: [ens1f0]}\n    numVfs: 2\n    deviceType: \"vfio pci\"\n"),
        "n.yaml:6:17: deviceType 'vfio pci': expected netdevice or a driver name such as vfio-pci"),
      (policy("  - name: a\n    nicSelector: {}\n    numVfs: 2\n"),
        "n.yaml:4:18: nicSelector selects nothing: give pfNames, rootDevices, vendor or deviceID"),
      (policy("  - name: a\n    nicSelector: {pfNames: [\"ens1f0#0-3\"]}\n    numVfs: 8\n  - name: b\n    nicSelector: {pfNames: [\"ens1f0#2-5\"]}\n    numVfs: 8\n"),
        "n.yaml:6:5: policies 'a' and 'b' claim the same VFs of 0000:3b:00.0 (ens1f0) with the same priority 99; give one a lower priority number or split the VF ranges"),
      (policy("  - name: a\n    nicSelector: {pfNames: [\"ens1f0#0-3\"]}\n    numVfs: 8\n  - name: b\n    nicSelector: {pfNames: [\"ens1f0#4-5\"]}\n    numVfs: 6\n"),
        "n.yaml:8:13: policies 'a' and 'b' both select 0000:3b:00.0 (ens1f0) with different numVfs (8 and 6)"),
      (policy("  - name: a\n    nicSelector: {pfNames: [ens1f0]}\n    numVfs: 2\n  - name: a\n    nicSelector: {pfNames: [ens1f1]}\n    numVfs: 2\n"),
        "n.yaml:6:5: a second policy named 'a'"),
    ]
    for (text, expected) in cases {
      XCTAssertEqual(message(text), expected, text)
    }
  }

  private func operatorDocument(_ name: String, spec: String) -> String {
    """
    apiVersion: sriovnetwork.openshift.io/v1
    kind: SriovNetworkNodePolicy
    metadata:
      name: \(name)
      namespace: sriov-network-operator
    spec:
    \(spec)
    """
  }

  func testOperatorPoliciesAreAppliedAsTheyAre() throws {
    let text = operatorDocument("dpdk", spec: """
        resourceName: intel_dpdk
        nodeSelector: {feature.node.kubernetes.io/network-sriov.capable: "true"}
        priority: 10
        numVfs: 8
        nicSelector: {pfNames: ["ens1f0#0-3"], vendor: "8086"}
        deviceType: vfio-pci
      """) + "\n---\n" + operatorDocument("kernel", spec: """
        resourceName: kernel
        priority: 20
        numVfs: 8
        nicSelector: {pfNames: ["ens1f0#4-7"]}
        deviceType: netdevice
        isRdma: false
        linkType: eth
      """)
    let config = try NodeConfig.parse(text, file: "policies.yaml")
    XCTAssertEqual(config.format, .operator)
    XCTAssertEqual(config.notes, ["dpdk: nodeSelector not evaluated (sriovctl configures the node it runs on)"])
    let targets = try config.resolve(root: try x710())
    let equivalent = try NodeConfig.parse(policy("""
        - name: dpdk
          nicSelector: {pfNames: ["ens1f0#0-3"], vendor: "8086"}
          numVfs: 8
          deviceType: vfio-pci
          priority: 10
          resourceName: intel_dpdk
        - name: kernel
          nicSelector: {pfNames: ["ens1f0#4-7"]}
          numVfs: 8
          priority: 20

      """), file: "node.yaml").resolve(root: try x710())
    XCTAssertEqual(targets.pfs.map(\.request), equivalent.pfs.map(\.request))
    // As kubectl get -o yaml prints them: one List.
    let indented = text.components(separatedBy: "\n---\n").map { document in
      "  - " + document.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\n    ")
    }
    let list = "apiVersion: v1\nkind: List\nitems:\n" + indented.joined(separator: "\n") + "\n"
    XCTAssertEqual(try NodeConfig.parse(list, file: "list.yaml").resolve(root: try x710()).pfs.map(\.request), equivalent.pfs.map(\.request))
    XCTAssertEqual(targets.pfs[0].request.policies, ["dpdk", "kernel"])
  }

  func testOperatorFieldsSriovctlCannotHonourAreRefusedByName() {
    let refusals: [(String, String)] = [
      ("isRdma: true", "isRdma: true is not supported by sriovctl"),
      ("eSwitchMode: switchdev", "eSwitchMode: switchdev is not supported by sriovctl"),
      ("linkType: ib", "linkType: ib is not supported by sriovctl"),
      ("linkType: IB", "linkType: IB is not supported by sriovctl"),
      ("vdpaType: virtio", "vdpaType is not supported by sriovctl"),
    ]
    for (field, expected) in refusals {
      let text = operatorDocument("p", spec: "  numVfs: 2\n  nicSelector: {pfNames: [ens1f0]}\n  \(field)\n")
      let error = message(text)
      XCTAssertTrue(error.hasPrefix("n.yaml:9:"), error)
      XCTAssertTrue(error.contains(expected), error)
    }
  }

  func testTheLowerPriorityNumberWinsAndTheOtherPolicyIsNoted() throws {
    let text = policy("""
        - name: wide
          nicSelector: {pfNames: [ens1f0]}
          numVfs: 4
          priority: 50
          vfSettings: {vlan: 7}
        - name: narrow
          nicSelector: {pfNames: ["ens1f0#0-1"]}
          numVfs: 4
          priority: 5
          deviceType: vfio-pci
          mtu: 9000
        - name: mtu
          nicSelector: {pfNames: ["ens1f0#2-3"]}
          numVfs: 4
          priority: 6
          mtu: 1500

      """)
    let targets = try NodeConfig.parse(text, file: "n.yaml").resolve(root: try x710())
    let request = targets.pfs[0].request
    XCTAssertEqual(request.policies, ["narrow", "mtu"])
    XCTAssertNil(request[.vlan].value(for: 2), "the overlapping lower-priority policy is not applied at all")
    XCTAssertEqual(request.mtu, 9000)
    XCTAssertEqual(
      targets.notes,
      [
        "wide (priority 50) is not applied to 0000:3b:00.0 (ens1f0): its VFs overlap those of narrow (priority 5)",
        "0000:3b:00.0 (ens1f0): the policies ask for MTUs 1500, 9000; the largest, 9000, is set",
      ])
  }

  func testAFileUnderTheRootIsTheDefaultAndMissingIsAnError() throws {
    let root = try x710()
    XCTAssertThrowsError(try NodeConfig.load(path: nil, root: root)) { error in
      XCTAssertTrue("\(error)".contains("/etc/sriovctl/sriovctl.yaml: no such file"), "\(error)")
    }
  }

  // MARK: NodeApply

  /// Counts the PFs whose configuration has started; each waits until all have.
  private final class Rendezvous: @unchecked Sendable {
    private let condition = NSCondition()
    private var arrived = 0

    /// Whether `count` arrived within `seconds`.
    func arriveAndWait(for count: Int, seconds: Double) -> Bool {
      condition.lock()
      defer { condition.unlock() }
      arrived += 1
      condition.broadcast()
      let limit = Date(timeIntervalSinceNow: seconds)
      while arrived < count {
        if !condition.wait(until: limit) { return arrived >= count }
      }
      return true
    }
  }

  /// A PF that exists only in memory: its `sriov_numvfs` write returns only once the other PF's
  /// write has started (or fails after 10 s).
  private final class RendezvousOperations: HostOperations {
    let state: PFState
    let rendezvous: Rendezvous
    var writes: [Int] = []
    var created = 0

    init(_ state: PFState, _ rendezvous: Rendezvous) {
      self.state = state
      self.rendezvous = rendezvous
    }

    func readState() throws -> PFState { state }
    func writeNumVFs(_ count: Int) throws {
      writes.append(count)
      if count > 0 {
        guard rendezvous.arriveAndWait(for: 2, seconds: 10) else {
          throw VFRequestError.invalidValue(option: "test", value: "\(state.address)", expected: "the other PF's write to start within 10 s")
        }
      }
      created = count
    }
    func writeAutoprobe(_ on: Bool) throws {}
    func setMTU(_ mtu: Int) throws {}
    func bringUp() throws {}
    func loadModule(_ name: String) throws {}
    func virtualFunctions() throws -> [PFState.VF] {
      (0..<created).map { PFState.VF(index: $0, address: PCIAddress(bus: 0x3b, device: 2, function: UInt8($0))!, driver: "iavf") }
    }
    func bind(_ vf: PFState.VF, to driver: VFDriver, vfDrivers: [String]) throws {}
    func setLink(vf: Int, _ change: VFLinkChange) throws {}
    func linkSettings() throws -> [VFLinkSettings] { [] }
    func watch() throws {}
    func waitUntilReady(count: Int, drivers: [Int: String], interfacesExpected: Bool) throws {}
    func finalState(count: Int, dryRun: Bool) throws -> (interface: String?, vfs: [VFState]) {
      (state.interface, try virtualFunctions().map { VFState(index: $0.index, address: $0.address, interface: nil, driver: $0.driver, settings: nil) })
    }
  }

  /// The design proof of the issue: apply, with the real planner and executor over a host whose
  /// `sriov_numvfs` write blocks until the other PF's write has started. Run one after the other,
  /// the first write would wait out its 10 s and fail.
  func testPFsAreConfiguredAtTheSameTime() throws {
    let root = try x710()
    let text = policy("  - name: both\n    nicSelector: {vendor: \"8086\"}\n    numVfs: 3\n")
    let targets = try NodeConfig.parse(text, file: "n.yaml").resolve(root: root)
    XCTAssertEqual(targets.pfs.count, 2)
    let rendezvous = Rendezvous()
    let result = try NodeApply.run(targets, root: root, dryRun: false, timeout: 30) { request, dryRun, _ in
      guard case .address(let address) = request.pf else { throw VFRequestError.invalidCount(-1) }
      let operations = RendezvousOperations(
        PFState(address: address, interface: "ens1f0", numVFs: 0, totalVFs: 64, vfDrivers: ["iavf"], modules: ["iavf": .loaded]),
        rendezvous)
      let state = try operations.readState()
      let result = try PFExecutor.run(
        try PFPlanner.plan(request, state), request: request, state: state, operations: operations, dryRun: dryRun)
      XCTAssertEqual(operations.writes, [3])
      return result
    }
    XCTAssertEqual(result.errors, [String]())
    XCTAssertEqual(result.pfs.map { $0.result?.actions ?? [] }, [["create 3 VFs: write 3 to sriov_numvfs"], ["create 3 VFs: write 3 to sriov_numvfs"]])
    XCTAssertEqual(result.pfs.map { $0.result?.numVFs }, [3, 3])
  }

  func testOnePFFailingDoesNotStopTheOther() throws {
    let root = try x710()
    let text = policy("  - name: both\n    nicSelector: {vendor: \"8086\"}\n    numVfs: 3\n")
    let targets = try NodeConfig.parse(text, file: "n.yaml").resolve(root: root)
    let result = try NodeApply.run(targets, root: root, dryRun: false, timeout: 30) { request, _, _ in
      if request.pf == .address(PCIAddress("0000:3b:00.0")!) {
        throw VFCreationError.writeHung(pf: PCIAddress("0000:3b:00.0")!, count: 3, seconds: 1)
      }
      return VFCreationResult(
        pf: PCIAddress("0000:3b:00.1")!, interface: nil, changed: true, dryRun: false, previous: 0,
        numVFs: 3, actions: ["create"], vfs: [])
    }
    XCTAssertEqual(result.pfs.map { $0.error == nil }, [false, true])
    XCTAssertEqual(result.errors.count, 1)
    XCTAssertTrue(result.errors[0].hasPrefix("0000:3b:00.0: writing 3 to sriov_numvfs"), result.errors[0])
    XCTAssertEqual(result.pfs[1].result?.numVFs, 3)
  }

  func testVerifyFindsNothingWhenTheHostMatches() throws {
    let root = try x710()
    let text = policy("  - name: kernel\n    nicSelector: {pfNames: [ens1f0]}\n    numVfs: 4\n")
    let result = try NodeVerify.run(try NodeConfig.parse(text, file: "n.yaml").resolve(root: root), root: root)
    XCTAssertTrue(result.inSync, "\(result.differences)")
    XCTAssertEqual(result.unmatched, [])
  }

  func testVerifyNamesEachDifferenceWithoutChangingAnything() throws {
    let root = try x710()
    let text = policy("""
        - name: dpdk
          nicSelector: {pfNames: ["ens1f0#0-1"]}
          numVfs: 4
          deviceType: vfio-pci
        - name: second
          nicSelector: {rootDevices: ["0000:3b:00.1"]}
          numVfs: 2
        - name: elsewhere
          nicSelector: {pfNames: [eth9]}
          numVfs: 2
        - name: vlan
          nicSelector: {pfNames: ["ens1f0#2-3"]}
          numVfs: 4
          vfSettings: {vlan: 100}

      """)
    let numvfs = root.resolve("/sys/bus/pci/devices/0000:3b:00.1/sriov_numvfs")
    let before = try String(contentsOfFile: numvfs, encoding: .utf8)
    let result = try NodeVerify.run(try NodeConfig.parse(text, file: "n.yaml").resolve(root: root), root: root)
    XCTAssertFalse(result.inSync)
    XCTAssertEqual(result.unmatched, ["elsewhere"])
    XCTAssertEqual(result.differences.map { "\($0.pf) \($0.vf.map(String.init) ?? "-") \($0.field) \($0.want) \($0.have)" }, [
      "0000:3b:00.0 0 deviceType vfio-pci iavf",
      "0000:3b:00.0 1 deviceType vfio-pci iavf",
      // VF settings are read over rtnetlink, which a fixture tree does not have: said, not guessed.
      "0000:3b:00.0 - vfSettings readable over rtnetlink not read (not the live system)",
      "0000:3b:00.1 - numVfs 2 0",
    ])
    XCTAssertEqual(try String(contentsOfFile: numvfs, encoding: .utf8), before)
  }
}
