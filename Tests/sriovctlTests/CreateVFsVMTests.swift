import Foundation
import XCTest

/// `sriovctl create-vfs` on a real Linux kernel: Debian's 6.1 kernel under QEMU with an emulated
/// Intel 82576 (igb PF 0000:01:00.0, eth0 as there is no udev; sriov_totalvfs 7; VFs 8086:10ca on
/// igbvf, each probe ~2 s) (Tests/vm/testbed.sh). Each test is one boot running
/// Tests/vm/scenarios/create-vfs.sh, which keeps every step's stdout, stderr, exit status and the
/// kernel's view of the PF before and after it; the assertions are all here.
///
/// These tests need `Tests/vm/testbed.sh prepare` (which `make test` runs) and iproute2's `ip` on
/// the host (it is copied into the guest: busybox ip cannot show VF attributes). Where QEMU cannot
/// run they fail, loudly; set SRIOVCTL_SKIP_VM_TESTS=1 to skip them on purpose.
final class CreateVFsVMTests: XCTestCase {
  // MARK: What the scenario brought back

  /// One VF as sysfs showed it (a `vf` line of the scenario's state files).
  private struct KernelVF: Equatable {
    var index: Int
    var address: String
    var driver: String?
    var interfaces: [String]
    var ifindexes: [String]
    /// The inode of the VF's sysfs directory: a new one means the VF was removed and created again.
    var inode: String
    var driverOverride: String?
    var iommuGroup: String?
  }

  /// The PF as sysfs showed it at one moment.
  private struct KernelState: CustomStringConvertible {
    var numVFs: Int
    var totalVFs: Int
    var autoprobe: Int
    var vfs: [KernelVF]
    var description: String

    init(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws {
      var values: [String: Int] = [:]
      var vfs: [KernelVF] = []
      for row in text.split(separator: "\n") {
        let words = row.split(separator: " ").map(String.init)
        guard let key = words.first else { continue }
        if key == "vf" {
          guard words.count == 9, let index = Int(words[1]) else {
            throw ScenarioFailure(description: "malformed state line: \(row)")
          }
          var fields: [String: String] = [:]
          for word in words[3...] {
            guard let equals = word.firstIndex(of: "=") else { continue }
            fields[String(word[..<equals])] = String(word[word.index(after: equals)...])
          }
          func field(_ name: String) -> String? {
            guard let value = fields[name], value != "-", value != "(null)" else { return nil }
            return value
          }
          vfs.append(
            KernelVF(
              index: index, address: words[2], driver: field("driver"),
              interfaces: field("net")?.split(separator: ",").map(String.init) ?? [],
              ifindexes: field("ifindex")?.split(separator: ",").map(String.init) ?? [],
              inode: fields["ino"] ?? "?", driverOverride: field("override"), iommuGroup: field("group")))
        } else if words.count == 2, let value = Int(words[1]) {
          values[key] = value
        }
      }
      guard let numVFs = values["numvfs"], let totalVFs = values["totalvfs"], let autoprobe = values["autoprobe"],
        values["vfs"] == vfs.count
      else { throw ScenarioFailure(description: "malformed state file:\n\(text)") }
      self.numVFs = numVFs
      self.totalVFs = totalVFs
      self.autoprobe = autoprobe
      self.vfs = vfs.sorted { $0.index < $1.index }
      self.description = text
    }
  }

  /// One `sriovctl create-vfs` run in the guest.
  private struct Step: CustomStringConvertible {
    var name: String
    var command: String
    var status: Int?
    var stdout: String
    var stderr: String
    var milliseconds: String
    var before: KernelState
    var after: KernelState
    /// `ip -d link show eth0` after the step, where the scenario took it.
    var ipLink: String?

    var description: String {
      "\(name): sriovctl \(command) -> exit \(status.map(String.init) ?? "?") in \(milliseconds) ms\n"
        + "stdout: \(stdout.isEmpty ? "(empty)" : stdout)\nstderr: \(stderr.isEmpty ? "(empty)" : stderr)\n"
        + "sysfs before:\n\(before)sysfs after:\n\(after)"
    }

    /// stdout as the one JSON object `-o json` promises.
    func json(file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
      let object: Any
      do {
        object = try JSONSerialization.jsonObject(with: Data(stdout.utf8))
      } catch {
        XCTFail("stdout is not JSON (\(error)):\n\(self)", file: file, line: line)
        throw error
      }
      return try XCTUnwrap(object as? [String: Any], "stdout is not a JSON object:\n\(self)", file: file, line: line)
    }
  }

  private struct Boot {
    var directory: URL
    func text(_ name: String) throws -> String {
      try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
    }
    func optionalText(_ name: String) -> String? {
      try? text(name)
    }
    func status(_ name: String) throws -> Int? {
      Int(try text(name).trimmingCharacters(in: .whitespacesAndNewlines))
    }
    func state(_ name: String) throws -> KernelState {
      try KernelState(try text(name))
    }
    func step(_ name: String) throws -> Step {
      guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("\(name).status").path) else {
        throw ScenarioFailure(
          description: "the scenario did not get to step \(name); console:\n"
            + ((try? text("console.log").suffix(4000)).map(String.init) ?? "(no console.log)"))
      }
      return Step(
        name: name, command: try text("\(name).cmd").trimmingCharacters(in: .newlines), status: try status("\(name).status"),
        stdout: try text("\(name).stdout"), stderr: try text("\(name).stderr"),
        milliseconds: try text("\(name).ms").trimmingCharacters(in: .whitespacesAndNewlines),
        before: try state("\(name).before"), after: try state("\(name).after"), ipLink: optionalText("\(name).ip"))
    }
  }

  private struct ScenarioFailure: Error, CustomStringConvertible {
    var description: String
  }

  private let pf = "0000:01:00.0"

  /// Boots the test bed once and runs create-vfs.sh MODE in it (about 70 s of VF creation and
  /// removal in the basic boot: each igbvf probe takes ~2 s).
  private func boot(_ mode: String, _ options: [String], file: StaticString = #filePath, line: UInt = #line) throws
    -> Boot
  {
    let ip = try Testbed.iproute2()
    let results = try Testbed.boot(
      self, "create-vfs.sh", [mode, ip, "120"], options: Testbed.intelCPU + ["--include", ip] + options, timeout: 480)
    let out = results.directory
    let result = Boot(directory: out)
    let initial = try result.state("initial")
    XCTAssertEqual(initial.numVFs, 0, "the guest starts without VFs", file: file, line: line)
    XCTAssertEqual(initial.totalVFs, 7, "igb allows 7 of the 82576's 8", file: file, line: line)
    XCTAssertEqual(initial.autoprobe, 1, file: file, line: line)
    return result
  }

  // MARK: Assertions shared by the steps

  private static let topKeys = ["pf", "changed", "previous", "num_vfs", "actions", "vfs"]
  private static let vfKeys = ["index", "pci_address", "interface", "driver", "mac", "vlan", "trust", "spoofchk"]

  /// A successful run: exit 0, nothing on stderr, a JSON document with every documented key, the
  /// given counts, and VFs that match what sysfs showed right after the run (addresses, netdevs,
  /// drivers). Returns the document and its VFs by index.
  @discardableResult
  private func assertSucceeded(
    _ step: Step, changed: Bool?, previous: Int, numVFs: Int, file: StaticString = #filePath, line: UInt = #line
  ) throws -> (json: [String: Any], vfs: [Int: [String: Any]]) {
    XCTAssertEqual(step.status, 0, "create-vfs failed:\n\(step)", file: file, line: line)
    XCTAssertEqual(step.stderr, "", "a successful run prints nothing on stderr:\n\(step)", file: file, line: line)
    let json = try step.json(file: file, line: line)
    for key in Self.topKeys where json[key] == nil {
      XCTFail("key '\(key)' is missing from the JSON document:\n\(step)", file: file, line: line)
    }
    XCTAssertEqual(json["pf"] as? String, pf, "\(step)", file: file, line: line)
    if let changed {
      XCTAssertEqual(json["changed"] as? Bool, changed, "changed:\n\(step)", file: file, line: line)
    }
    XCTAssertEqual(json["previous"] as? Int, previous, "previous:\n\(step)", file: file, line: line)
    XCTAssertEqual(json["num_vfs"] as? Int, numVFs, "num_vfs:\n\(step)", file: file, line: line)
    XCTAssertNotNil(json["actions"] as? [String], "actions must be a list of strings:\n\(step)", file: file, line: line)
    let vfList = try XCTUnwrap(json["vfs"] as? [[String: Any]], "vfs must be a list:\n\(step)", file: file, line: line)
    XCTAssertEqual(vfList.count, numVFs, "one entry per VF:\n\(step)", file: file, line: line)
    XCTAssertEqual(
      vfList.map { $0["index"] as? Int }, (0..<vfList.count).map { $0 }, "VFs sorted by index:\n\(step)",
      file: file, line: line)
    var byIndex: [Int: [String: Any]] = [:]
    for vf in vfList {
      for key in Self.vfKeys where vf[key] == nil {
        XCTFail("key '\(key)' is missing from a VF: \(vf)\n\(step)", file: file, line: line)
      }
      if let index = vf["index"] as? Int { byIndex[index] = vf }
    }
    // The kernel's sriov_numvfs and VFs agree with the document.
    XCTAssertEqual(step.after.numVFs, numVFs, "sriov_numvfs after the run:\n\(step)", file: file, line: line)
    XCTAssertEqual(step.after.vfs.count, numVFs, "virtfnN links after the run:\n\(step)", file: file, line: line)
    for kernelVF in step.after.vfs {
      guard let vf = byIndex[kernelVF.index] else {
        XCTFail("VF \(kernelVF.index) is not in the JSON document:\n\(step)", file: file, line: line)
        continue
      }
      XCTAssertEqual(vf["pci_address"] as? String, kernelVF.address, "VF \(kernelVF.index) address:\n\(step)", file: file, line: line)
      XCTAssertEqual(
        vf["interface"] as? String, kernelVF.interfaces.first, "VF \(kernelVF.index) interface (sysfs: \(kernelVF.interfaces)):\n\(step)",
        file: file, line: line)
      XCTAssertEqual(vf["driver"] as? String, kernelVF.driver, "VF \(kernelVF.index) driver:\n\(step)", file: file, line: line)
    }
    return (json, byIndex)
  }

  private func actions(_ json: [String: Any]) -> [String] {
    json["actions"] as? [String] ?? []
  }

  /// The PF exactly as it was before the step: the same count, and every VF the same device
  /// (sysfs inode), with the same driver and the same netdevs (ifindex).
  private func assertUntouched(_ step: Step, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(step.after.numVFs, step.before.numVFs, "sriov_numvfs changed:\n\(step)", file: file, line: line)
    XCTAssertEqual(step.after.vfs, step.before.vfs, "the VFs changed:\n\(step)", file: file, line: line)
  }

  /// The same VF devices as before the step (none was removed and created again), whatever
  /// happened to their drivers and netdevs.
  private func assertNotRecreated(_ step: Step, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(
      step.after.vfs.map { "\($0.index) \($0.address) ino=\($0.inode)" },
      step.before.vfs.map { "\($0.index) \($0.address) ino=\($0.inode)" },
      "the VFs were removed and created again:\n\(step)", file: file, line: line)
  }

  /// A refusal the way every sriovctl error looks: exit 1, nothing on stdout, one line on stderr,
  /// not a crash; and the PF left exactly as it was.
  private func assertRefused(
    _ step: Step, mentioning words: [String], file: StaticString = #filePath, line: UInt = #line
  ) {
    XCTAssertEqual(step.status, 1, "expected a refusal (exit 1):\n\(step)", file: file, line: line)
    XCTAssertEqual(step.stdout, "", "nothing on stdout when refusing:\n\(step)", file: file, line: line)
    XCTAssertEqual(
      step.stderr.split(separator: "\n", omittingEmptySubsequences: false).count, 2,
      "exactly one line on stderr:\n\(step)", file: file, line: line)
    XCTAssertTrue(step.stderr.hasSuffix("\n"), "stderr:\n\(step)", file: file, line: line)
    XCTAssertFalse(step.stderr.contains("Fatal error"), "\(step)", file: file, line: line)
    XCTAssertFalse(step.stderr.contains("Backtrac"), "\(step)", file: file, line: line)
    for word in words {
      XCTAssertTrue(containsWord(step.stderr, word), "'\(word)' is not named on stderr:\n\(step)", file: file, line: line)
    }
    assertUntouched(step, file: file, line: line)
  }

  /// Whether `word` occurs in `text` as a word of its own: not inside a longer name or number, nor
  /// a component of a PCI address (the "0"s in "0000:01:00.0" or in "eth0" do not count; a
  /// sentence's final dot does not glue: "in use: eth1." names eth1).
  private func containsWord(_ text: String, _ word: String) -> Bool {
    func isNameCharacter(_ c: Character) -> Bool {
      c.isLetter || c.isNumber || c == ":" || c == "_"
    }
    var searchRange = text.startIndex..<text.endIndex
    while let found = text.range(of: word, range: searchRange) {
      var gluedBefore = false
      if found.lowerBound > text.startIndex {
        let previous = text.index(before: found.lowerBound)
        if isNameCharacter(text[previous]) {
          gluedBefore = true
        } else if text[previous] == ".", previous > text.startIndex {
          gluedBefore = isNameCharacter(text[text.index(before: previous)])
        }
      }
      var gluedAfter = false
      if found.upperBound < text.endIndex {
        if isNameCharacter(text[found.upperBound]) {
          gluedAfter = true
        } else if text[found.upperBound] == "." {
          let next = text.index(after: found.upperBound)
          gluedAfter = next < text.endIndex && isNameCharacter(text[next])
        }
      }
      if !gluedBefore && !gluedAfter { return true }
      searchRange = text.index(after: found.lowerBound)..<text.endIndex
    }
    return false
  }

  /// `trust` / `spoofchk` from the JSON document: a Bool, or "on"/"off".
  private func flag(_ value: Any?) -> Bool? {
    if let bool = value as? Bool { return bool }
    switch value as? String {
    case "on", "true": return true
    case "off", "false": return false
    default: return nil
    }
  }

  /// The `vf N ...` line of `ip -d link show eth0`.
  private func ipVFLine(_ step: Step, _ index: Int, file: StaticString = #filePath, line: UInt = #line) throws -> String {
    let ip = try XCTUnwrap(step.ipLink, "no ip link output for \(step.name)", file: file, line: line)
    let lines = ip.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
    return try XCTUnwrap(
      lines.first { $0.hasPrefix("vf \(index) ") }, "no 'vf \(index)' line in ip link show eth0:\n\(ip)",
      file: file, line: line)
  }

  // MARK: The tests

  /// Boot 1 (no IOMMU): create, idempotence, resize through 0, the totalvfs limit, per-VF
  /// settings, refusing to destroy a VF in use (and --force), two concurrent runs, back to 0.
  func testCreateResizeConfigureAndRefuse() throws {
    let boot = try boot("basic", [])

    // 1. 0 -> 4 by interface name: 4 VFs on igbvf, each with its netdev.
    let step1 = try boot.step("step01-create4")
    let (json1, _) = try assertSucceeded(step1, changed: true, previous: 0, numVFs: 4)
    XCTAssertFalse(actions(json1).isEmpty, "a change lists its actions:\n\(step1)")
    for vf in step1.after.vfs {
      XCTAssertEqual(vf.driver, "igbvf", "VF \(vf.index):\n\(step1)")
      XCTAssertEqual(vf.interfaces.count, 1, "VF \(vf.index) has its netdev once create-vfs returns:\n\(step1)")
    }
    XCTAssertEqual(step1.after.vfs.map(\.index), [0, 1, 2, 3], "\(step1)")

    // 2. The same again: nothing to do, and nothing touched.
    let step2 = try boot.step("step02-again4")
    let (json2, _) = try assertSucceeded(step2, changed: false, previous: 4, numVFs: 4)
    XCTAssertEqual(actions(json2), [], "no actions when already as asked:\n\(step2)")
    assertUntouched(step2)

    // 3. 4 -> 2 by PCI address: the kernel needs 0 first; the actions say 0, then 2.
    let step3 = try boot.step("step03-to2")
    let (json3, _) = try assertSucceeded(step3, changed: true, previous: 4, numVFs: 2)
    let actions3 = actions(json3)
    let zero = actions3.firstIndex { containsWord($0, "0") }
    let two = actions3.lastIndex { containsWord($0, "2") }
    XCTAssertNotNil(zero, "no action mentions writing 0: \(actions3)\n\(step3)")
    XCTAssertNotNil(two, "no action mentions 2: \(actions3)\n\(step3)")
    if let zero, let two { XCTAssertLessThan(zero, two, "0 must come before 2: \(actions3)") }
    for vf in step3.after.vfs {
      XCTAssertEqual(vf.driver, "igbvf", "VF \(vf.index):\n\(step3)")
      XCTAssertEqual(vf.interfaces.count, 1, "VF \(vf.index) netdev:\n\(step3)")
    }
    // Through 0: VF 0 and VF 1 are new devices.
    for index in 0..<2 {
      XCTAssertNotEqual(
        step3.after.vfs.first { $0.index == index }?.inode, step3.before.vfs.first { $0.index == index }?.inode,
        "VF \(index) should have been removed (0 written) and created again:\n\(step3)")
    }

    // 4. Above sriov_totalvfs: refused, naming the limit, nothing written.
    let step4 = try boot.step("step04-above-total")
    assertRefused(step4, mentioning: ["7"])
    XCTAssertEqual(step4.after.numVFs, 2, "\(step4)")

    // 5. Per-VF settings on the 2 existing VFs: applied without recreating them.
    let step5 = try boot.step("step05-configure")
    let (json5, vfs5) = try assertSucceeded(step5, changed: true, previous: 2, numVFs: 2)
    XCTAssertFalse(actions(json5).isEmpty, "\(step5)")
    assertNotRecreated(step5)
    XCTAssertEqual((vfs5[0]?["mac"] as? String)?.lowercased(), "02:11:22:33:44:55", "VF 0 mac:\n\(step5)")
    XCTAssertEqual(flag(vfs5[0]?["trust"]), true, "VF 0 trust:\n\(step5)")
    XCTAssertEqual(vfs5[1]?["vlan"] as? Int, 100, "VF 1 vlan:\n\(step5)")
    XCTAssertEqual(flag(vfs5[1]?["spoofchk"]), false, "VF 1 spoofchk:\n\(step5)")
    XCTAssertEqual(flag(vfs5[0]?["spoofchk"]), true, "VF 0 spoofchk is left on:\n\(step5)")
    XCTAssertEqual(flag(vfs5[1]?["trust"]), false, "VF 1 trust is left off:\n\(step5)")
    // ...and the kernel (the PF's view through netlink, as `ip link show` prints it) agrees.
    let vf0Line = try ipVFLine(step5, 0)
    let vf1Line = try ipVFLine(step5, 1)
    XCTAssertTrue(vf0Line.contains("link/ether 02:11:22:33:44:55 "), vf0Line)
    XCTAssertTrue(vf0Line.contains("trust on"), vf0Line)
    XCTAssertTrue(vf0Line.contains("spoof checking on"), vf0Line)
    XCTAssertFalse(vf0Line.contains("vlan"), vf0Line)
    XCTAssertTrue(vf1Line.contains(", vlan 100,"), vf1Line)
    XCTAssertTrue(vf1Line.contains("spoof checking off"), vf1Line)
    XCTAssertTrue(vf1Line.contains("trust off"), vf1Line)
    // The same settings again: already as asked.
    let step5b = try boot.step("step05b-configure-again")
    let (json5b, _) = try assertSucceeded(step5b, changed: false, previous: 2, numVFs: 2)
    XCTAssertEqual(actions(json5b), [], "no actions when the settings are already there:\n\(step5b)")
    assertUntouched(step5b)
    XCTAssertEqual(try ipVFLine(step5b, 0), vf0Line)
    XCTAssertEqual(try ipVFLine(step5b, 1), vf1Line)

    // 6. VF 0's netdev up with an address: 2 -> 3 would destroy it, so it is refused, naming it.
    let vf0 = try boot.text("step06-vf0-interface").trimmingCharacters(in: .whitespacesAndNewlines)
    let inUse = try boot.text("step06-vf0-in-use.txt")
    XCTAssertTrue(inUse.contains("status 0") && inUse.contains("inet 192.0.2.1/24"), "setting VF 0 up failed:\n\(inUse)")
    let step6 = try boot.step("step06-in-use")
    let vf0Kernel = try XCTUnwrap(step6.before.vfs.first { $0.index == 0 }, "\(step6)")
    let vf1Kernel = try XCTUnwrap(step6.before.vfs.first { $0.index == 1 }, "\(step6)")
    XCTAssertEqual(vf0Kernel.interfaces, [vf0])
    assertRefused(step6, mentioning: [])
    XCTAssertTrue(
      containsWord(step6.stderr, vf0) || containsWord(step6.stderr, vf0Kernel.address),
      "the VF in use (\(vf0), \(vf0Kernel.address)) is not named:\n\(step6)")
    for name in vf1Kernel.interfaces + [vf1Kernel.address] {
      XCTAssertFalse(containsWord(step6.stderr, name), "VF 1 (\(name)) is not in use, yet named:\n\(step6)")
    }
    // --force does it anyway, through 0.
    let step6b = try boot.step("step06b-force")
    try assertSucceeded(step6b, changed: true, previous: 2, numVFs: 3)
    for vf in step6b.after.vfs {
      XCTAssertEqual(vf.driver, "igbvf", "VF \(vf.index):\n\(step6b)")
      XCTAssertEqual(vf.interfaces.count, 1, "VF \(vf.index) netdev:\n\(step6b)")
    }
    XCTAssertNotEqual(step6b.after.vfs.first?.inode, step6b.before.vfs.first?.inode, "VF 0 was not recreated:\n\(step6b)")

    // 7. Two runs at once, 3 -> 5: both succeed, one after the other; only the first changes anything.
    let before7 = try boot.state("step07-concurrent.before")
    let after7 = try boot.state("step07-concurrent.after")
    XCTAssertEqual(before7.numVFs, 3)
    var runs: [(name: String, json: [String: Any])] = []
    for name in ["a", "b"] {
      let status = try boot.status("step07-concurrent-\(name).status")
      let stdout = try boot.text("step07-concurrent-\(name).stdout")
      let stderr = try boot.text("step07-concurrent-\(name).stderr")
      let report = "run \(name): exit \(status.map(String.init) ?? "?")\nstdout: \(stdout)\nstderr: \(stderr)\n"
        + "sysfs after both:\n\(after7)"
      XCTAssertEqual(status, 0, report)
      XCTAssertEqual(stderr, "", report)
      guard let json = (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any] else {
        XCTFail("stdout is not a JSON object:\n\(report)")
        continue
      }
      XCTAssertEqual(json["num_vfs"] as? Int, 5, report)
      XCTAssertEqual((json["vfs"] as? [Any])?.count, 5, report)
      runs.append((name, json))
    }
    let changedRuns = runs.filter { $0.json["changed"] as? Bool == true }
    let unchangedRuns = runs.filter { $0.json["changed"] as? Bool == false }
    XCTAssertEqual(changedRuns.count, 1, "exactly one run changes the PF: \(runs.map { "\($0.name): \($0.json)" })")
    XCTAssertEqual(unchangedRuns.count, 1, "the other finds it done: \(runs.map { "\($0.name): \($0.json)" })")
    if let first = changedRuns.first {
      XCTAssertEqual(first.json["previous"] as? Int, 3, "\(first.json)")
    }
    if let second = unchangedRuns.first {
      // It waited for the first one's lock, then read the PF: already 5, nothing to do.
      XCTAssertEqual(second.json["previous"] as? Int, 5, "the second run read the PF before the first was done: \(second.json)")
      XCTAssertEqual(actions(second.json), [], "\(second.json)")
    }
    XCTAssertEqual(after7.numVFs, 5, "\(after7)")
    XCTAssertEqual(after7.vfs.count, 5, "\(after7)")
    for vf in after7.vfs {
      XCTAssertEqual(vf.driver, "igbvf", "VF \(vf.index):\n\(after7)")
      XCTAssertEqual(vf.interfaces.count, 1, "VF \(vf.index) netdev:\n\(after7)")
    }

    // 8. Back to none.
    let step8 = try boot.step("step08-zero")
    let (json8, _) = try assertSucceeded(step8, changed: true, previous: 5, numVFs: 0)
    XCTAssertFalse(actions(json8).isEmpty, "\(step8)")
    XCTAssertEqual(step8.after.vfs.count, 0, "\(step8)")
  }

  /// Boot 2 (vIOMMU, `intel_iommu=on iommu=pt`): VFs bound to vfio-pci in their IOMMU groups,
  /// and dry runs that print a plan and change nothing.
  func testVFIODriverAndDryRun() throws {
    let boot = try boot("vfio", ["--viommu", "--cmdline", "intel_iommu=on iommu=pt"])
    XCTAssertTrue(try boot.text("cmdline").contains("intel_iommu=on"))

    // 1. A dry run from 0 VFs, as text: a plan on stdout, nothing written.
    let step1 = try boot.step("step01-dry-run")
    XCTAssertEqual(step1.status, 0, "\(step1)")
    XCTAssertEqual(step1.stderr, "", "\(step1)")
    XCTAssertFalse(step1.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "a dry run prints its plan:\n\(step1)")
    assertUntouched(step1)
    XCTAssertEqual(step1.after.numVFs, 0, "\(step1)")
    XCTAssertEqual(step1.after.autoprobe, 1, "a dry run writes nothing, sriov_drivers_autoprobe included:\n\(step1)")

    // 2. The same as JSON: the plan is the actions.
    let step2 = try boot.step("step02-dry-run-json")
    XCTAssertEqual(step2.status, 0, "\(step2)")
    XCTAssertEqual(step2.stderr, "", "\(step2)")
    let json2 = try step2.json()
    for key in Self.topKeys where json2[key] == nil {
      XCTFail("key '\(key)' is missing from the JSON document:\n\(step2)")
    }
    XCTAssertEqual(json2["pf"] as? String, pf, "\(step2)")
    XCTAssertEqual(json2["previous"] as? Int, 0, "\(step2)")
    XCTAssertFalse(actions(json2).isEmpty, "a dry run's actions are its plan:\n\(step2)")
    assertUntouched(step2)
    XCTAssertEqual(step2.after.autoprobe, 1, "\(step2)")

    // 3. 2 VFs bound to vfio-pci through driver_override, each in an IOMMU group.
    let step3 = try boot.step("step03-vfio")
    let (_, vfs3) = try assertSucceeded(step3, changed: true, previous: 0, numVFs: 2)
    let devVFIO = boot.optionalText("step03-vfio.dev-vfio") ?? ""
    for vf in step3.after.vfs {
      XCTAssertEqual(vf.driver, "vfio-pci", "VF \(vf.index): the driver link in sysfs:\n\(step3)")
      XCTAssertEqual(vfs3[vf.index]?["driver"] as? String, "vfio-pci", "VF \(vf.index) in the JSON:\n\(step3)")
      XCTAssertEqual(vf.driverOverride, "vfio-pci", "VF \(vf.index) driver_override:\n\(step3)")
      XCTAssertEqual(vf.interfaces, [], "a VF on vfio-pci has no netdev:\n\(step3)")
      let group = try XCTUnwrap(vf.iommuGroup, "VF \(vf.index) has no iommu_group:\n\(step3)")
      XCTAssertTrue(
        devVFIO.split(separator: "\n").contains { $0.hasSuffix(" \(group)") },
        "no /dev/vfio/\(group) for VF \(vf.index):\n\(devVFIO)")
    }
    XCTAssertEqual(Set(step3.after.vfs.compactMap(\.iommuGroup)).count, 2, "each VF in its own group:\n\(step3)")

    // 4. The same again: already as asked.
    let step4 = try boot.step("step04-again")
    let (json4, _) = try assertSucceeded(step4, changed: false, previous: 2, numVFs: 2)
    XCTAssertEqual(actions(json4), [], "\(step4)")
    assertUntouched(step4)

    // 5. A forced dry run of 2 -> 3: a plan, and the vfio-pci VFs stay exactly as they were.
    let step5 = try boot.step("step05-dry-run-force")
    XCTAssertEqual(step5.status, 0, "\(step5)")
    XCTAssertEqual(step5.stderr, "", "\(step5)")
    let json5 = try step5.json()
    XCTAssertEqual(json5["previous"] as? Int, 2, "\(step5)")
    XCTAssertFalse(actions(json5).isEmpty, "the plan:\n\(step5)")
    assertUntouched(step5)
    XCTAssertEqual(step5.after.numVFs, 2, "\(step5)")
  }
}
