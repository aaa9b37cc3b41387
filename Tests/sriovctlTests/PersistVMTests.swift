import Foundation
import SRIOVKit
import XCTest

/// `sriovctl persist --install` across a real reboot: a minimal Debian 12 guest with real systemd
/// and udev (Tests/vm/debian-image.sh, booted by `Tests/vm/testbed.sh run --debian`) on Debian's
/// 6.1 kernel under QEMU with an emulated Intel 82576 (igb PF 0000:01:00.0, enp1s0 under udev).
/// Each test boots one disk twice: boot 1 (Tests/vm/scenarios/persist-boot1.sh) installs the
/// Debian package (`make deb`) with dpkg -i and the method's file with its /usr/sbin/sriovctl
/// `persist ... --install`, with the options that method carries, and powers off; boot 2
/// (persist-boot2.sh, the same disk) records what the boot did by itself, before it runs any
/// sriovctl command: the VFs, as each method's options say, made by the rule, unit or .link file,
/// and the PF still under its predictable name.
final class PersistVMTests: XCTestCase {
  private static let pf = "0000:01:00.0"

  /// Boot 1 installs with `method` (and its options, chosen by persist-boot1.sh); boot 2 reboots
  /// the same disk and waits for 3 VFs as `expect` says (netdev, unbound, vfio-pci).
  private func reboot(_ method: String, expect: String, options: [String] = []) throws
    -> (install: TestbedResults, reboot: TestbedResults)
  {
    try Testbed.requireWanted()
    let image = try Testbed.debianImage()
    let work = try temporaryDirectory(self)
    let disk = work.appendingPathComponent("disk.raw")
    let deb = try DebianPackage.forGuest(self)
    let common = ["--debian", image, "--disk-copy", disk.path, "--cpu", "max"] + options
    let install = try Testbed.boot(
      self, "persist-boot1.sh", [method, deb], options: common + ["--include", deb],
      binary: try Testbed.releaseBinary(), out: work.appendingPathComponent("boot1"), timeout: 600)
    XCTAssertEqual(try install.trimmed("dpkg-install.status"), "0", (try? install.text("dpkg-install.log")) ?? "")
    XCTAssertEqual(try install.trimmed("dpkg-status"), "install ok installed \(SRIOVKit.version)")
    let reboot = try Testbed.boot(
      self, "persist-boot2.sh", ["120", expect], options: common, binary: try Testbed.releaseBinary(),
      out: work.appendingPathComponent("boot2"), timeout: 600)
    return (install, reboot)
  }

  /// What every method must give: boot 1 installed `pathPrefix`..., boot 2 has 3 VFs on
  /// `driver` (nil: unbound), the PF is enp1s0, and the file survived. Returns the file's path.
  private func assertPersisted(
    _ boots: (install: TestbedResults, reboot: TestbedResults), method: String, pathPrefix: String, driver: String?,
    file: StaticString = #filePath, line: UInt = #line
  ) throws -> String {
    let (install, reboot) = boots
    // Boot 1: persist --install succeeded and wrote the method's file.
    let stderr = (try? install.text("persist.stderr")) ?? ""
    XCTAssertEqual(try install.trimmed("persist.status"), "0", "persist failed: \(stderr)\n\(install)", file: file, line: line)
    let result = try install.json("persist.json")
    XCTAssertEqual(result["pf"] as? String, Self.pf, file: file, line: line)
    XCTAssertEqual(result["method"] as? String, method, file: file, line: line)
    XCTAssertEqual(result["changed"] as? Bool, true, "\(result)", file: file, line: line)
    let path = try XCTUnwrap(result["path"] as? String, "\(result)", file: file, line: line)
    XCTAssertTrue(path.hasPrefix(pathPrefix), "\(path) is not under \(pathPrefix)", file: file, line: line)
    XCTAssertEqual(try install.trimmed("installed.path"), path, file: file, line: line)
    XCTAssertEqual(
      try install.text("installed.content"), result["content"] as? String, "the file on disk is what persist printed",
      file: file, line: line)

    // Boot 2: the file survived, the PF kept its name, the VFs are there as asked.
    XCTAssertTrue(
      try reboot.text("etc-files.txt").split(separator: "\n").contains { $0 == path }, "\(path) is gone after the reboot",
      file: file, line: line)
    XCTAssertEqual(
      try reboot.trimmed("wait.txt").split(separator: "\n").first, "ready yes",
      "3 VFs as expected did not appear within the wait: \(reboot)", file: file, line: line)
    XCTAssertEqual(try reboot.trimmed("numvfs"), "3", "sriov_numvfs after the reboot; \(reboot)", file: file, line: line)
    XCTAssertEqual(try reboot.trimmed("pf-interface"), "enp1s0", "the PF's name after the reboot; \(reboot)", file: file, line: line)
    let listErrors = (try? reboot.text("list.stderr")) ?? ""
    XCTAssertEqual(try reboot.trimmed("list.status"), "0", listErrors, file: file, line: line)
    let pfs = try XCTUnwrap(try reboot.json("list.json")["pfs"] as? [[String: Any]], file: file, line: line)
    let pf = try XCTUnwrap(pfs.first { $0["pci_address"] as? String == Self.pf }, "\(pfs)", file: file, line: line)
    XCTAssertEqual(pf["num_vfs"] as? Int, 3, file: file, line: line)
    let vfs = try XCTUnwrap(pf["vfs"] as? [[String: Any]], file: file, line: line)
    XCTAssertEqual(vfs.count, 3, "\(vfs)", file: file, line: line)
    for vf in vfs {
      if let driver {
        XCTAssertEqual(vf["driver"] as? String, driver, "\(vf)", file: file, line: line)
      } else {
        XCTAssertTrue(vf["driver"] is NSNull, "an unbound VF: \(vf)", file: file, line: line)
      }
      XCTAssertEqual(vf["interface"] is String, driver == "igbvf", "a netdev only on igbvf: \(vf)", file: file, line: line)
    }
    return path
  }

  /// The PF's `vf N ...` line of `ip -d link show` in boot 2.
  private func ipVFLine(_ boot: TestbedResults, _ index: Int) throws -> String {
    let ip = try boot.text("ip-pf.txt")
    return try XCTUnwrap(
      ip.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.first { $0.hasPrefix("vf \(index) ") }, ip)
  }

  /// No sriovctl unit ran in boot 2 (the udev and link methods need none).
  private func assertNoUnit(_ boot: TestbedResults, file: StaticString = #filePath, line: UInt = #line) throws {
    XCTAssertEqual(try boot.text("unit-state.txt"), "", file: file, line: line)
  }

  /// udev with --autoprobe off: the rule makes 3 VFs and leaves them unbound.
  func testUdevRuleRecreatesUnboundVFsAtBoot() throws {
    let boots = try reboot("udev", expect: "unbound")
    _ = try assertPersisted(boots, method: "udev", pathPrefix: "/etc/udev/rules.d/", driver: nil)
    let content = try boots.install.text("installed.content")
    XCTAssertTrue(content.contains("ATTR{device/sriov_drivers_autoprobe}=\"0\""), content)
    XCTAssertTrue(try boots.reboot.text("vfs.txt").split(separator: "\n").allSatisfy { $0.hasSuffix(" driver=- net=-") })
    try assertNoUnit(boots.reboot)
  }

  /// systemd with --driver vfio-pci and a VLAN: the unit, run by systemd in boot 2 from the
  /// package's /usr/sbin/sriovctl, binds the VFs to vfio-pci and sets the VLAN; it is active
  /// (exited) with success.
  func testSystemdUnitRecreatesVFIOVFsAtBoot() throws {
    let boots = try reboot(
      "systemd", expect: "vfio-pci", options: ["--viommu", "--cmdline", "intel_iommu=on iommu=pt"])
    let path = try assertPersisted(boots, method: "systemd", pathPrefix: "/etc/systemd/system/", driver: "vfio-pci")
    let content = try boots.install.text("installed.content")
    XCTAssertTrue(
      content.contains("\nExecStart=/usr/sbin/sriovctl create-vfs 0000:01:00.0 --count 3 --driver vfio-pci --vlan 0=42 "),
      content)
    XCTAssertTrue(try ipVFLine(boots.reboot, 0).contains("vlan 42"))
    let unit = URL(fileURLWithPath: path).lastPathComponent
    XCTAssertEqual(
      try boots.reboot.text("unit-state.txt"),
      "\(unit) ActiveState=active ExecMainStatus=0 Result=success SubState=exited \n")
  }

  /// .link with [SR-IOV] sections: udev makes the VFs with VF 0's MAC and VF 1's VLAN, and the
  /// PF keeps the name 99-default.link would give it.
  func testLinkFileRecreatesVFsWithTheirSettingsAtBoot() throws {
    let boots = try reboot("link", expect: "netdev")
    _ = try assertPersisted(boots, method: "link", pathPrefix: "/etc/systemd/network/", driver: "igbvf")
    let content = try boots.install.text("installed.content")
    XCTAssertTrue(content.contains("[SR-IOV]\nVirtualFunction=0\nMACAddress=02:00:00:00:0a:01\n"), content)
    XCTAssertTrue(content.contains("[SR-IOV]\nVirtualFunction=1\nVLANId=43\n"), content)
    XCTAssertTrue(try ipVFLine(boots.reboot, 0).contains("link/ether 02:00:00:00:0a:01 "))
    XCTAssertTrue(try ipVFLine(boots.reboot, 1).contains("vlan 43"))
    XCTAssertTrue(try boots.reboot.text("udevadm-pf.txt").contains("ID_NET_NAME_PATH=enp1s0"))
    try assertNoUnit(boots.reboot)
  }
}
