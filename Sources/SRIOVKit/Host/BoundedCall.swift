import Glibc

/// A blocking system call made on a thread of its own and waited for until a deadline, so that a
/// driver that never returns from a `sriov_numvfs` write, or another process that never releases
/// the run lock, cannot hold sriovctl past its `--timeout`.
///
/// Nothing spins: the caller sleeps in `sem_timedwait(3)` until the call returns or the deadline
/// passes. A call that is still blocked at the deadline is left to finish (or not) on its
/// detached thread; its closure must own whatever it needs (a duplicated descriptor, say).
enum BoundedCall {
  enum Outcome: Equatable {
    /// The call returned: 0, or the errno it failed with.
    case returned(Int32)
    /// The deadline passed first; the call is still blocked.
    case timedOut
    /// No thread could be started (the pthread_create(3) error); the call was not made.
    case notStarted(Int32)
  }

  /// Runs `call` (which returns 0 or an errno) on a detached thread and waits for it until
  /// `deadline`.
  static func run(until deadline: Deadline, _ call: @escaping @Sendable () -> Int32) -> Outcome {
    let job = Job(call)
    var thread = pthread_t()
    let context = Unmanaged.passRetained(job).toOpaque()
    let started = pthread_create(&thread, nil, { raw in
      let job = Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue()
      job.run()
      return nil
    }, context)
    guard started == 0 else {
      Unmanaged<Job>.fromOpaque(context).release()
      return .notStarted(started)
    }
    pthread_detach(thread)
    return job.wait(until: deadline)
  }

  /// One call, its result, and the semaphore the waiting thread sleeps on.
  private final class Job: @unchecked Sendable {
    private let call: @Sendable () -> Int32
    private var result: Int32 = 0
    private let semaphore = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)

    init(_ call: @escaping @Sendable () -> Int32) {
      self.call = call
      sem_init(semaphore, 0, 0)
    }

    deinit {
      sem_destroy(semaphore)
      semaphore.deallocate()
    }

    func run() {
      result = call()
      // The write of `result` happens before the post; the waiter reads it only after its wait.
      sem_post(semaphore)
    }

    func wait(until deadline: Deadline) -> Outcome {
      var until = deadline.realtime()
      while sem_timedwait(semaphore, &until) != 0 {
        if errno == EINTR { continue }
        return .timedOut
      }
      return .returned(result)
    }
  }
}
