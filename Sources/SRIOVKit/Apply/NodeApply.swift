import Foundation

/// One PF's outcome in `sriovctl apply`: the create-vfs result, or why it failed.
public struct PFApplyResult: Sendable, JSONRepresentable {
  public var pf: PCIAddress
  public var interface: String?
  public var policies: [String]
  public var result: VFCreationResult?
  public var error: String?

  public var json: JSON {
    // The create-vfs document, with the policies and the error beside it; a failed PF keeps
    // every key, null where unknown.
    var fields: [(String, JSON)] = [
      ("pf", .string(pf.description)), ("interface", .string(result?.interface ?? interface)),
      ("changed", .bool(result?.changed ?? false)), ("dry_run", result.map { .bool($0.dryRun) } ?? .null),
      ("previous", .int(result?.previous)), ("num_vfs", .int(result?.numVFs)),
      ("actions", .array((result?.actions ?? []).map(JSON.string))),
      ("vfs", .array((result?.vfs ?? []).map(\.json))),
    ]
    fields += [("policies", .array(policies.map(JSON.string))), ("error", .string(error))]
    return .object(fields)
  }
}

/// What `sriovctl apply` did, or with `--dry-run` would do, to every PF the node file selects.
public struct NodeApplyResult: Sendable, JSONRepresentable {
  public var dryRun: Bool
  public var pfs: [PFApplyResult]
  public var unmatched: [String]
  public var notes: [String]

  /// Whether anything changed (or, in a dry run, would).
  public var changed: Bool { pfs.contains { $0.result?.changed ?? false } }
  /// The PFs that failed, as one line each.
  /// One line per failed PF, naming it once (most engine errors already start with its address).
  public var errors: [String] {
    pfs.compactMap { pf in pf.error.map { $0.hasPrefix(pf.pf.description) ? $0 : "\(pf.pf): \($0)" } }
  }

  public var json: JSON {
    .object([
      ("changed", .bool(changed)), ("dry_run", .bool(dryRun)), ("pfs", .array(pfs.map(\.json))),
      ("unmatched", .array(unmatched.map(JSON.string))), ("notes", .array(notes.map(JSON.string))),
      ("errors", .array(errors.map(JSON.string))),
    ])
  }
}

/// `sriovctl apply`: brings every PF the node file selects to its request, the PFs in parallel.
///
/// A VF count change can take seconds to tens of seconds per PF on real NICs (firmware commands,
/// each VF probed), and PFs are independent devices, so each PF is configured on a thread of its
/// own; one PF's failure is recorded in its entry and does not stop the others.
public enum NodeApply {
  /// Configures one PF; create-vfs's engine unless a test gives another.
  public typealias ConfigurePF = @Sendable (_ request: VFRequest, _ dryRun: Bool, _ deadline: Deadline) throws -> VFCreationResult

  /// Runs every target's request, holding the run lock once for the whole node.
  ///
  /// - Parameters:
  ///   - configure: how one PF is configured (a test double in tests).
  ///   - progress: called with `PF: action` as each action is about to be made.
  public static func run(
    _ targets: NodeTargets, root: HostRoot, dryRun: Bool, timeout: Double,
    configure: ConfigurePF? = nil, progress: @escaping @Sendable (String) -> Void = { _ in }
  ) throws -> NodeApplyResult {
    guard VFRequest.isValidTimeout(timeout) else {
      throw VFRequestError.invalidValue(option: "--timeout", value: String(timeout), expected: "seconds, more than 0 and at most 3600")
    }
    let deadline = Deadline(secondsFromNow: timeout)
    let live = configure == nil
    if live && !dryRun && !targets.pfs.isEmpty { guard root.isLive else { throw VFCreationError.notLive(root) } }
    // Concurrent sriovctl runs take turns; each PF's state is read once the lock is held.
    let lock = live && !dryRun && !targets.pfs.isEmpty ? try RunLock(root: root, deadline: deadline, timeout: timeout) : nil
    defer { withExtendedLifetime(lock) {} }
    let configure: ConfigurePF = configure ?? { request, dryRun, deadline in
      try VFCreation.runHoldingLock(request, root: root, dryRun: dryRun, deadline: deadline) { action in
        progress("\(request.pf): \(action)")
      }
    }
    let outcomes = Outcomes(count: targets.pfs.count)
    let group = DispatchGroup()
    for (slot, target) in targets.pfs.enumerated() {
      group.enter()
      let thread = Thread {
        defer { group.leave() }
        do {
          outcomes.set(slot, .success(try configure(target.request, dryRun, deadline)))
        } catch {
          outcomes.set(slot, .failure(HostError.quoted("\(error)", limit: 2000)))
        }
      }
      thread.name = "sriovctl \(target.pf.address)"
      thread.start()
    }
    group.wait()
    let pfs = targets.pfs.enumerated().map { slot, target -> PFApplyResult in
      var entry = PFApplyResult(
        pf: target.pf.address, interface: target.pf.interfaces.first, policies: target.request.policies, result: nil, error: nil)
      switch outcomes.get(slot) {
      case .success(let result): entry.result = result
      case .failure(let message): entry.error = message
      }
      return entry
    }
    return NodeApplyResult(dryRun: dryRun, pfs: pfs, unmatched: targets.unmatched, notes: targets.notes)
  }

  /// The per-PF results, written by the PF threads and read once they have all finished.
  private final class Outcomes: @unchecked Sendable {
    enum Outcome {
      case success(VFCreationResult)
      case failure(String)
    }
    private var slots: [Outcome?]
    private let lock = NSLock()

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ slot: Int, _ outcome: Outcome) {
      lock.lock()
      slots[slot] = outcome
      lock.unlock()
    }

    func get(_ slot: Int) -> Outcome {
      lock.lock()
      defer { lock.unlock() }
      return slots[slot] ?? .failure("the PF's run did not finish")
    }
  }
}

extension NodeApply {
  /// At boot: waits, until `deadline`, for udev to finish the events `systemd-udev-trigger`
  /// queued, so that every PF exists with its driver bound before the node file is matched.
  /// udevd keeps `/run/udev/queue` while events are queued (what `udevadm settle` checks:
  /// udev_queue_is_empty() in systemd's src/libudev/libudev-queue.c and shared/udev-util.c);
  /// without udevd there is no queue and nothing to wait for.
  ///
  /// - Throws: ``NodeApplyError/udevQueue(seconds:)`` when it has not drained by `deadline`.
  public static func waitForUdevQueue(root: HostRoot, deadline: Deadline, timeout: Double) throws {
    guard InterfaceReadiness.udevRunning(root) else { return }
    while root.exists("/run/udev/queue") {
      // The queue file has no event of its own to wait on; it is looked at every 50 ms, at boot only.
      guard !deadline.hasPassed else { throw NodeApplyError.udevQueue(seconds: timeout) }
      var pause = timespec(tv_sec: 0, tv_nsec: 50_000_000)
      nanosleep(&pause, nil)
    }
  }
}

/// Why `apply` could not start.
public enum NodeApplyError: Error, Equatable, CustomStringConvertible {
  case udevQueue(seconds: Double)

  public var description: String {
    switch self {
    case .udevQueue(let seconds):
      return "udev had not finished the boot's device events (/run/udev/queue) after \(seconds) s; nothing was changed (see journalctl -u systemd-udevd)"
    }
  }
}
