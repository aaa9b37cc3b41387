import Foundation
import SRIOVKit
import XCTest

/// The Debian package on a real system: the Debian 12 guest of the VM test bed (real dpkg,
/// systemd and udev; Debian's 6.1 kernel with an igb PF) installs `make deb`'s package with
/// dpkg -i from its own packages (the image has the libraries it depends on), runs the packaged
/// sriovctl against the real PF, then removes and purges it (Tests/vm/scenarios/package.sh).
/// The persist reboot tests install the same package. SRIOVCTL_SKIP_VM_TESTS=1 skips it.
final class PackageVMTests: XCTestCase {
  func testThePackageInstallsRunsAndLeavesNothingWhenPurged() throws {
    try Testbed.requireWanted()
    let deb = try DebianPackage.forGuest(self)
    let boot = try Testbed.boot(
      self, "package.sh", [deb], options: ["--debian", try Testbed.debianImage(), "--include", deb, "--cpu", "max"],
      timeout: 600)
    func text(_ name: String) -> String { (try? boot.text(name)) ?? "(missing \(name))" }

    XCTAssertEqual(text("install.status"), "0\n", text("install.log"))
    XCTAssertEqual(text("which"), "/usr/sbin/sriovctl\n")
    XCTAssertEqual(text("version"), "\(SRIOVKit.version)\n")
    let files = text("files").split(separator: "\n").map(String.init)
    for path in ["/usr/sbin/sriovctl", "/usr/share/man/man8/sriovctl.8.gz", "/usr/share/bash-completion/completions/sriovctl",
                 "/usr/share/doc/sriovctl/copyright", "/usr/share/doc/sriovctl/examples/sriovctl.yaml"] {
      XCTAssertTrue(files.contains(path), "\(path) is not in dpkg -L: \(files)")
    }

    // The packaged binary on the real kernel: it sees the igb PF and makes and removes VFs.
    XCTAssertEqual(text("list.status"), "0\n", text("list.stderr"))
    let list = try JSONSerialization.jsonObject(with: Data(text("list.json").utf8)) as? [String: Any]
    let pfs = (list?["pfs"] as? [[String: Any]]) ?? []
    XCTAssertEqual(pfs.compactMap { $0["pci_address"] as? String }, ["0000:01:00.0"], text("list.json"))
    XCTAssertEqual(text("create.status"), "0\n", text("create.stderr"))
    XCTAssertEqual(text("numvfs"), "2\n")
    XCTAssertEqual(text("zero.status"), "0\n", text("zero.stderr"))

    // dpkg -r: the package ships no conffile, so nothing of it stays; dpkg -P then has nothing
    // left to remove either.
    XCTAssertEqual(text("remove.status"), "0\n", text("remove.log"))
    XCTAssertEqual(text("remove.left"), "", "left after dpkg -r")
    XCTAssertEqual(text("purge.status"), "0\n", text("purge.log"))
    XCTAssertEqual(text("purge.left"), "", "left after dpkg -P")
    XCTAssertTrue(text("purge.query").contains("no packages found matching sriovctl") || text("purge.query").hasPrefix("unknown ok not-installed"), text("purge.query"))
  }
}
