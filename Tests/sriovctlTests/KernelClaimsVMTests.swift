import Foundation
import XCTest

/// README claims that only a real kernel can prove, in one boot of the busybox guest
/// (Tests/vm/scenarios/kernel-claims.sh): Debian's 6.1 kernel with an emulated Intel 82576 (igb PF
/// 0000:01:00.0, eth0) and an emulated Intel IOMMU, booted with nothing loaded (--no-autoload) and
/// every modprobe replaced by a stub that records its calls and fails. Each test asserts one claim
/// on the steps the scenario kept (NAME.stdout, .stderr, .status, and the kernel's state before
/// and after: module list, numvfs, each VF's driver, netdev and sysfs inode).
final class KernelClaimsVMTests: XCTestCase {
  /// The one boot every test reads, made by the first test that needs it.
  nonisolated(unsafe) private static var shared: Result<TestbedResults, Error>?
  private static let directory = URL(fileURLWithPath: NSTemporaryDirectory())
    .appendingPathComponent("sriovctl-kernel-claims-\(getpid())")

  override class func tearDown() {
    try? FileManager.default.removeItem(at: directory)
    super.tearDown()
  }

  private func boot() throws -> TestbedResults {
    try Testbed.requireWanted()
    if Self.shared == nil {
      Self.shared = Result {
        try? FileManager.default.removeItem(at: Self.directory)
        return try Testbed.boot(
          self, "kernel-claims.sh", [try Testbed.iproute2()],
          options: Testbed.intelCPU + [
            "--viommu", "--cmdline", "intel_iommu=on iommu=pt", "--no-autoload", "--include", try Testbed.iproute2(),
          ],
          out: Self.directory, timeout: 600)
      }
    }
    return try XCTUnwrap(Self.shared).get()
  }

  /// One step's outcome.
  private struct Step {
    var status: Int32?
    var stdout: String
    var stderr: String
    var before: String
    var after: String
    var ip: String
  }

  private func step(_ name: String) throws -> Step {
    let boot = try boot()
    return Step(
      status: try boot.status("\(name).status"), stdout: try boot.text("\(name).stdout"),
      stderr: try boot.text("\(name).stderr"), before: try boot.text("\(name).before"),
      after: try boot.text("\(name).after"), ip: (try? boot.text("\(name).ip")) ?? "")
  }

  private func lines(_ state: String, _ prefix: String) -> [String] {
    state.split(separator: "\n").map(String.init).filter { $0.hasPrefix(prefix) }
  }

  /// The `vf N ...` line of `ip -d link show`.
  private func ipVF(_ ip: String, _ index: Int) -> String {
    ip.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.first { $0.hasPrefix("vf \(index) ") } ?? ""
  }

  /// A refusal: exit 1, exactly `message` (one line) on stderr, and the kernel's state as before.
  @discardableResult
  private func assertRefused(_ name: String, _ message: String, file: StaticString = #filePath, line: UInt = #line)
    throws -> Step
  {
    let step = try step(name)
    XCTAssertEqual(step.status, 1, step.stdout, file: file, line: line)
    XCTAssertEqual(step.stderr, "Error: " + message + "\n", file: file, line: line)
    XCTAssertEqual(step.after, step.before, "\(name) changed the kernel's state", file: file, line: line)
    return step
  }

  /// "Loads the VF driver itself with libkmod": igbvf, then vfio-pci, appear in /sys/module while
  /// every modprobe is a stub that was never called.
  func testCreateVFsLoadsTheDriversThroughLibkmod() throws {
    let boot = try boot()
    XCTAssertTrue(try boot.text("modprobe-stub").contains("modprobe-calls"), "the stub was not installed")
    XCTAssertEqual(lines(try boot.text("start"), "module "), ["module igb"], "nothing but igb before")
    let igbvf = try step("modules-igbvf")
    XCTAssertEqual(igbvf.status, 0, igbvf.stderr)
    XCTAssertEqual(lines(igbvf.after, "module "), ["module igb", "module igbvf"])
    XCTAssertEqual(lines(igbvf.after, "vf ").map { $0.contains(" driver=igbvf ") }, [true, true], igbvf.after)
    let actions = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(igbvf.stdout.utf8)) as? [String: Any])["actions"]
    XCTAssertEqual(actions as? [String], ["bring eth0 up", "load the VF driver igbvf", "create 2 VFs: write 2 to sriov_numvfs"])

    let vfio = try step("modules-vfio")
    XCTAssertEqual(vfio.status, 0, vfio.stderr)
    XCTAssertEqual(lines(vfio.after, "module "), ["module igb", "module igbvf", "module vfio", "module vfio_pci"])
    let vfs = lines(vfio.after, "vf ")
    XCTAssertTrue(vfs.count == 2 && vfs[1].hasPrefix("vf 1 driver=vfio-pci net=- "), vfio.after)
    let vfioJSON = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(vfio.stdout.utf8)) as? [String: Any])
    XCTAssertEqual(
      vfioJSON["actions"] as? [String], ["load the kernel module vfio-pci", "bind VF 1 (0000:01:10.2) to vfio-pci (was igbvf)"])
    XCTAssertTrue(boot.exists("modprobe-calls.none"), "modprobe ran: \((try? boot.text("modprobe-calls")) ?? "")")
    XCTAssertFalse(boot.exists("modprobe-calls"))
  }

  /// A VF bound to vfio-pci, and a VF whose netdev is in another network namespace, each stop a
  /// recount that would destroy them, naming the VF, with nothing changed; --force goes ahead.
  func testVFsInUseStopARecountUntilForced() throws {
    try assertRefused(
      "inuse-vfio",
      "0000:01:00.0: changing the VF count destroys every VF, and these are in use: VF 1 (0000:01:10.2) is "
        + "bound to vfio-pci. Nothing was changed; stop using them or add --force")

    let boot = try boot()
    let moved = try boot.text("inuse-netns.txt")
    XCTAssertTrue(moved.contains("\nstatus 0\n"), moved)
    let netns = try assertRefused(
      "inuse-netns",
      "0000:01:00.0: changing the VF count destroys every VF, and these are in use: VF 0 (0000:01:10.0) has "
        + "its network interface in another network namespace. Nothing was changed; stop using them or add --force")
    XCTAssertTrue(netns.before.contains("\nvf 0 driver=igbvf net=- "), "VF 0's netdev left this namespace: \(netns.before)")

    let force = try step("inuse-force")
    XCTAssertEqual(force.status, 0, force.stderr)
    XCTAssertTrue(force.after.hasPrefix("numvfs 3\n"), force.after)
    let inode = { (state: String) in self.lines(state, "vf 0 ").first?.split(separator: " ").last.map(String.init) }
    XCTAssertNotEqual(inode(force.after), inode(force.before), "VF 0 was destroyed and made again")
    XCTAssertEqual(lines(force.after, "vf ").count, 3)
  }

  /// The PF's --mtu and a VF's --max-tx-rate are applied and read back with iproute2; igb has no
  /// VF link state (EOPNOTSUPP), which is explained, with nothing changed.
  func testLinkSettingsOnIGBAreAppliedOrExplained() throws {
    let mtu = try step("link-mtu")
    XCTAssertEqual(mtu.status, 0, mtu.stderr)
    XCTAssertTrue(mtu.after.contains("\npf eth0 mtu=9000\n"), mtu.after)
    XCTAssertTrue(mtu.ip.contains(" mtu 9000 "), mtu.ip)

    let state = try assertRefused(
      "link-state",
      "0000:01:00.0: igb cannot set --link-state on its VFs (the kernel said EOPNOTSUPP for VF 0 state "
        + "disable); leave --link-state out for this NIC (the README lists which drivers support which VF settings)")
    XCTAssertTrue(ipVF(state.ip, 0).contains("link-state auto"), state.ip)

    let rate = try step("link-rate")
    XCTAssertEqual(rate.status, 0, rate.stderr)
    XCTAssertTrue(ipVF(rate.ip, 0).contains("max_tx_rate 100Mbps"), rate.ip)
    let vfs = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(rate.stdout.utf8)) as? [String: Any])?["vfs"] as? [[String: Any]])
    XCTAssertEqual(vfs.first?["max_tx_rate"] as? Int, 100)
  }

  /// The kernel's refusals, produced for real, are explained and change nothing: a user who is not
  /// root (the run lock, then sysfs itself), and a PF without its driver.
  func testKernelRefusalsAreExplainedAndChangeNothing() throws {
    try assertRefused(
      "nonroot-create",
      "cannot take the run lock /run/sriovctl.lock: Permission denied (EACCES); changing VFs or boot files "
        + "needs root (run sriovctl with sudo, or as root from Ansible with become: true)")

    try assertRefused("nonroot-write", "0000:01:00.0: permission denied (EACCES); run sriovctl as root. The PF now has 3 VFs")

    let unbound = try assertRefused(
      "unbound-create",
      "0000:01:00.0: no driver is bound to the PF, and the kernel creates VFs only through the PF's driver "
        + "(ENOENT); bind its driver first: 'modprobe DRIVER' or 'echo 0000:01:00.0 > /sys/bus/pci/drivers/DRIVER/bind' "
        + "('lspci -k -s 0000:01:00.0' names the kernel modules that can drive it). The PF now has 0 VFs")
    XCTAssertTrue(unbound.before.contains("\ndriver -\n"), unbound.before)
  }

  /// As nobody the kernel shows 64 bytes of config space: list still lists the PF (from sysfs) with
  /// the capability's figure unknown, and check passes what it can and skips the kernel log.
  func testListAndCheckAsAUserWhoIsNotRoot() throws {
    let boot = try boot()
    XCTAssertEqual(try boot.trimmed("config-size.nobody"), "64")
    XCTAssertEqual(try boot.trimmed("config-size.root"), "4096")
    func pf(_ name: String) throws -> [String: Any] {
      let run = try step(name)
      XCTAssertEqual(run.status, 0, run.stderr)
      XCTAssertEqual(run.stderr, "")
      let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
      XCTAssertEqual((json["unknown"] as? [Any])?.count, 0, "\(json)")
      let pfs = try XCTUnwrap(json["pfs"] as? [[String: Any]])
      XCTAssertEqual(pfs.count, 1)
      return try XCTUnwrap(pfs.first)
    }
    let asNobody = try pf("nonroot-list")
    let asRoot = try pf("root-list")
    XCTAssertEqual(asNobody["pci_address"] as? String, "0000:01:00.0")
    XCTAssertEqual(asNobody["total_vfs"] as? Int, 7)
    XCTAssertTrue(asNobody["device_total_vfs"] is NSNull, "\(asNobody)")
    XCTAssertEqual(asRoot["device_total_vfs"] as? Int, 8)
    XCTAssertEqual(asNobody["num_vfs"] as? Int, asRoot["num_vfs"] as? Int)

    func statuses(_ name: String) throws -> [String: String] {
      let run = try step(name)
      XCTAssertEqual(run.status, 0, run.stdout + run.stderr)
      let checks = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])?["checks"] as? [[String: Any]])
      return Dictionary(uniqueKeysWithValues: checks.map { ($0["id"] as? String ?? "?", $0["status"] as? String ?? "?") })
    }
    let all = [
      "firmware.iommu", "kernel.iommu", "kernel.cmdline", "kernel.log", "nic.sriov", "modules.vfio", "devices.vfio",
      "host.conflicts",
    ]
    // No huge pages reserved and no vhost_net or tun in this guest: those two warn.
    var expected = Dictionary(uniqueKeysWithValues: all.map { ($0, "pass") })
    expected["memory.hugepages"] = "warn"
    expected["devices.vhost-net"] = "warn"
    XCTAssertEqual(try statuses("root-check"), expected)
    expected["kernel.log"] = "skip"
    XCTAssertEqual(try statuses("nonroot-check"), expected)
    // With 3 VFs by then, each in an IOMMU group of its own under the vIOMMU, for root and nobody.
    for name in ["root-check", "nonroot-check"] {
      let checks = try XCTUnwrap(
        (try JSONSerialization.jsonObject(with: Data(try step(name).stdout.utf8)) as? [String: Any])?["checks"] as? [[String: Any]])
      XCTAssertEqual(
        checks.first { $0["id"] as? String == "devices.vfio" }?["summary"] as? String,
        "/dev/vfio/vfio (10:196); each of 3 VFs in an IOMMU group of its own", name)
    }
    XCTAssertTrue(try step("nonroot-check").stdout.contains("(reading /dev/kmsg needs root)"))
  }
}
