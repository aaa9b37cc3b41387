import Foundation
import SRIOVKit
import XCTest

/// The node unit across a real reboot: in the Debian 12 guest (systemd/udev 252) with two igb PFs
/// and a vIOMMU, boot 1 runs `sriovctl persist --config -f node.yaml --install` (PF 1: 4 VFs, 0-1
/// on vfio-pci, 2-3 on igbvf with VLAN 100; PF 2: 2 VFs with mac: auto) and creates no VF; boot 2
/// of the same disk must have both PFs' VFs with those drivers and settings, made by
/// sriovctl.service, and the PFs keep their predictable names (Tests/vm/scenarios/persist-config.sh).
/// Boot 1 installs the Debian package (`make deb`) with dpkg -i. Needs it and
/// `Tests/vm/testbed.sh prepare`; SRIOVCTL_SKIP_VM_TESTS=1 skips it.
final class PersistConfigRebootTests: XCTestCase {
  private func text(_ directory: URL, _ name: String) -> String {
    (try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)) ?? ""
  }

  private func boot(_ number: Int, image: String, disk: URL, mode: String, deb: String? = nil) throws -> URL {
    let options = [
      "--debian", image, "--disk-copy", disk.path, "--cpu", "max", "--igb2", "--viommu", "--cmdline", "intel_iommu=on iommu=pt",
    ]
    return try Testbed.boot(
      self, "persist-config.sh", [mode] + (deb.map { [$0] } ?? []), options: options + (deb.map { ["--include", $0] } ?? []),
      binary: try Testbed.releaseBinary(), out: disk.deletingLastPathComponent().appendingPathComponent("boot\(number)"),
      timeout: 600
    ).directory
  }

  func testTheNodeUnitMakesBothPFsVFsAtBoot() throws {
    try Testbed.requireWanted()
    let image = try Testbed.debianImage()
    let disk = try temporaryDirectory(self).appendingPathComponent("disk.raw")

    // Boot 1 installs the Debian package with dpkg -i; its /usr/sbin/sriovctl installs the unit.
    let deb = try DebianPackage.forGuest(self)
    let install = try boot(1, image: image, disk: disk, mode: "install", deb: deb)
    XCTAssertEqual(text(install, "dpkg-install.status"), "0\n", text(install, "dpkg-install.log"))
    XCTAssertEqual(text(install, "dpkg-status"), "install ok installed \(SRIOVKit.version)\n")
    XCTAssertEqual(text(install, "persist.status").trimmingCharacters(in: .whitespacesAndNewlines), "0", text(install, "persist.stderr"))
    XCTAssertTrue(text(install, "persist.json").contains("ExecStart=/usr/sbin/sriovctl apply --boot -f /etc/sriovctl/sriovctl.yaml"), text(install, "persist.json"))

    let second = try boot(2, image: image, disk: disk, mode: "check")
    let journal = text(second, "journal-unit.txt")
    XCTAssertEqual(text(second, "interfaces"), "enp1s0 enp2s0\n", "the PFs keep their predictable names")
    XCTAssertEqual(
      text(second, "unit.txt").split(separator: "\n").sorted(),
      ["ActiveState=active", "ExecMainStatus=0", "Result=success", "SubState=exited"], journal)
    XCTAssertEqual(
      text(second, "state"),
      """
      pf 0000:01:00.0 numvfs 4
      vf 0000:01:00.0 0 driver=vfio-pci override=vfio-pci
      vf 0000:01:00.0 1 driver=vfio-pci override=vfio-pci
      vf 0000:01:00.0 2 driver=igbvf override=(null)
      vf 0000:01:00.0 3 driver=igbvf override=(null)
      pf 0000:02:00.0 numvfs 2
      vf 0000:02:00.0 0 driver=igbvf override=(null)
      vf 0000:02:00.0 1 driver=igbvf override=(null)

      """, journal)
    let vfLines = text(second, "ip.txt").split(separator: "\n").filter { $0.hasPrefix("    vf ") }
    XCTAssertEqual(vfLines.count, 6, text(second, "ip.txt"))
    XCTAssertEqual(vfLines.prefix(4).map { $0.contains("vlan 100,") }, [false, false, true, true], text(second, "ip.txt"))
    // PF 2's VFs: derived, locally administered MACs, not the driver's zero address.
    for line in vfLines.suffix(2) {
      XCTAssertFalse(line.contains("link/ether 00:00:00:00:00:00"), String(line))
    }
    // Made by the unit, which logged each action.
    XCTAssertTrue(journal.contains("create 4 VFs: write 4 to sriov_numvfs"), journal)
    XCTAssertTrue(journal.contains("create 2 VFs: write 2 to sriov_numvfs"), journal)
  }
}
