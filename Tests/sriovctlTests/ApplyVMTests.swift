import Foundation
import XCTest

/// `sriovctl apply` and `verify` on a real Linux kernel with two PFs: Debian's 6.1 kernel under
/// QEMU with two emulated Intel 82576 (igb PFs 0000:01:00.0 and 0000:02:00.0, 7 VFs each) and a
/// vIOMMU for vfio-pci (Tests/vm/testbed.sh --igb2 --viommu). One boot runs
/// Tests/vm/scenarios/apply.sh, which keeps each step's output and both PFs' sysfs state; the
/// assertions are all here. SRIOVCTL_SKIP_VM_TESTS=1 skips it on purpose.
final class ApplyVMTests: XCTestCase {
  private struct Failure: Error, CustomStringConvertible { var description: String }

  /// One VF as sysfs showed it after a step.
  private struct VF: Equatable {
    var pf: String
    var index: Int
    var driver: String
    var inode: String
    var override: String
  }

  private struct Results {
    let directory: URL
    /// A file's text for a failure message ("" when unreadable).
    func show(_ name: String) -> String { (try? text(name)) ?? "" }
    func text(_ name: String) throws -> String { try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8) }
    func status(_ step: String) throws -> Int32 { Int32(try text("\(step).status").trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1 }
    func json(_ step: String) throws -> [String: Any] {
      let data = try Data(contentsOf: directory.appendingPathComponent("\(step).stdout"))
      guard let document = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw Failure(description: "\(step): not a JSON object: \(try text("\(step).stdout"))")
      }
      return document
    }
    /// Both PFs' VF counts and VFs after a step.
    func state(_ step: String) throws -> (counts: [String: Int], vfs: [VF]) {
      var counts: [String: Int] = [:]
      var vfs: [VF] = []
      for row in try text("\(step).state").split(separator: "\n") {
        let words = row.split(separator: " ").map(String.init)
        if words.first == "pf", words.count == 4 { counts[words[1]] = Int(words[3]) }
        if words.first == "vf", words.count == 7 {
          func field(_ word: String) -> String { String(word.split(separator: "=", maxSplits: 1).last ?? "") }
          vfs.append(VF(pf: words[1], index: Int(words[2]) ?? -1, driver: field(words[3]), inode: field(words[4]), override: field(words[5])))
        }
      }
      return (counts, vfs)
    }
  }

  private func boot() throws -> Results {
    let ip = try Testbed.iproute2()
    let boot = try Testbed.boot(
      self, "apply.sh", [ip, "120"],
      options: Testbed.intelCPU + ["--include", ip, "--igb2", "--viommu", "--cmdline", "intel_iommu=on iommu=pt"],
      timeout: 600)
    return Results(directory: boot.directory)
  }

  private let pf1 = "0000:01:00.0"
  private let pf2 = "0000:02:00.0"

  /// The VF lines of `ip -d link show PF` for one PF, by VF index.
  private func ipVFs(_ text: String, interface: String) -> [Int: String] {
    var lines: [Int: String] = [:]
    var inside = false
    for line in text.split(separator: "\n") {
      if !line.hasPrefix(" ") { inside = line.contains(" \(interface): ") ; continue }
      let words = line.split(separator: " ")
      if inside, words.first == "vf", words.count > 1, let index = Int(words[1]) { lines[index] = String(line) }
    }
    return lines
  }

  func testApplyVerifyAndDriftOnTwoPFs() throws {
    let results = try boot()
    XCTAssertEqual(try results.text("totalvfs").split(separator: "\n"), ["7", "7"])
    let names = try results.text("interfaces").split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
    let (if1, if2) = (names[0], names[1])
    XCTAssertEqual(try results.state("initial").counts, [pf1: 0, pf2: 0])

    // 1. The plan, and nothing changed.
    XCTAssertEqual(try results.status("step01-dry-run"), 0, results.show("step01-dry-run.stderr"))
    let plan = try results.json("step01-dry-run")
    XCTAssertEqual(plan["dry_run"] as? Bool, true)
    XCTAssertEqual(plan["changed"] as? Bool, true)
    XCTAssertEqual(plan["unmatched"] as? [String], ["another-machine"])
    XCTAssertEqual(try results.state("step01-dry-run").counts, [pf1: 0, pf2: 0])

    // 2. apply: exactly the node file's state, read from sysfs and ip -d link.
    XCTAssertEqual(try results.status("step02-apply"), 0, results.show("step02-apply.stdout"))
    XCTAssertEqual(try results.text("step02-apply.stderr"), "")
    let applied = try results.json("step02-apply")
    XCTAssertEqual(applied["errors"] as? [String], [])
    let pfs = try XCTUnwrap(applied["pfs"] as? [[String: Any]])
    XCTAssertEqual(pfs.map { $0["pf"] as? String }, [pf1, pf2])
    XCTAssertEqual(pfs.map { $0["policies"] as? [String] }, [["dpdk", "kernel"], ["second-port"]])
    let state = try results.state("step02-apply")
    XCTAssertEqual(state.counts, [pf1: 4, pf2: 2])
    XCTAssertEqual(
      state.vfs.map { "\($0.pf) \($0.index) \($0.driver) \($0.override)" },
      [
        "\(pf1) 0 vfio-pci vfio-pci", "\(pf1) 1 vfio-pci vfio-pci", "\(pf1) 2 igbvf (null)", "\(pf1) 3 igbvf (null)",
        "\(pf2) 0 igbvf (null)", "\(pf2) 1 igbvf (null)",
      ])
    let ip = try results.text("step02-apply.ip")
    let first = ipVFs(ip, interface: if1)
    XCTAssertEqual(first.keys.sorted(), [0, 1, 2, 3])
    for index in [0, 1] { XCTAssertFalse(first[index]!.contains("vlan"), first[index]!) }
    for index in [2, 3] { XCTAssertTrue(first[index]!.contains("vlan 100,"), first[index]!) }
    let second = ipVFs(ip, interface: if2)
    let macs = try [0, 1].map { index -> String in
      let words = try XCTUnwrap(second[index]).split(separator: " ")
      return String(words[words.firstIndex(of: "link/ether")! + 1])
    }
    XCTAssertEqual(Set(macs).count, 2, "\(macs)")
    for mac in macs {
      let firstOctet = try XCTUnwrap(UInt8(mac.prefix(2), radix: 16))
      XCTAssertEqual(firstOctet & 0b11, 0b10, "mac: auto gives locally administered unicast addresses: \(mac)")
    }

    // 3. Again: nothing changes, no VF is touched (the same sysfs inodes).
    XCTAssertEqual(try results.status("step03-again"), 0)
    let again = try results.json("step03-again")
    XCTAssertEqual(again["changed"] as? Bool, false)
    XCTAssertEqual((again["pfs"] as? [[String: Any]])?.map { ($0["actions"] as? [String])?.count }, [0, 0])
    XCTAssertEqual(try results.state("step03-again").vfs, state.vfs)

    // 4. verify: in sync.
    XCTAssertEqual(try results.status("step04-verify"), 0, results.show("step04-verify.stdout"))
    XCTAssertEqual(try results.json("step04-verify")["in_sync"] as? Bool, true)

    // 5. Drift (PF 2 set to 0 by hand): verify exits 2 and names it.
    XCTAssertEqual(try results.status("step05-drifted"), 2)
    let drift = try results.json("step05-drifted")
    XCTAssertEqual(drift["in_sync"] as? Bool, false)
    let differences = try XCTUnwrap(drift["differences"] as? [[String: Any]])
    XCTAssertEqual(differences.count, 1, "\(differences)")
    XCTAssertEqual(differences.first?["pf"] as? String, pf2)
    XCTAssertTrue(differences.first?["vf"] is NSNull)
    XCTAssertEqual(differences.first?["field"] as? String, "numVfs")
    XCTAssertEqual(differences.first?["want"] as? String, "2")
    XCTAssertEqual(differences.first?["have"] as? String, "0")

    // 6. apply restores PF 2 (with the same derived MACs) and leaves PF 1's VFs alone.
    XCTAssertEqual(try results.status("step06-restore"), 0, results.show("step06-restore.stdout"))
    let restored = try results.state("step06-restore")
    XCTAssertEqual(restored.counts, [pf1: 4, pf2: 2])
    XCTAssertEqual(restored.vfs.filter { $0.pf == pf1 }, state.vfs.filter { $0.pf == pf1 })
    let restoredMACs = ipVFs(try results.text("step06-restore.ip"), interface: if2).values.map { line in
      let words = line.split(separator: " ")
      return String(words[words.firstIndex(of: "link/ether")! + 1])
    }
    XCTAssertEqual(Set(restoredMACs), Set(macs), "derived MACs are stable")
    XCTAssertEqual(try results.status("step07-verify"), 0)
    XCTAssertTrue(try results.text("step07-verify.stdout").hasPrefix("in sync\n"))

    // 8. The operator's SriovNetworkNodePolicy documents give the same VFs and drivers.
    XCTAssertEqual(try results.status("step08-operator"), 0, results.show("step08-operator.stdout"))
    let operatorState = try results.state("step08-operator")
    XCTAssertEqual(operatorState.counts, state.counts)
    XCTAssertEqual(operatorState.vfs.map { "\($0.pf) \($0.index) \($0.driver) \($0.override)" }, state.vfs.map { "\($0.pf) \($0.index) \($0.driver) \($0.override)" })
  }
}
