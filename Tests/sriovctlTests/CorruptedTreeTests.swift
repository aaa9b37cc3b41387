import Foundation
import SRIOVFixtures
import XCTest

/// The corrupted-tree corpus: every fixture host, damaged in every way FixtureCorruption knows,
/// under every subcommand. Whatever the tree, sriovctl must end by itself (no signal, no hang),
/// exit 0, 1 or 64, report errors as plain lines, print valid JSON or nothing for `-o json`,
/// leave a sentinel directory beside the root untouched, and leave the root untouched when only
/// reading.
final class CorruptedTreeTests: XCTestCase {
  /// A run that takes longer than this is a hang (a healthy one takes well under a second).
  private static let timeout: TimeInterval = 20

  /// One way of running sriovctl on a tree; `PF` and `KUBECTL` are replaced per host.
  private struct Command {
    let name: String
    let arguments: [String]
    var readOnly = true
    var json: Bool { arguments.contains("json") }
  }

  private static let readOnly: [Command] = [
    Command(name: "list", arguments: ["list"]),
    Command(name: "list-json", arguments: ["list", "-o", "json"]),
    Command(name: "check", arguments: ["check"]),
    Command(name: "check-json", arguments: ["check", "-o", "json"]),
    Command(name: "create-vfs-dry-run", arguments: ["create-vfs", "PF", "--count", "2", "--dry-run"]),
    Command(name: "create-vfs-dry-run-json", arguments: ["create-vfs", "PF", "--count", "2", "--dry-run", "-o", "json"]),
    Command(name: "persist-udev", arguments: ["persist", "PF", "--count", "2", "--method", "udev"]),
    Command(name: "persist-systemd", arguments: ["persist", "PF", "--count", "2", "--method", "systemd"]),
    Command(name: "persist-link-json", arguments: ["persist", "PF", "--count", "2", "--method", "link", "-o", "json"]),
    Command(name: "device-plugin-config", arguments: ["device-plugin-config"]),
    Command(name: "device-plugin-config-json", arguments: ["device-plugin-config", "-o", "json"]),
    Command(name: "label-dry-run", arguments: ["label", "--dry-run", "--kubectl", "KUBECTL"]),
    Command(name: "label-dry-run-json", arguments: ["label", "--dry-run", "--kubectl", "KUBECTL", "-o", "json"]),
  ]

  /// `persist --install` then `--remove` with one method: they write inside the root.
  private static func writing(_ method: String) -> [Command] {
    [
      Command(name: "persist-\(method)-install", arguments: ["persist", "PF", "--count", "2", "--method", method, "--install"], readOnly: false),
      Command(name: "persist-\(method)-remove-json", arguments: ["persist", "PF", "--method", method, "--remove", "-o", "json"], readOnly: false),
    ]
  }

  private struct Job {
    let host: String
    let template: String
    let pf: String
    let mutation: FixtureCorruption.Mutation
    let commands: [Command]
  }

  func testEveryCommandSurvivesEveryCorruptedTree() throws {
    let started = Date()
    let base = try scratchDirectory()
    let kubectl = base + "/bin/kubectl"
    try FileManager.default.createDirectory(atPath: base + "/bin", withIntermediateDirectories: true)
    // Stands in for kubectl so nothing contacts a cluster: a node with no labels yet.
    try "#!/bin/sh\necho '{\"metadata\":{\"name\":\"node\",\"labels\":{}}}'\n".write(
      toFile: kubectl, atomically: true, encoding: .utf8)
    XCTAssertEqual(chmod(kubectl, 0o755), 0)

    let hosts: [(String, (String) throws -> Void)] = [
      ("x710", { _ = try FixtureHosts.x710(at: $0) }),
      ("qemu-igb", extractCapturedIgb),
      ("connectx5-disabled", { _ = try FixtureHosts.connectX5SRIOVDisabled(at: $0) }),
      ("no-sriov", { _ = try FixtureHosts.noSRIOV(at: $0) }),
    ]
    let methods = ["udev", "systemd", "link"]
    // SRIOVCTL_CORRUPTION_CLASSES=fifo,escape reruns some classes only (to check a fix quickly).
    let classes = ProcessInfo.processInfo.environment["SRIOVCTL_CORRUPTION_CLASSES"].map { Set($0.split(separator: ",").map(String.init)) }
    var jobs: [Job] = []
    for (index, (name, write)) in hosts.enumerated() {
      let template = base + "/templates/" + name
      try write(template)
      // persist's systemd method wants the binary in the root; it only checks that it exists.
      try FileManager.default.createDirectory(atPath: template + "/usr/local/bin", withIntermediateDirectories: true)
      try "#!/bin/sh\n".write(toFile: template + "/usr/local/bin/sriovctl", atomically: true, encoding: .utf8)
      let pf = try FixtureCorruption.target(ofTreeAt: template).address
      let mutations = try FixtureCorruption.mutations(forTreeAt: template, seed: 0x5121_0c71 + UInt64(index))
      XCTAssertFalse(mutations.isEmpty, name)
      // Within each class, mutations take turns through the read-only commands (7 at a time on the
      // first host, so every class with two or more mutations meets every command there; 3 on the
      // others), within the time budget. Escapes meet every writing method everywhere; FIFOs,
      // wrong types and links do on the first host.
      var turns: [String: Int] = [:]
      for mutation in mutations where classes?.contains(mutation.kind) ?? true {
        let share = index == 0 ? 7 : 3
        let turn = turns[mutation.kind, default: 0]
        turns[mutation.kind] = turn + 1
        var commands = (0..<share).map { Self.readOnly[(turn * share + $0) % Self.readOnly.count] }
        let everyMethod = mutation.kind == "escape" || index == 0 && ["fifo", "type", "link"].contains(mutation.kind)
        for method in everyMethod ? methods : [methods[turn % methods.count]] { commands += Self.writing(method) }
        jobs.append(Job(host: name, template: template, pf: pf, mutation: mutation, commands: commands))
      }
    }

    let results = Results()
    let allJobs = jobs
    DispatchQueue.concurrentPerform(iterations: allJobs.count) { index in
      let job = allJobs[index]
      do {
        try Self.run(job, in: base + "/jobs/\(index)", kubectl: kubectl, results: results)
      } catch {
        results.fail("[\(job.host)] \(job.mutation): setting up: \(error)")
      }
      try? FileManager.default.removeItem(atPath: base + "/jobs/\(index)")
    }

    let seconds = String(format: "%.1f", Date().timeIntervalSince(started))
    print("corrupted-tree corpus: \(jobs.count) mutated trees, \(results.runs) runs, \(results.failures.count) failures, \(seconds) s")
    for failure in results.failures.sorted() { XCTFail(failure) }
  }

  // MARK: Running one job

  private static func run(_ job: Job, in directory: String, kubectl: String, results: Results) throws {
    let root = directory + "/host"
    let sentinel = directory + "/sentinel"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try copyTree(job.template, to: root)
    try FixtureCorruption.writeSentinel(at: sentinel)
    try job.mutation.apply(root: root, sentinel: sentinel)
    let sentinelBefore = snapshot(sentinel)
    var rootBefore = snapshot(root)
    var hangs = 0
    for command in job.commands {
      let label = "[\(job.host)] \(job.mutation): sriovctl \(command.name)"
      // One hang is a defect already; more would only spend the time budget.
      guard hangs == 0 else {
        results.fail("\(label): not run, an earlier command on this tree hung")
        continue
      }
      let arguments = command.arguments.map { $0 == "PF" ? job.pf : $0 == "KUBECTL" ? kubectl : $0 } + ["--root", root]
      let outcome = try runBounded(arguments, in: directory)
      results.count()
      var problems: [String] = []
      switch outcome.end {
      case .timedOut:
        hangs += 1
        problems.append("hung: killed after \(Int(Self.timeout)) s")
      case .signal(let signal):
        problems.append("killed by signal \(signal)")
      case .exit(let status):
        if ![0, 1, 64].contains(status) { problems.append("exit status \(status) (expected 0, 1 or 64)") }
        // check reports failed checks on stdout and exits 1; every other failure says why on stderr.
        if status != 0, !command.name.hasPrefix("check"), outcome.stderr.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
          problems.append("exit \(status) with nothing on stderr")
        }
      }
      problems += stderrProblems(outcome.stderr, usage: outcome.end == .exit(64))
      if command.json, case .exit = outcome.end, !outcome.stdout.isEmpty,
        (try? JSONSerialization.jsonObject(with: outcome.stdout, options: [.fragmentsAllowed])) == nil
      {
        problems.append("-o json printed something that is not one JSON document: \(excerpt(outcome.stdout))")
      }
      // The sentinel's bait function has the interface bait0: naming it means reading outside.
      if String(decoding: outcome.stdout, as: UTF8.self).contains("bait0") || outcome.stderr.contains("bait0") {
        problems.append("reported the sentinel's bait0 interface: it read outside the root")
      }
      let sentinelAfter = snapshot(sentinel)
      if sentinelAfter != sentinelBefore {
        problems.append("changed the sentinel beside the root: \(differences(sentinelBefore, sentinelAfter))")
      }
      let rootAfter = snapshot(root)
      if command.readOnly, rootAfter != rootBefore {
        problems.append("a read-only command changed the root: \(differences(rootBefore, rootAfter))")
      }
      rootBefore = rootAfter
      if !problems.isEmpty {
        let stderr = outcome.stderr.isEmpty ? "" : "; stderr: \(excerpt(Data(outcome.stderr.utf8)))"
        results.fail("\(label): \(problems.joined(separator: "; "))\(stderr)")
      }
    }
  }

  /// What is wrong with stderr: crash reports, backtraces, blank lines inside the message.
  private static func stderrProblems(_ stderr: String, usage: Bool) -> [String] {
    let markers = ["Fatal error", "Backtrace", "Stack dump", "Current stack trace", "Illegal instruction", "Segmentation fault", "precondition"]
    var problems = markers.filter { stderr.contains($0) }.map { "stderr has '\($0)'" }
    // ArgumentParser's usage errors add the usage lines; every other message is one line each.
    if !usage, !stderr.isEmpty {
      let lines = stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast(stderr.hasSuffix("\n") ? 1 : 0)
      if lines.contains(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty || $0.hasPrefix("  ") || $0.hasPrefix("\t") || $0.hasPrefix("#") }) {
        problems.append("stderr is not one-line messages")
      }
    }
    return problems
  }

  // MARK: Processes

  private enum End: Equatable {
    case exit(Int32)
    case signal(Int32)
    case timedOut
  }

  private struct Outcome {
    var end: End
    var stdout: Data
    var stderr: String
  }

  /// Runs the built binary with no stdin and outputs in files, killing it after the timeout.
  private static func runBounded(_ arguments: [String], in directory: String) throws -> Outcome {
    let process = Process()
    process.executableURL = productsDirectory.appendingPathComponent("sriovctl")
    process.arguments = arguments
    var environment = ProcessInfo.processInfo.environment
    environment.removeValue(forKey: "SRIOVCTL_ROOT")
    process.environment = environment
    let out = directory + "/stdout"
    let err = directory + "/stderr"
    FileManager.default.createFile(atPath: out, contents: nil)
    FileManager.default.createFile(atPath: err, contents: nil)
    let outHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
    let errHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
    defer {
      try? outHandle.close()
      try? errHandle.close()
    }
    process.standardOutput = outHandle
    process.standardError = errHandle
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let deadline = Date().addingTimeInterval(Self.timeout)
    var timedOut = false
    while process.isRunning {
      if Date() > deadline {
        timedOut = true
        kill(process.processIdentifier, SIGKILL)
        break
      }
      usleep(2000)
    }
    process.waitUntilExit()
    let stdout = (try? Data(contentsOf: URL(fileURLWithPath: out))) ?? Data()
    let stderr = String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: err))) ?? Data(), as: UTF8.self)
    let end: End =
      timedOut
      ? .timedOut
      : process.terminationReason == .uncaughtSignal ? .signal(process.terminationStatus) : .exit(process.terminationStatus)
    return Outcome(end: end, stdout: stdout, stderr: stderr)
  }

  // MARK: Trees

  /// A scratch directory on tmpfs when there is one (copying trees there is ten times faster).
  private func scratchDirectory() throws -> String {
    let parent = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : FileManager.default.temporaryDirectory.path
    let path = parent + "/sriovctl-corpus-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
  }

  private func extractCapturedIgb(_ directory: String) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let archive = repositoryRoot.appendingPathComponent("Tests/Fixtures/hosts/qemu-igb.tar.gz").path
    let tar = try runProgram(URL(fileURLWithPath: "/bin/tar"), ["-xzf", archive, "-C", directory])
    XCTAssertEqual(tar.status, 0, tar.stderr)
  }

  private static func copyTree(_ source: String, to destination: String) throws {
    let copy = try runProgram(URL(fileURLWithPath: "/bin/cp"), ["-a", source, destination])
    guard copy.status == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: copy.stderr]) }
  }

  /// Every entry under a directory without following links: type, mode, and the content's hash,
  /// the link's target, or just the type for FIFOs (which are never opened).
  private static func snapshot(_ directory: String) -> [String: String] {
    var entries: [String: String] = [:]
    func walk(_ relative: String) {
      let path = directory + relative
      var info = stat()
      guard lstat(path, &info) == 0 else { return }
      let mode = String(info.st_mode & 0o7777, radix: 8)
      switch info.st_mode & S_IFMT {
      case S_IFDIR:
        entries[relative] = "directory \(mode)"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] { walk(relative + "/" + name) }
      case S_IFLNK:
        entries[relative] = "link -> " + ((try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?")
      case S_IFREG:
        let data = FileManager.default.contents(atPath: path) ?? Data()
        entries[relative] = "file \(mode) \(data.count) bytes, hash \(fnv1a(data))"
      case S_IFIFO:
        entries[relative] = "fifo \(mode)"
      default:
        entries[relative] = "other \(info.st_mode)"
      }
    }
    walk("")
    return entries
  }

  private static func fnv1a(_ data: Data) -> UInt64 {
    data.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
  }

  private static func differences(_ before: [String: String], _ after: [String: String]) -> String {
    let paths = Set(before.keys).union(after.keys).filter { before[$0] != after[$0] }.sorted()
    return paths.prefix(3).map { "\($0.isEmpty ? "/" : $0) (\(before[$0] ?? "absent") => \(after[$0] ?? "absent"))" }
      .joined(separator: ", ") + (paths.count > 3 ? ", and \(paths.count - 3) more" : "")
  }

  private static func excerpt(_ data: Data) -> String {
    let text = String(decoding: data.prefix(300), as: UTF8.self).replacingOccurrences(of: "\n", with: "\\n")
    return data.count > 300 ? text + "..." : text
  }
}

/// Failures and counts gathered from the worker threads.
private final class Results: @unchecked Sendable {
  private let lock = NSLock()
  private(set) var failures: [String] = []
  private(set) var runs = 0

  func fail(_ message: String) { lock.lock(); failures.append(message); lock.unlock() }
  func count() { lock.lock(); runs += 1; lock.unlock() }
}
