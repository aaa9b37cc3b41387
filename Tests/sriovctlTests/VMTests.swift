import Foundation
import XCTest

/// `sriovctl list` and `check` on a real Linux kernel: Debian's 6.1 kernel under QEMU with an
/// emulated Intel 82576 (igb, SR-IOV) and, in some scenarios, an emulated Intel IOMMU
/// (Tests/vm/testbed.sh). Each test is one boot.
///
/// These tests need `Tests/vm/testbed.sh prepare` (which `make test` runs). Where QEMU cannot run
/// they fail, loudly; set SRIOVCTL_SKIP_VM_TESTS=1 to skip them on purpose (CI never does).
final class VMTests: XCTestCase {
  private struct Boot {
    var directory: URL
    func text(_ name: String) throws -> String {
      try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
    }
    func json(_ name: String) throws -> [String: Any] {
      let data = try Data(contentsOf: directory.appendingPathComponent(name))
      return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }
    func status(_ name: String) throws -> Int? {
      Int(try text(name).trimmingCharacters(in: .whitespacesAndNewlines))
    }
    /// The status of each check by id (`nic.sriov` once per PF).
    func checkStatuses() throws -> [String: String] {
      let checks = try XCTUnwrap(try json("check.json")["checks"] as? [[String: Any]])
      var statuses: [String: String] = [:]
      for check in checks {
        statuses[check["id"] as? String ?? "?"] = check["status"] as? String
      }
      return statuses
    }
  }

  private func boot(_ options: [String], file: StaticString = #filePath, line: UInt = #line) throws -> Boot {
    if ProcessInfo.processInfo.environment["SRIOVCTL_SKIP_VM_TESTS"] == "1" {
      throw XCTSkip("SRIOVCTL_SKIP_VM_TESTS=1: the real-kernel tests were skipped on purpose")
    }
    let out = try temporaryDirectory(self).appendingPathComponent("vm")
    let testbed = try runProgram(
      repositoryRoot.appendingPathComponent("Tests/vm/testbed.sh"),
      ["run", "--binary", productsDirectory.appendingPathComponent("sriovctl").path, "--out", out.path,
       "--timeout", "240"] + options
        + ["--", repositoryRoot.appendingPathComponent("Tests/vm/scenarios/check.sh").path])
    guard testbed.status == 0 else {
      throw TestbedFailure(
        description: "the VM test bed failed (exit \(testbed.status)); run "
          + "'Tests/vm/testbed.sh prepare' as root, or set SRIOVCTL_SKIP_VM_TESTS=1 to skip these "
          + "tests on purpose:\n\(testbed.stdout)\(testbed.stderr)")
    }
    let result = Boot(directory: out)
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
    return result
  }

  private struct TestbedFailure: Error, CustomStringConvertible {
    var description: String
  }

  private let intelCPU = ["--cpu", "max,vendor=GenuineIntel"]

  /// (a) vIOMMU and `intel_iommu=on iommu=pt`: everything passes.
  func testIOMMUWithFlagsIsReady() throws {
    let result = try boot(intelCPU + ["--viommu", "--cmdline", "intel_iommu=on iommu=pt"])
    XCTAssertEqual(
      try result.checkStatuses(),
      ["firmware.iommu": "pass", "kernel.iommu": "pass", "kernel.cmdline": "pass", "kernel.log": "pass",
       "nic.sriov": "pass", "modules.vfio": "pass"])
    XCTAssertEqual(try result.status("check.status"), 0)
    XCTAssertEqual(try result.json("check.json")["ok"] as? Bool, true)
    XCTAssertTrue(try result.text("check.txt").contains("passthrough mode"))
  }

  /// (b) vIOMMU without command-line flags: Debian's kernel turns the IOMMU on by itself, in
  /// translated mode; the missing flags only warn.
  func testIOMMUWithoutFlagsWarns() throws {
    let result = try boot(intelCPU + ["--viommu"])
    let statuses = try result.checkStatuses()
    XCTAssertEqual(statuses["firmware.iommu"], "pass")
    XCTAssertEqual(statuses["kernel.iommu"], "pass")
    XCTAssertEqual(statuses["kernel.cmdline"], "warn")
    XCTAssertEqual(try result.status("check.status"), 0, "warnings do not fail")
    XCTAssertTrue(try result.text("check.txt").contains("translated mode"))
  }

  /// (c) No IOMMU at all, and an SR-IOV NVMe controller that must never be listed as a PF.
  func testNoIOMMUFailsAndNVMeIsNotAPF() throws {
    let result = try boot(intelCPU + ["--nvme-sriov"])
    let statuses = try result.checkStatuses()
    XCTAssertEqual(statuses["firmware.iommu"], "fail")
    XCTAssertEqual(statuses["kernel.iommu"], "fail")
    XCTAssertEqual(statuses["nic.sriov"], "pass")
    XCTAssertEqual(try result.status("check.status"), 1)
    XCTAssertEqual(try result.json("check.json")["ok"] as? Bool, false)
    // The kernel did set SR-IOV up for the NVMe controller (class 0x010802)...
    let sriov = try result.text("sriov-functions.txt")
    XCTAssertTrue(sriov.contains(" 0x010802 "), sriov)
    // ...and list showed only the igb PF (asserted in boot()).
  }

  /// (d) `intel_iommu=on` without an IOMMU: the kernel still logs "DMAR: IOMMU enabled", and
  /// check must not believe it.
  func testCommandLineCannotFakeAnIOMMU() throws {
    let result = try boot(intelCPU + ["--cmdline", "intel_iommu=on"])
    let statuses = try result.checkStatuses()
    XCTAssertEqual(statuses["firmware.iommu"], "fail")
    XCTAssertEqual(statuses["kernel.iommu"], "fail")
    XCTAssertEqual(try result.status("check.status"), 1)
    let checks = try XCTUnwrap(try result.json("check.json")["checks"] as? [[String: Any]])
    let active = try XCTUnwrap(checks.first { $0["id"] as? String == "kernel.iommu" })
    let details = try XCTUnwrap(active["details"] as? [String])
    XCTAssertTrue(
      details.contains { $0.hasSuffix("DMAR: IOMMU enabled (the log says so, but no IOMMU registered)") },
      "\(details)")
  }
}
