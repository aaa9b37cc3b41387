import Foundation
import SRIOVFixtures
import SRIOVKit
import XCTest

/// The sriovctl.sriov collection (contrib/ansible/ansible_collections/sriovctl/sriov), built with
/// `ansible-galaxy collection build` and installed from that tarball with `ansible-galaxy
/// collection install` once per run, its modules run by their FQCN by the real `ansible-playbook` (ansible-core
/// 2.17 from PyPI, in a virtual environment that Tests/ansible/run.sh creates and caches in
/// /var/cache/sriovctl-ansible) against localhost with a local connection, driving the built
/// sriovctl on fixture hosts; and contrib/cloud-init/sriov.yaml validated by Debian's cloud-init
/// (Tests/ansible/cloud-init-schema.sh). The first run needs PyPI and the Debian mirror; set
/// SRIOVCTL_SKIP_ANSIBLE_TESTS=1 to skip these tests on purpose.
///
/// ansible-core has no JSON stdout callback (ansible.posix has it), so run.sh configures the default
/// callback to print each task's result as one line of JSON (`result_format = json`, not pretty,
/// `-v`); `Play` parses exactly those lines, and keeps what is printed before each result (the
/// `--diff` output).
final class AnsibleTests: XCTestCase {
  /// One task's result as ansible-playbook printed it.
  struct TaskResult {
    var task: String
    /// ok, changed, fatal or skipping.
    var status: String
    var result: [String: Any]
    /// What the callback printed for the task before its result line: the diff, in --diff mode.
    var text: String

    var changed: Bool? { result["changed"] as? Bool }
    var persistence: [[String: Any]] { result["persistence"] as? [[String: Any]] ?? [] }
  }

  struct Play: CustomStringConvertible {
    var status: Int32
    var tasks: [TaskResult]
    var recap: [String: Int]
    var output: String
    var description: String { "exit \(status):\n\(output)" }

    func task(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> TaskResult {
      try XCTUnwrap(tasks.first { $0.task == name }, "no result for task '\(name)' in:\n\(output)", file: file, line: line)
    }
  }

  private static let moduleTask = "VFs on the PF"
  private static let pf = "0000:3b:00.0"

  private var work = ""
  private var x710 = ""
  private var binary: String { productsDirectory.appendingPathComponent("sriovctl").path }
  private var runScript: URL { repositoryRoot.appendingPathComponent("Tests/ansible/run.sh") }

  /// The collection's tarball, built and installed (where run.sh's playbooks find it) once, on
  /// first use.
  private static let collection = Result<String, Error> {
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("sriovctl-collection-\(UUID().uuidString)")
    let run = try runProgram(repositoryRoot.appendingPathComponent("Tests/ansible/run.sh"), ["collection", out.path])
    guard run.status == 0 else {
      throw NSError(domain: "AnsibleTests", code: Int(run.status), userInfo: [
        NSLocalizedDescriptionKey: "Tests/ansible/run.sh collection failed (exit \(run.status)):\n\(run.stdout)\(run.stderr)"])
    }
    return run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
  }

  private static func builtCollection() throws -> String { try collection.get() }

  override func setUpWithError() throws {
    if ProcessInfo.processInfo.environment["SRIOVCTL_SKIP_ANSIBLE_TESTS"] == "1" {
      throw XCTSkip("SRIOVCTL_SKIP_ANSIBLE_TESTS=1: the Ansible and cloud-init tests were skipped on purpose")
    }
    _ = try Self.builtCollection()
    work = try temporaryDirectory(self).path
    x710 = work + "/x710"
    _ = try FixtureHosts.x710(at: x710)
    // The systemd method's unit runs sriovctl at boot: it must be installed in the host tree.
    try FileManager.default.createDirectory(atPath: x710 + "/usr/local/bin", withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: binary, toPath: x710 + "/usr/local/bin/sriovctl")
  }

  /// Parses the default callback's output (result_format json, -v).
  static func parse(_ output: String) -> (tasks: [TaskResult], recap: [String: Int]) {
    var tasks: [TaskResult] = []
    var recap: [String: Int] = [:]
    var current = ""
    var pending: [String] = []
    var inRecap = false
    let statuses = ["ok", "changed", "fatal", "skipping", "failed"]
    for line in output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
      if line.hasPrefix("TASK [") {
        current = String(line.dropFirst(6).prefix { $0 != "]" })
        pending = []
        continue
      }
      if line.hasPrefix("PLAY RECAP") {
        inRecap = true
        continue
      }
      if inRecap, line.hasPrefix("localhost") {
        for field in line.split(separator: " ") where field.contains("=") {
          let parts = field.split(separator: "=")
          if parts.count == 2, let value = Int(parts[1]) { recap[String(parts[0])] = value }
        }
        continue
      }
      if let arrow = line.range(of: " => {"),
        let status = statuses.first(where: { line.hasPrefix("\($0): [localhost]") })
      {
        let json = String(line[line.index(before: arrow.upperBound)...])
        if let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] {
          tasks.append(TaskResult(task: current, status: status, result: object, text: pending.joined(separator: "\n")))
          pending = []
          continue
        }
      }
      pending.append(line)
    }
    return (tasks, recap)
  }

  /// ansible-playbook with a playbook from Tests/ansible (or a path) and extra variables.
  private func playbook(_ name: String, _ variables: [String: String], _ options: [String] = []) throws -> Play {
    let path = name.hasPrefix("/") ? name : repositoryRoot.appendingPathComponent("Tests/ansible/\(name)").path
    var arguments = ["playbook", path, "-v"]
    for (key, value) in variables.sorted(by: { $0.key < $1.key }) { arguments += ["-e", "\(key)=\(value)"] }
    let run = try runProgram(runScript, arguments + options)
    let (tasks, recap) = Self.parse(run.stdout)
    return Play(status: run.status, tasks: tasks, recap: recap, output: run.stdout + run.stderr)
  }

  private func vfs(_ variables: [String: String], _ options: [String] = []) throws -> Play {
    try playbook("vfs.yml", ["root": x710, "sriovctl": binary].merging(variables) { $1 }, options)
  }

  private func fileContent(_ root: String, _ path: String) -> String? {
    try? String(contentsOfFile: root + path, encoding: .utf8)
  }

  private func numVFs() throws -> String {
    try String(contentsOfFile: x710 + "/sys/bus/pci/devices/\(Self.pf)/sriov_numvfs", encoding: .utf8)
      .trimmingCharacters(in: .whitespacesAndNewlines)
  }

  // MARK: - The collection

  /// `ansible-galaxy collection build` (what `make collection` runs) made a tarball of this
  /// version with the modules, their shared module_utils, the role and the collection's metadata.
  func testTheCollectionBuildsWithItsModulesRoleAndVersion() throws {
    let tarball = try Self.builtCollection()
    XCTAssertTrue(tarball.hasSuffix("/sriovctl-sriov-\(SRIOVKit.version).tar.gz"), tarball)
    let list = try runProgram(URL(fileURLWithPath: "/bin/tar"), ["-tzf", tarball])
    XCTAssertEqual(list.status, 0, list.stderr)
    let files = Set(list.stdout.split(separator: "\n").map(String.init))
    for file in [
      "MANIFEST.json", "FILES.json", "README.md", "LICENSE", "meta/runtime.yml",
      "plugins/modules/check.py", "plugins/modules/vfs.py", "plugins/modules/apply.py", "plugins/modules/verify.py",
      "plugins/module_utils/sriovctl.py", "roles/node/tasks/main.yml", "roles/node/defaults/main.yml",
      "roles/node/meta/argument_specs.yml", "playbooks/sriov.yml",
    ] {
      XCTAssertTrue(files.contains(file), "\(file) is not in the collection: \(files.sorted())")
    }
    // The modules share module_utils rather than each carrying a copy.
    for module in ["check", "vfs", "apply", "verify"] {
      let source = try String(
        contentsOf: repositoryRoot.appendingPathComponent("contrib/ansible/ansible_collections/sriovctl/sriov/plugins/modules/\(module).py"),
        encoding: .utf8)
      XCTAssertTrue(source.contains("from ansible_collections.sriovctl.sriov.plugins.module_utils.sriovctl import"), module)
      XCTAssertFalse(source.contains("module.run_command("), "\(module) runs sriovctl itself")
    }
  }

  /// ansible-test sanity, the tests that need no container: compile, import, validate-modules,
  /// pep8, pylint, yamllint, ansible-doc, runtime-metadata and the rest of its default list.
  func testAnsibleTestSanityPasses() throws {
    let run = try runProgram(runScript, ["sanity"])
    XCTAssertEqual(run.status, 0, "ansible-test sanity failed:\n\(run.stdout.suffix(6000))\(run.stderr.suffix(6000))")
    for test in ["compile", "import", "validate-modules", "pep8", "pylint", "yamllint"] {
      XCTAssertTrue(run.stdout.contains("Running sanity test \"\(test)\"") || run.stderr.contains("Running sanity test \"\(test)\""),
                    "ansible-test did not run \(test)")
    }
  }

  /// The role: on a ready host it plans the node file and installs it with sriovctl.service under
  /// the root, then changes nothing on a second run; on a host that is not ready it stops at the
  /// check, before anything is written.
  /// How ansible-playbook names a role's tasks.
  private static let role = "sriovctl.sriov.node : "

  func testTheNodeRoleGatesAppliesAndPersists() throws {
    let first = try playbook("role.yml", ["root": x710, "sriovctl": binary])
    XCTAssertEqual(first.status, 0, "\(first)")
    XCTAssertEqual(try first.task(Self.role + "The node is ready for SR-IOV").status, "ok")
    let applied = try first.task(Self.role + "The node file is applied and persisted")
    XCTAssertEqual(applied.status, "changed", "\(applied.result)")
    XCTAssertEqual((applied.result["pfs"] as? [[String: Any]])?.first?["pf"] as? String, Self.pf, "\(applied.result)")
    XCTAssertEqual(try numVFs(), "4", "apply_now false leaves the VFs as they are")
    let unit = try XCTUnwrap(fileContent(x710, "/etc/systemd/system/sriovctl.service"))
    XCTAssertTrue(unit.contains("apply --boot -f /etc/sriovctl/sriovctl.yaml"), unit)
    let file = try XCTUnwrap(fileContent(x710, "/etc/sriovctl/sriovctl.yaml"))
    XCTAssertTrue(file.contains("\"vlan\": 100"), file)
    XCTAssertNil(first.tasks.first { $0.task == Self.role + "The sriovctl package is installed" && $0.status != "skipping" })

    let second = try playbook("role.yml", ["root": x710, "sriovctl": binary])
    XCTAssertEqual(second.status, 0, "\(second)")
    XCTAssertEqual(second.recap["changed"], 0, "\(second)")

    let cx5 = work + "/cx5-role"
    _ = try FixtureHosts.connectX5SRIOVDisabled(at: cx5)
    let refused = try playbook("role.yml", ["root": cx5, "sriovctl": binary])
    XCTAssertEqual(refused.status, 2, "\(refused)")
    XCTAssertEqual(try refused.task(Self.role + "The node is ready for SR-IOV").status, "fatal")
    XCTAssertNil(refused.tasks.first { $0.task.hasPrefix(Self.role + "The node file is applied") }, "\(refused)")
    XCTAssertNil(fileContent(cx5, "/etc/systemd/system/sriovctl.service"))
  }

  // MARK: - The modules' documentation

  /// ansible-doc's JSON for each module: exactly these options and return values, and examples.
  /// (ansible-test's validate-modules checks that the documentation matches the argument spec.)
  func testAnsibleDocAcceptsEveryModule() throws {
    let modules: [(name: String, options: Set<String>, returns: Set<String>)] = [
      (
        "sriovctl.sriov.vfs",
        ["pf", "state", "num_vfs", "driver", "autoprobe", "mac", "vlan", "trust", "spoofchk", "link_state", "max_tx_rate",
         "mtu", "force", "apply_now", "persist", "root", "sriovctl", "timeout"],
        ["actions", "commands", "create_vfs", "diff", "interface", "num_vfs", "persistence", "pf", "previous", "vfs"]
      ),
      ("sriovctl.sriov.check", ["pf", "fail_on_error", "root", "kubeconfig", "context", "node", "kubectl", "device_plugin_config", "sriovctl"], ["checks", "failed_checks", "ok", "rc", "warnings_checks"]),
      (
        "sriovctl.sriov.apply", ["config", "path", "force", "persist", "apply_now", "timeout", "root", "sriovctl"],
        ["notes", "persist", "pfs", "unmatched"]
      ),
      ("sriovctl.sriov.verify", ["path", "fail_on_drift", "root", "sriovctl"], ["differences", "in_sync", "unmatched"]),
    ]
    for module in modules {
      let run = try runProgram(runScript, ["doc", "--json", module.name])
      XCTAssertEqual(run.status, 0, "ansible-doc \(module.name): \(run.stderr)")
      XCTAssertFalse(run.stderr.contains("ERROR"), run.stderr)
      let json = try XCTUnwrap(
        try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], run.stdout)
      XCTAssertEqual(Set(json.keys), [module.name])
      let entry = try XCTUnwrap(json[module.name] as? [String: Any])
      let doc = try XCTUnwrap(entry["doc"] as? [String: Any])
      let options = try XCTUnwrap(doc["options"] as? [String: Any])
      XCTAssertEqual(Set(options.keys), module.options, module.name)
      for (name, option) in options {
        let description = (option as? [String: Any])?["description"]
        XCTAssertFalse(
          (description as? [String])?.joined().isEmpty ?? (description as? String)?.isEmpty ?? true,
          "\(module.name): option \(name) has no description")
      }
      let returns = try XCTUnwrap(entry["return"] as? [String: Any], "\(module.name) documents no return values")
      XCTAssertEqual(Set(returns.keys), module.returns, module.name)
      let examples = try XCTUnwrap(entry["examples"] as? String, "\(module.name) has no examples")
      XCTAssertTrue(examples.contains(module.name + ":"), "\(module.name)'s examples do not use it by FQCN:\n\(examples)")
    }
  }

  // MARK: - persist: install, idempotence, diff, check mode, remove

  func testPersistInstallsOnceThenChangesNothingThenRemoves() throws {
    let expectedPaths = [
      "udev": "/etc/udev/rules.d/70-sriovctl-0000-3b-00.0.rules",
      "systemd": "/etc/systemd/system/sriovctl-vfs-0000-3b-00.0.service",
      "link": "/etc/systemd/network/10-sriovctl-0000-3b-00.0.link",
    ]
    for method in ["udev", "systemd", "link"] {
      let path = try XCTUnwrap(expectedPaths[method])
      let persisting = ["persist": method, "apply_now": "false"]

      // Check mode first: would change, writes nothing.
      let dry = try vfs(persisting, ["--check"])
      XCTAssertEqual(dry.status, 0, "\(dry)")
      let dryTask = try dry.task(Self.moduleTask)
      XCTAssertEqual(dryTask.status, "changed", "\(dry)")
      XCTAssertEqual(dryTask.changed, true)
      XCTAssertNil(fileContent(x710, path), "check mode wrote \(path)")

      // First run: installed, changed; the file is what sriovctl printed; the diff shows it all.
      let first = try vfs(persisting, ["--diff"])
      XCTAssertEqual(first.status, 0, "\(first)")
      XCTAssertEqual(first.recap["changed"], 1, "\(first)")
      XCTAssertEqual(first.recap["failed"], 0, "\(first)")
      let task = try first.task(Self.moduleTask)
      XCTAssertEqual(task.status, "changed")
      XCTAssertEqual(task.result["pf"] as? String, Self.pf)
      XCTAssertEqual(task.result["num_vfs"] as? Int, 4)
      XCTAssertNil(task.result["create_vfs"], "apply_now=false runs no create-vfs")
      XCTAssertEqual(task.persistence.count, 1)
      let persisted = try XCTUnwrap(task.persistence.first)
      XCTAssertEqual(persisted["method"] as? String, method)
      XCTAssertEqual(persisted["path"] as? String, path)
      XCTAssertEqual(persisted["changed"] as? Bool, true)
      let content = try XCTUnwrap(persisted["content"] as? String)
      XCTAssertTrue(content.hasPrefix("# Written by sriovctl"), content)
      XCTAssertEqual(fileContent(x710, path), content, "the file on disk is what sriovctl printed")
      XCTAssertTrue(first.output.contains("--- before: \(path) (missing)\n+++ after: \(path)\n"), "\(first)")
      let added = content.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { "+\($0)" }
      XCTAssertTrue(task.text.contains(added.joined(separator: "\n")), "the diff shows the whole file:\n\(task.text)")
      let commands = try XCTUnwrap(task.result["commands"] as? [[String]])
      XCTAssertEqual(
        commands.last,
        [binary, "persist", Self.pf, "--method", method, "--count", "4", "--install", "-o", "json", "--root", x710])

      // Second run: ok, not changed; the file untouched.
      let modified = try FileManager.default.attributesOfItem(atPath: x710 + path)[.modificationDate] as? Date
      let second = try vfs(persisting)
      XCTAssertEqual(second.status, 0, "\(second)")
      XCTAssertEqual(second.recap["changed"], 0, "\(second)")
      let again = try second.task(Self.moduleTask)
      XCTAssertEqual(again.status, "ok")
      XCTAssertEqual(again.changed, false)
      XCTAssertEqual(again.persistence.first?["changed"] as? Bool, false)
      XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: x710 + path)[.modificationDate] as? Date, modified)

      // Check mode: same options, no change; another count, a change shown in the diff, file kept.
      let same = try vfs(persisting, ["--check"])
      XCTAssertEqual(try same.task(Self.moduleTask).changed, false, "\(same)")
      let other = try vfs(persisting.merging(["num_vfs": "8"]) { $1 }, ["--check", "--diff"])
      let otherTask = try other.task(Self.moduleTask)
      XCTAssertEqual(otherTask.changed, true, "\(other)")
      XCTAssertTrue(otherTask.text.contains("-# Written by sriovctl 0.1.0: 4 VFs on PF 0000:3b:00.0 at boot."), otherTask.text)
      XCTAssertTrue(otherTask.text.contains("+# Written by sriovctl 0.1.0: 8 VFs on PF 0000:3b:00.0 at boot."), otherTask.text)
      XCTAssertEqual(fileContent(x710, path), content, "check mode left the file alone")

      // state: absent removes it (check mode first), then nothing is left to remove.
      let absent = persisting.merging(["state": "absent"]) { $1 }
      let wouldRemove = try vfs(absent, ["--check"])
      XCTAssertEqual(try wouldRemove.task(Self.moduleTask).changed, true, "\(wouldRemove)")
      XCTAssertEqual(fileContent(x710, path), content)
      let remove = try vfs(absent, ["--diff"])
      XCTAssertEqual(remove.status, 0, "\(remove)")
      let removed = try remove.task(Self.moduleTask)
      XCTAssertEqual(removed.status, "changed")
      XCTAssertEqual(removed.persistence.first?["path"] as? String, path)
      XCTAssertEqual(removed.persistence.first?["changed"] as? Bool, true)
      XCTAssertNil(fileContent(x710, path), "\(path) was not removed")
      XCTAssertTrue(removed.text.contains("--- before: \(path)\n+++ after: \(path) (removed)\n"), removed.text)
      let removeAgain = try vfs(absent)
      XCTAssertEqual(removeAgain.status, 0, "\(removeAgain)")
      XCTAssertEqual(try removeAgain.task(Self.moduleTask).status, "ok")
      XCTAssertEqual(try removeAgain.task(Self.moduleTask).changed, false)
    }
  }

  func testAbsentWithoutAMethodRemovesEveryMethodsFile() throws {
    for method in ["udev", "link"] {
      XCTAssertEqual(try vfs(["persist": method, "apply_now": "false"]).status, 0)
    }
    let play = try vfs(["state": "absent", "apply_now": "false"])
    XCTAssertEqual(play.status, 0, "\(play)")
    let task = try play.task(Self.moduleTask)
    XCTAssertEqual(task.changed, true)
    XCTAssertEqual(task.persistence.compactMap { $0["method"] as? String }, ["udev", "link"])
    XCTAssertNil(fileContent(x710, "/etc/udev/rules.d/70-sriovctl-0000-3b-00.0.rules"))
    XCTAssertNil(fileContent(x710, "/etc/systemd/network/10-sriovctl-0000-3b-00.0.link"))
  }

  func testMethodsRefuseOptionsTheyCannotCarry() throws {
    let play = try vfs(["persist": "udev", "apply_now": "false", "vlan": "100"])
    XCTAssertEqual(play.status, 2, "\(play)")
    let task = try play.task(Self.moduleTask)
    XCTAssertEqual(task.status, "fatal")
    XCTAssertEqual(task.result["msg"] as? String, "Error: --method udev cannot carry --vlan; use --method link or systemd")
  }

  // MARK: - create-vfs in check mode

  func testCreateVFsInCheckModeChangesNothing() throws {
    let more = try vfs(["num_vfs": "8"], ["--check"])
    XCTAssertEqual(more.status, 0, "\(more)")
    let task = try more.task(Self.moduleTask)
    XCTAssertEqual(task.status, "changed")
    XCTAssertEqual(task.result["previous"] as? Int, 4)
    XCTAssertEqual(task.result["num_vfs"] as? Int, 8)
    XCTAssertEqual(task.result["interface"] as? String, "ens1f0")
    XCTAssertEqual(
      task.result["actions"] as? [String],
      ["remove the 4 VFs: write 0 to sriov_numvfs", "create 8 VFs: write 8 to sriov_numvfs"])
    XCTAssertEqual((task.result["vfs"] as? [Any])?.count, 0)
    XCTAssertEqual((task.result["create_vfs"] as? [String: Any])?["dry_run"] as? Bool, true)
    let commands = try XCTUnwrap(task.result["commands"] as? [[String]])
    XCTAssertEqual(commands.last, [binary, "create-vfs", Self.pf, "--count", "8", "--dry-run", "-o", "json", "--root", x710])
    XCTAssertEqual(try numVFs(), "4", "check mode wrote sriov_numvfs")

    let same = try vfs(["num_vfs": "4"], ["--check"])
    XCTAssertEqual(same.status, 0, "\(same)")
    let sameTask = try same.task(Self.moduleTask)
    XCTAssertEqual(sameTask.status, "ok")
    XCTAssertEqual(sameTask.changed, false)
    XCTAssertEqual(sameTask.result["actions"] as? [String], [])
    let listed = try XCTUnwrap(sameTask.result["vfs"] as? [[String: Any]])
    XCTAssertEqual(listed.compactMap { $0["interface"] as? String }, ["ens1f0v0", "ens1f0v1", "ens1f0v2", "ens1f0v3"])
    XCTAssertEqual(same.recap["changed"], 0)

    // VF options reach sriovctl as it spells them (booleans as on/off, scalars as lists).
    let options = try vfs(["num_vfs": "4", "vlan": "100", "trust": "true"], ["--check"])
    XCTAssertEqual(options.status, 0, "\(options)")
    let optionsCommands = try XCTUnwrap(try options.task(Self.moduleTask).result["commands"] as? [[String]])
    XCTAssertEqual(
      optionsCommands.last,
      [binary, "create-vfs", Self.pf, "--count", "4", "--vlan", "100", "--trust", "on", "--dry-run", "-o", "json", "--root", x710])

    // For real, a fixture root refuses: the task fails with sriovctl's message.
    let real = try vfs(["num_vfs": "8"])
    XCTAssertEqual(real.status, 2, "\(real)")
    XCTAssertEqual(
      try real.task(Self.moduleTask).result["msg"] as? String,
      "Error: create-vfs changes the running kernel; under --root \(x710) only --dry-run is possible")
    XCTAssertEqual(try numVFs(), "4")
  }

  // MARK: - Failures carry sriovctl's message

  func testABadPFFailsThePlayWithSriovctlsMessage() throws {
    let direct = try sriovctl(["list", "ens9", "--root", x710])
    let message = direct.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
    XCTAssertEqual(
      message,
      "Error: no network interface 'ens9' exists; SR-IOV physical functions here: 0000:3b:00.0 (ens1f0), 0000:3b:00.1 (ens1f1)")
    for options in [["--check"], []] {
      let play = try vfs(["pf": "ens9", "persist": "udev"], options)
      XCTAssertEqual(play.status, 2, "\(play)")
      let task = try play.task(Self.moduleTask)
      XCTAssertEqual(task.status, "fatal")
      XCTAssertEqual(task.result["msg"] as? String, message)
      XCTAssertEqual(task.result["rc"] as? Int, 1)
      XCTAssertNil(play.tasks.first { $0.task == "The play goes on after the task" }, "the play went on:\n\(play)")
      XCTAssertEqual(play.recap["failed"], 1)
    }
  }

  // MARK: - check gating

  /// sriovctl.sriov.apply and sriovctl.sriov.verify on a fixture root: check mode is the plan (nothing
  /// written), diff mode shows the node file and the plan; with apply_now false and persist the
  /// node file and unit are installed once (changed, then not), and verify reports the PF whose
  /// VFs the root does not have yet.
  func testApplyPlansPersistsOnceAndVerifyReportsDrift() throws {
    let variables = ["root": x710, "sriovctl": binary]
    let check = try playbook("apply.yml", variables, ["--check", "--diff"])
    XCTAssertEqual(check.status, 0, "\(check)")
    let plan = try check.task("The plan for both X710 ports")
    XCTAssertEqual(plan.changed, true, "\(check)")
    XCTAssertTrue(plan.text.contains("\"numVfs\": \"4\""), plan.text)
    XCTAssertTrue(plan.text.contains("0000:3b:00.1 ['both-ports']: create 4 VFs: write 4 to sriov_numvfs"), plan.text)
    XCTAssertNil(fileContent(x710, "/etc/sriovctl/sriovctl.yaml"), "check mode writes nothing")
    XCTAssertEqual(try numVFs(), "4")

    let install = try playbook("apply.yml", variables.merging(["persist": "true", "apply_now": "false"]) { $1 })
    XCTAssertEqual(install.status, 0, "\(install)")
    XCTAssertEqual(try install.task("The plan for both X710 ports").changed, true, "\(install)")
    XCTAssertTrue(fileContent(x710, "/etc/systemd/system/sriovctl.service")?.contains("apply --boot") == true)
    XCTAssertTrue(fileContent(x710, "/etc/sriovctl/sriovctl.yaml")?.contains("both-ports") == true)
    let verified = try install.task("Compare the root with the installed file")
    XCTAssertEqual(verified.result["in_sync"] as? Bool, false, "\(install)")
    let differences = verified.result["differences"] as? [[String: Any]] ?? []
    XCTAssertEqual(differences.map { "\($0["pf"] ?? "") \($0["field"] ?? "") \($0["want"] ?? "") \($0["have"] ?? "")" }, ["0000:3b:00.1 numVfs 4 0"])

    let again = try playbook("apply.yml", variables.merging(["persist": "true", "apply_now": "false"]) { $1 })
    XCTAssertEqual(try again.task("The plan for both X710 ports").changed, false, "\(again)")
    XCTAssertEqual(again.recap["changed"], 0, "\(again)")
  }

  func testCheckGatesThePlay() throws {
    let ready = try playbook("check.yml", ["root": x710, "sriovctl": binary])
    XCTAssertEqual(ready.status, 0, "\(ready)")
    let readiness = try ready.task("The host is ready for SR-IOV")
    XCTAssertEqual(readiness.status, "ok")
    XCTAssertEqual(readiness.result["ok"] as? Bool, true)
    XCTAssertEqual(readiness.changed, false)
    let checks = try XCTUnwrap(readiness.result["checks"] as? [[String: Any]])
    let direct = try sriovctl(["check", "-o", "json", "--root", x710]).json()
    XCTAssertEqual(
      checks.compactMap { $0["id"] as? String },
      (direct["checks"] as? [[String: Any]])?.compactMap { $0["id"] as? String }, "the checks as sriovctl reports them")
    XCTAssertEqual(readiness.result["failed_checks"] as? [String], [])
    XCTAssertEqual(try ready.task("Reached only on a ready host").status, "ok")

    let cx5 = work + "/cx5"
    _ = try FixtureHosts.connectX5SRIOVDisabled(at: cx5)
    let notReady = try playbook("check.yml", ["root": cx5, "sriovctl": binary])
    XCTAssertEqual(notReady.status, 2, "\(notReady)")
    let failed = try notReady.task("The host is ready for SR-IOV")
    XCTAssertEqual(failed.status, "fatal")
    XCTAssertEqual(failed.result["ok"] as? Bool, false)
    XCTAssertEqual(failed.result["failed_checks"] as? [String], ["nic.sriov"])
    let directFailure = try XCTUnwrap(
      (try sriovctl(["check", "-o", "json", "--root", cx5]).json()["checks"] as? [[String: Any]])?
        .first { $0["status"] as? String == "fail" })
    let summary = try XCTUnwrap(directFailure["summary"] as? String)
    let remedy = try XCTUnwrap(directFailure["remedy"] as? String)
    XCTAssertEqual(
      failed.result["msg"] as? String, "not ready for SR-IOV: nic.sriov (0000:af:00.0): \(summary); remedy: \(remedy)")
    XCTAssertTrue(remedy.contains("mstconfig -d 0000:af:00.0 set SRIOV_EN=1"), remedy)
    XCTAssertNil(notReady.tasks.first { $0.task == "Reached only on a ready host" }, "the play went on:\n\(notReady)")
    XCTAssertEqual(notReady.recap["failed"], 1)
  }

  /// With a kubeconfig the module returns the cluster checks too, and a play stops on a cluster
  /// that does not see the VFs (the stand-in API server serves a node without the sriov label).
  func testCheckReachesTheCluster() throws {
    let server = try FakeAPIServer(
      self, labels: ["kubernetes.io/hostname": "x710-host"],
      configMaps: [["metadata": ["name": "sriovdp-config", "namespace": "kube-system"], "data": ["config.json": "{\"resourceList\": []}"]]])
    let play = try playbook(
      "check.yml", ["root": x710, "sriovctl": binary, "kubeconfig": server.kubeconfig, "kubectl": server.kubectl])
    XCTAssertEqual(play.status, 2, "\(play)")
    let task = try play.task("The host is ready for SR-IOV")
    let checks = try XCTUnwrap(task.result["checks"] as? [[String: Any]])
    XCTAssertEqual(
      checks.compactMap { $0["id"] as? String }.filter { $0.hasPrefix("kubernetes.") },
      ["kubernetes.node", "kubernetes.label", "kubernetes.device-plugin-config", "kubernetes.device-plugin", "kubernetes.allocatable"])
    XCTAssertEqual(
      task.result["failed_checks"] as? [String], ["kubernetes.label", "kubernetes.device-plugin-config", "kubernetes.device-plugin"])
    XCTAssertEqual(Set(try server.requests().map(\.method)), ["GET"])
  }

  /// fail_on_error: false reports without failing. ansible-core marks any result with a non-zero
  /// `rc` as failed unless `failed` is given, and sriovctl check exits 1 on a host that is not
  /// ready: the module said rc 1 and the task failed although the option promised otherwise.
  func testCheckWithoutFailOnErrorReportsAndThePlayGoesOn() throws {
    let cx5 = work + "/cx5-report"
    _ = try FixtureHosts.connectX5SRIOVDisabled(at: cx5)
    let play = try playbook("check-report.yml", ["root": cx5, "sriovctl": binary])
    XCTAssertEqual(play.status, 0, "\(play)")
    let report = try play.task("Check, and decide later")
    XCTAssertEqual(report.status, "ok", "\(report.result)")
    XCTAssertEqual(report.result["ok"] as? Bool, false)
    XCTAssertEqual(report.result["failed_checks"] as? [String], ["nic.sriov"])
    XCTAssertEqual(report.result["rc"] as? Int, 1, "sriovctl check's own exit status is still reported")
    XCTAssertEqual(try play.task("Reached on any host").status, "ok")
    XCTAssertEqual(play.recap["failed"], 0)
  }

  // MARK: - The example playbook

  func testExamplePlaybookInCheckModeOnAFixture() throws {
    let play = try playbook(
      repositoryRoot.appendingPathComponent("contrib/ansible/ansible_collections/sriovctl/sriov/playbooks/sriov.yml").path,
      ["sriov_root": x710, "sriovctl": binary], ["--check", "--diff"])
    XCTAssertEqual(play.status, 0, "\(play)")
    XCTAssertEqual(play.recap["failed"], 0)
    XCTAssertEqual(play.recap["changed"], 1, "\(play)")
    let task = try play.task("4 VFs on ens1f0, recreated at boot (udev)")
    XCTAssertEqual(task.changed, true)
    XCTAssertEqual(task.persistence.first?["path"] as? String, "/etc/udev/rules.d/70-sriovctl-0000-3b-00.0.rules")
    XCTAssertNil(fileContent(x710, "/etc/udev/rules.d/70-sriovctl-0000-3b-00.0.rules"))
    XCTAssertEqual(try play.task("The VFs").status, "ok")
  }

  // MARK: - The module on the real kernel

  /// The role on a node of its own: in the VM test bed's Debian guest, ansible-playbook (this
  /// venv, with the collection installed from its tarball, carried in by
  /// `Tests/ansible/run.sh controller`) runs sriovctl.sriov.node against the guest itself: it
  /// copies `make deb`'s package, installs it with apt, gates on check, applies a node file on the
  /// real igb PF and persists it; a second run changes nothing (Tests/vm/scenarios/ansible-role.sh).
  func testTheRoleInstallsThePackageAndAppliesInTheDebianGuest() throws {
    try Testbed.requireWanted()
    let deb = try DebianPackage.forGuest(self)
    let controller = "/var/tmp/sriovctl-controller-\(UUID().uuidString).tar"
    addTeardownBlock { try? FileManager.default.removeItem(atPath: controller) }
    let packed = try runProgram(runScript, ["controller", controller])
    XCTAssertEqual(packed.status, 0, packed.stderr)
    let boot = try Testbed.boot(
      self, "ansible-role.sh", [controller, deb],
      options: [
        "--debian", "cached", "--include", controller, "--include", deb, "--cpu", "max",
        // An IOMMU, so that the role's check gate lets the node through.
        "--viommu", "--cmdline", "intel_iommu=on iommu=pt",
      ],
      out: URL(fileURLWithPath: work).appendingPathComponent("vm-role"), timeout: 900)
    func text(_ name: String) -> String { (try? boot.trimmed(name)) ?? "(missing \(name))" }
    XCTAssertEqual(text("before"), "none", "sriovctl was installed before the play")
    XCTAssertEqual(text("play1.status"), "0", text("play1.log"))
    XCTAssertTrue(text("recap1").contains("changed=4 "), "the directory, copy, apt and apply changed: \(text("recap1"))\n\(text("play1.log"))")
    XCTAssertTrue(text("recap1").contains("failed=0 "), text("recap1"))
    XCTAssertEqual(text("play2.status"), "0", text("play2.log"))
    XCTAssertTrue(text("recap2").contains("changed=0 "), "the second run changed something: \(text("play2.log"))")
    XCTAssertEqual(text("dpkg-status"), "install ok installed \(SRIOVKit.version)")
    XCTAssertEqual(text("numvfs"), "3")
    let vfLines = text("ip.txt").split(separator: "\n").filter { $0.hasPrefix("    vf ") }
    XCTAssertEqual(vfLines.map { $0.contains("vlan 100,") }, [false, true, true], text("ip.txt"))
    XCTAssertEqual(text("unit"), "enabled")
    XCTAssertTrue(text("node.yaml").contains("enp1s0#1-2"), text("node.yaml"))
  }

  /// sriovctl.sriov.vfs run the way Ansible runs a module (`python3 MODULE ARGS_FILE`, the arguments as
  /// {"ANSIBLE_MODULE_ARGS": ...}) in the VM test bed's Debian guest against the real igb PF, by
  /// Tests/vm/scenarios/ansible-module.sh. The guest has python3 but no Ansible: ansible-core's
  /// module_utils travel with the module in a tar (`Tests/ansible/run.sh payload`). Needs what
  /// PersistVMTests needs (root, `Tests/vm/testbed.sh prepare`, the release binary built with
  /// --static-swift-stdlib); SRIOVCTL_SKIP_VM_TESTS=1 skips it. About 60-90 s.
  func testModuleOnTheRealKernelInTheDebianGuest() throws {
    try Testbed.requireWanted()
    // --include copies a host file to the same path in the guest, whose /tmp is a fresh tmpfs.
    let payload = "/var/tmp/sriovctl-ansible-\(UUID().uuidString).tar"
    addTeardownBlock { try? FileManager.default.removeItem(atPath: payload) }
    let packed = try runProgram(runScript, ["payload", payload])
    XCTAssertEqual(packed.status, 0, packed.stderr)
    let boot = try Testbed.boot(
      self, "ansible-module.sh", [payload],
      options: ["--debian", "cached", "--install-binary", "--include", payload, "--cpu", "max"],
      binary: try Testbed.releaseBinary(), out: URL(fileURLWithPath: work).appendingPathComponent("vm"), timeout: 600)
    let context = boot.description
    func text(_ name: String) throws -> String { try boot.trimmed(name) }
    func result(_ name: String) throws -> [String: Any] { try boot.json("\(name).json") }
    let unitPath = "/etc/systemd/system/sriovctl-vfs-0000-01-00.0.service"
    XCTAssertEqual(try text("before.txt"), "0", context)

    // A method that cannot carry an option: refused before any VF is created.
    XCTAssertEqual(try text("udevmac.status"), "1")
    let refused = try result("udevmac")
    XCTAssertEqual(refused["failed"] as? Bool, true)
    XCTAssertEqual(refused["msg"] as? String, "Error: --method udev cannot carry --mac; use --method link or systemd")
    XCTAssertEqual((refused["commands"] as? [[String]])?.map { $0[1] }, ["list", "persist"], "no create-vfs ran")
    XCTAssertEqual(try text("udevmac.numvfs"), "0")

    // First run: 3 VFs with igbvf and MACs, the systemd unit installed and enabled; changed.
    XCTAssertEqual(try text("present1.status"), "0", (try? text("present1.stderr")) ?? "")
    let first = try result("present1")
    XCTAssertEqual(first["changed"] as? Bool, true, "\(first)")
    XCTAssertEqual(first["pf"] as? String, "0000:01:00.0")
    XCTAssertEqual(first["previous"] as? Int, 0)
    XCTAssertEqual(first["num_vfs"] as? Int, 3)
    XCTAssertEqual(first["interface"] as? String, "enp1s0")
    let vfs = try XCTUnwrap(first["vfs"] as? [[String: Any]])
    XCTAssertEqual(vfs.count, 3, "\(vfs)")
    XCTAssertEqual(vfs.compactMap { $0["driver"] as? String }, ["igbvf", "igbvf", "igbvf"], "\(vfs)")
    let macs = vfs.compactMap { $0["mac"] as? String }
    XCTAssertEqual(macs.count, 3, "--mac auto: \(vfs)")
    XCTAssertEqual(Set(macs).count, 3)
    XCTAssertEqual(try text("present1.numvfs"), "3")
    let installed = try XCTUnwrap((first["persistence"] as? [[String: Any]])?.first)
    XCTAssertEqual(installed["method"] as? String, "systemd")
    XCTAssertEqual(installed["path"] as? String, unitPath)
    XCTAssertEqual(installed["changed"] as? Bool, true)
    let content = try XCTUnwrap(installed["content"] as? String)
    XCTAssertTrue(content.contains("--count 3 --mac auto"), content)
    XCTAssertEqual(
      try text("unit-after-present.txt"),
      content + "enabled: enabled\nwants: /etc/systemd/system/multi-user.target.wants/sriovctl-vfs-0000-01-00.0.service")

    // Second run: nothing changes, the same MACs.
    XCTAssertEqual(try text("present2.status"), "0", (try? text("present2.stderr")) ?? "")
    let second = try result("present2")
    XCTAssertEqual(second["changed"] as? Bool, false, "\(second)")
    XCTAssertEqual(second["actions"] as? [String], [])
    XCTAssertEqual((second["persistence"] as? [[String: Any]])?.first?["changed"] as? Bool, false)
    XCTAssertEqual((second["vfs"] as? [[String: Any]])?.compactMap { $0["mac"] as? String }, macs)
    XCTAssertEqual(try text("present2.numvfs"), "3")

    // Check mode: a different count would change; nothing did.
    XCTAssertEqual(try text("check2.status"), "0", (try? text("check2.stderr")) ?? "")
    let check = try result("check2")
    XCTAssertEqual(check["changed"] as? Bool, true)
    XCTAssertEqual((check["create_vfs"] as? [String: Any])?["dry_run"] as? Bool, true)
    XCTAssertEqual(try text("check2.numvfs"), "3")

    // state: absent: 0 VFs and the unit gone.
    XCTAssertEqual(try text("absent.status"), "0", (try? text("absent.stderr")) ?? "")
    let absent = try result("absent")
    XCTAssertEqual(absent["changed"] as? Bool, true)
    XCTAssertEqual(absent["previous"] as? Int, 3)
    XCTAssertEqual(try text("absent.numvfs"), "0")
    let removed = try XCTUnwrap((absent["persistence"] as? [[String: Any]]))
    XCTAssertEqual(removed.compactMap { $0["method"] as? String }, ["systemd"])
    XCTAssertEqual(removed.first?["changed"] as? Bool, true)
    // No file and no wants link left behind (is-enabled's wording varies; the links are the truth).
    let unitAfter = try text("unit-after-absent.txt").split(separator: "\n").map(String.init)
    XCTAssertEqual(unitAfter.first, "missing", "\(unitAfter)")
    XCTAssertEqual(unitAfter.last, "wants: none", "\(unitAfter)")
  }

  // MARK: - cloud-init

  func testCloudConfigPassesCloudInitsSchema() throws {
    let script = repositoryRoot.appendingPathComponent("Tests/ansible/cloud-init-schema.sh")
    let config = repositoryRoot.appendingPathComponent("contrib/cloud-init/sriov.yaml").path
    let text = try String(contentsOfFile: config, encoding: .utf8)
    XCTAssertTrue(text.hasPrefix("#cloud-config\n"))
    for command in ["sriovctl check", "sriovctl create-vfs", "sriovctl persist", "--install"] {
      XCTAssertTrue(text.contains(command), "\(command) not in \(config)")
    }
    let valid = try runProgram(script, [config])
    XCTAssertEqual(valid.status, 0, "cloud-init schema: \(valid.stdout)\(valid.stderr)")
    XCTAssertEqual(valid.stdout, "Valid cloud-config: \(config)\n")

    // The validation is real: a broken copy is refused.
    let broken = work + "/broken.yaml"
    try text.replacingOccurrences(of: "runcmd:\n", with: "runcmd: 5\nunused:\n")
      .write(toFile: broken, atomically: true, encoding: .utf8)
    let invalid = try runProgram(script, [broken])
    XCTAssertEqual(invalid.status, 1, "\(invalid.stdout)\(invalid.stderr)")
    XCTAssertTrue(invalid.stderr.contains("runcmd: 5 is not of type 'array'"), invalid.stderr)
  }

  /// The whole-node example: valid for cloud-init, and the node file it writes is one sriovctl
  /// applies (planned here on the X710 fixture, whose ens1f0 it selects).
  func testNodeFileCloudConfigIsValidAndItsFilePlans() throws {
    let script = repositoryRoot.appendingPathComponent("Tests/ansible/cloud-init-schema.sh")
    let config = repositoryRoot.appendingPathComponent("contrib/cloud-init/sriovctl-apply.yaml").path
    let text = try String(contentsOfFile: config, encoding: .utf8)
    for command in ["sriovctl apply", "sriovctl persist --config --install", "sriovctl verify", "path: /etc/sriovctl/sriovctl.yaml"] {
      XCTAssertTrue(text.contains(command), "\(command) not in \(config)")
    }
    let valid = try runProgram(script, [config])
    XCTAssertEqual(valid.status, 0, "cloud-init schema: \(valid.stdout)\(valid.stderr)")
    // The file as cloud-init writes it: the block under content:, dedented.
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    let start = try XCTUnwrap(lines.firstIndex { $0.hasSuffix("content: |") }) + 1
    let block = lines[start...].prefix { $0.hasPrefix("      ") || $0.isEmpty }
    let nodeFile = work + "/sriovctl.yaml"
    try block.map { String($0.dropFirst(6)) }.joined(separator: "\n").write(toFile: nodeFile, atomically: true, encoding: .utf8)
    let plan = try sriovctl(["apply", "-f", nodeFile, "--dry-run", "--root", x710, "-o", "json"])
    XCTAssertEqual(plan.status, 0, plan.stderr)
    let pfs = try XCTUnwrap(try plan.json()["pfs"] as? [[String: Any]])
    XCTAssertEqual(pfs.map { $0["policies"] as? [String] }, [["dpdk", "kernel"]])
  }
}
