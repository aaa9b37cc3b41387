import Foundation
import XCTest

/// `sriovctl list` and `check` on a real Linux kernel: Debian's 6.1 kernel under QEMU with an
/// emulated Intel 82576 (igb, SR-IOV) and, in some scenarios, an emulated Intel IOMMU
/// (Tests/vm/testbed.sh, scenario check.sh). Each test is one boot, and asserts the status of every
/// check, and check's IOMMU verdict against what the guest's kernel registered (/sys/class/iommu,
/// each IOMMU group's type), recorded in the guest.
final class VMTests: XCTestCase {
  private func boot(_ options: [String], file: StaticString = #filePath, line: UInt = #line) throws -> TestbedResults {
    let result = try Testbed.boot(self, "check.sh", options: Testbed.intelCPU + options)
    let listErrors = try result.text("list.stderr")
    XCTAssertEqual(try result.status("list.status"), 0, listErrors, file: file, line: line)
    XCTAssertEqual(try result.text("check.stderr"), "", file: file, line: line)
    // Whatever the scenario, list shows the igb PF with the driver's real total.
    let pfs = try XCTUnwrap(try result.json("list.json")["pfs"] as? [[String: Any]], file: file, line: line)
    XCTAssertEqual(pfs.count, 1, "only the igb PF is a network PF", file: file, line: line)
    XCTAssertEqual(pfs.first?["pci_address"] as? String, "0000:01:00.0", file: file, line: line)
    XCTAssertEqual(pfs.first?["vendor_id"] as? String, "8086", file: file, line: line)
    XCTAssertEqual(pfs.first?["device_id"] as? String, "10c9", file: file, line: line)
    XCTAssertEqual(pfs.first?["driver"] as? String, "igb", file: file, line: line)
    XCTAssertEqual(pfs.first?["total_vfs"] as? Int, 7, "igb allows 7 of the 82576's 8", file: file, line: line)
    XCTAssertEqual(pfs.first?["device_total_vfs"] as? Int, 8, file: file, line: line)
    XCTAssertEqual(pfs.first?["vf_device_id"] as? String, "10ca", file: file, line: line)
    try assertIOMMUVerdictIsTheKernels(result, file: file, line: line)
    return result
  }

  /// Every check: id -> status (`nic.sriov` is once per PF; there is one PF).
  private func statuses(_ result: TestbedResults) throws -> [String: String] {
    let checks = try XCTUnwrap(try result.json("check.json")["checks"] as? [[String: Any]])
    let pairs = checks.map { ($0["id"] as? String ?? "?", $0["status"] as? String ?? "?") }
    XCTAssertEqual(Set(pairs.map(\.0)).count, pairs.count, "one check per id: \(pairs)")
    return Dictionary(pairs) { first, _ in first }
  }

  private func check(_ result: TestbedResults, _ id: String) throws -> [String: Any] {
    let checks = try XCTUnwrap(try result.json("check.json")["checks"] as? [[String: Any]])
    return try XCTUnwrap(checks.first { $0["id"] as? String == id }, "no \(id)")
  }

  /// kernel.iommu says what the guest's kernel registered: pass with its IOMMUs, its group count
  /// and the groups' mode exactly when it registered an IOMMU with groups, fail otherwise.
  private func assertIOMMUVerdictIsTheKernels(
    _ result: TestbedResults, file: StaticString = #filePath, line: UInt = #line
  ) throws {
    let truth = try result.text("iommu-truth.txt").split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
    let iommus = truth.filter { $0.first == "iommu" }.map { $0[1] }
    let groupTypes = truth.filter { $0.first == "group" && $0.count == 3 }.map { $0[2] }
    let verdict = try check(result, "kernel.iommu")
    if iommus.isEmpty || groupTypes.isEmpty {
      XCTAssertEqual(verdict["status"] as? String, "fail", "the kernel registered no IOMMU: \(verdict)", file: file, line: line)
      return
    }
    let mode: String
    switch Set(groupTypes) {
    case ["identity"]: mode = ", passthrough mode"
    case ["DMA"], ["DMA-FQ"]: mode = ", translated mode"
    default: return XCTFail("unexpected IOMMU group types \(groupTypes)", file: file, line: line)
    }
    XCTAssertEqual(verdict["status"] as? String, "pass", "\(verdict)", file: file, line: line)
    XCTAssertEqual(
      verdict["summary"] as? String, "\(iommus.joined(separator: ", ")) with \(groupTypes.count) IOMMU groups\(mode)",
      file: file, line: line)
  }

  /// Every check's status in a boot without an IOMMU (c and d): the firmware and kernel have none,
  /// the command line warns, passthrough is skipped, and no pages or vhost-net are set up.
  private let withoutAnIOMMU = [
    "firmware.iommu": "fail", "kernel.iommu": "fail", "kernel.cmdline": "warn", "kernel.log": "pass",
    "nic.sriov": "pass", "modules.vfio": "pass", "memory.hugepages": "warn", "devices.vfio": "skip",
    "devices.vhost-net": "warn", "host.conflicts": "pass",
  ]

  /// (a) vIOMMU and `intel_iommu=on iommu=pt`, 64 huge pages of 2 MiB reserved on the command
  /// line, vhost_net and tun loaded: everything passes.
  func testIOMMUWithFlagsIsReady() throws {
    let result = try boot([
      "--viommu", "--cmdline", "intel_iommu=on iommu=pt hugepagesz=2M hugepages=64", "--module", "vhost_net",
      "--module", "tun",
    ])
    XCTAssertEqual(
      try statuses(result),
      ["firmware.iommu": "pass", "kernel.iommu": "pass", "kernel.cmdline": "pass", "kernel.log": "pass",
       "nic.sriov": "pass", "modules.vfio": "pass", "memory.hugepages": "pass", "devices.vfio": "pass",
       "devices.vhost-net": "pass", "host.conflicts": "pass"])
    // What the kernel reserved, and the device nodes devtmpfs made, are what check reports.
    XCTAssertEqual(try result.trimmed("hugepages.txt"), "HugePages_Total:      64")
    XCTAssertTrue((try check(result, "memory.hugepages")["summary"] as? String ?? "").hasSuffix("2Mi: 64"))
    XCTAssertEqual(
      try result.text("devices.txt"), "/dev/vfio/vfio char\n/dev/vhost-net char\n/dev/net/tun char\n")
    XCTAssertEqual(try check(result, "devices.vfio")["summary"] as? String, "/dev/vfio/vfio (10:196); no VFs yet to check")
    XCTAssertEqual(try check(result, "devices.vhost-net")["summary"] as? String, "/dev/vhost-net, /dev/net/tun")
    XCTAssertEqual(try result.status("check.status"), 0)
    XCTAssertEqual(try result.json("check.json")["ok"] as? Bool, true)
    XCTAssertTrue(try result.text("iommu-truth.txt").contains(" identity\n"))
    XCTAssertTrue(try result.text("check.txt").hasSuffix("\nReady for SR-IOV.\n"))
  }

  /// (b) vIOMMU without command-line flags: Debian's kernel turns the IOMMU on by itself, in
  /// translated mode; the missing flags only warn.
  func testIOMMUWithoutFlagsWarns() throws {
    let result = try boot(["--viommu"])
    XCTAssertEqual(
      try statuses(result),
      ["firmware.iommu": "pass", "kernel.iommu": "pass", "kernel.cmdline": "warn", "kernel.log": "pass",
       "nic.sriov": "pass", "modules.vfio": "pass", "memory.hugepages": "warn", "devices.vfio": "pass",
       "devices.vhost-net": "warn", "host.conflicts": "pass"])
    XCTAssertEqual(try result.status("check.status"), 0, "warnings do not fail")
    XCTAssertTrue(try result.text("check.txt").contains("translated mode"))
    XCTAssertTrue(try result.text("check.txt").hasSuffix("\nReady for SR-IOV (3 with warnings).\n"))
    // No pages reserved, and neither vhost_net nor tun in this guest at all.
    XCTAssertEqual(try result.trimmed("hugepages.txt"), "HugePages_Total:       0")
    XCTAssertEqual(
      try result.text("devices.txt"), "/dev/vfio/vfio char\n/dev/vhost-net missing\n/dev/net/tun missing\n")
    XCTAssertTrue((try check(result, "memory.hugepages")["summary"] as? String ?? "").hasPrefix("no huge pages reserved ("))
  }

  /// (c) No IOMMU at all, and an SR-IOV NVMe controller that must never be listed as a PF.
  func testNoIOMMUFailsAndNVMeIsNotAPF() throws {
    let result = try boot(["--nvme-sriov"])
    XCTAssertEqual(try statuses(result), withoutAnIOMMU)
    XCTAssertEqual(try result.status("check.status"), 1)
    XCTAssertEqual(try result.json("check.json")["ok"] as? Bool, false)
    XCTAssertEqual(try check(result, "devices.vfio")["summary"] as? String, "no IOMMU is active (see kernel.iommu)")
    XCTAssertEqual(try result.text("iommu-truth.txt"), "", "the guest's kernel has no IOMMU")
    XCTAssertEqual(try check(result, "kernel.cmdline")["summary"] as? String, 
      "intel_iommu=on is missing: the IOMMU is then on only if the kernel was built so; iommu=pt is advised for "
        + "DPDK: devices left to host drivers skip DMA translation")
    // The kernel did set SR-IOV up for the NVMe controller (class 0x010802)...
    let sriov = try result.text("sriov-functions.txt")
    XCTAssertTrue(sriov.contains(" 0x010802 "), sriov)
    // ...and list showed only the igb PF (asserted in boot()).
  }

  /// (d) `intel_iommu=on` without an IOMMU: the kernel still logs "DMAR: IOMMU enabled", and
  /// check must not believe it.
  func testCommandLineCannotFakeAnIOMMU() throws {
    let result = try boot(["--cmdline", "intel_iommu=on"])
    XCTAssertEqual(try statuses(result), withoutAnIOMMU)
    XCTAssertEqual(try result.status("check.status"), 1)
    XCTAssertEqual(try result.text("iommu-truth.txt"), "", "the guest's kernel has no IOMMU")
    XCTAssertEqual(try check(result, "kernel.cmdline")["summary"] as? String, 
      "iommu=pt is advised for DPDK: devices left to host drivers skip DMA translation")
    let details = try XCTUnwrap(try check(result, "kernel.iommu")["details"] as? [String])
    XCTAssertTrue(
      details.contains { $0.hasSuffix("DMAR: IOMMU enabled (the log says so, but no IOMMU registered)") },
      "\(details)")
  }
}
