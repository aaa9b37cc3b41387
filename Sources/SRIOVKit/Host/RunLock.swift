import Glibc

/// An exclusive lock held for as long as this value lives: `flock(2)` on `ROOT/run/sriovctl.lock`,
/// so concurrent runs (Ansible forks, a boot unit and a person) take turns.
///
/// The lock file is opened through ``HostRoot`` (inside the root, a regular file, made 0644
/// whatever the umask). Waiting is bounded by the caller's deadline (`--timeout`); the holder
/// writes its PID into the file, and a waiter that gives up names the holder.
final class RunLock {
  /// The lock file, a host path.
  static let path = "/run/sriovctl.lock"

  private let fd: Int32

  /// Takes the lock, waiting for it until `deadline` at most.
  ///
  /// - Parameters:
  ///   - timeout: the seconds `deadline` stands for, for the message.
  ///   - announce: told once, before waiting, that another process holds the lock.
  /// - Throws: ``HostError/lockTimeout(_:holder:seconds:)`` when the deadline passes first.
  init(
    root: HostRoot, deadline: Deadline, timeout: Double,
    announce: (String) -> Void = RunLock.announceOnTerminal
  ) throws {
    let path = RunLock.path
    let fd: Int32
    do {
      fd = try root.openOrCreateFile(path, mode: 0o644, value: "(lock)")
    } catch HostError.writeFailed(_, _, let code) where code == EACCES || code == EPERM {
      throw HostError.lockDenied(path, errno: code)
    }
    var acquired = false
    while true {
      if flock(fd, LOCK_EX | LOCK_NB) == 0 {
        acquired = true
        break
      }
      if errno == EINTR { continue }
      if errno == EWOULDBLOCK { break }
      let code = errno
      close(fd)
      throw HostError.writeFailed(path, value: "(lock)", errno: code)
    }
    if !acquired {
      let holder = RunLock.holder(of: fd)
      let who = holder.map { "another sriovctl (PID \($0))" } ?? "another sriovctl"
      announce("waiting up to \(Errno.seconds(timeout)) s for \(who), which holds \(path)")
      do {
        try RunLock.wait(fd, until: deadline)
      } catch HostError.lockTimeout {
        let current = RunLock.holder(of: fd) ?? holder
        close(fd)
        throw HostError.lockTimeout(path, holder: current, seconds: timeout)
      } catch {
        close(fd)
        throw error
      }
    }
    // The holder's PID, for a waiter's message (truncate, then one write at offset 0).
    let pid = Array("\(getpid())\n".utf8)
    if ftruncate(fd, 0) == 0 {
      _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }
    self.fd = fd
  }

  deinit {
    close(fd)
  }

  /// Prints `message` on stderr when stderr is a terminal: a person sees why nothing happens,
  /// a script still gets at most one line (the error).
  static func announceOnTerminal(_ message: String) {
    guard isatty(STDERR_FILENO) == 1 else { return }
    let line = Array("sriovctl: \(message)\n".utf8)
    _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
  }

  /// Waits for the lock with a blocking flock(2) on a thread of its own, and a timed wait on a
  /// semaphore here: nothing spins, and the deadline holds whatever the holder does. On timeout
  /// the thread stays blocked on its own duplicate of the descriptor; should it get the lock
  /// later, it closes that duplicate, and the lock goes with the last descriptor.
  private static func wait(_ fd: Int32, until deadline: Deadline) throws {
    let copy = dup(fd)
    guard copy >= 0 else { throw HostError.writeFailed(path, value: "(lock)", errno: errno) }
    let outcome = BoundedCall.run(until: deadline) {
      defer { close(copy) }
      while flock(copy, LOCK_EX) != 0 {
        if errno == EINTR { continue }
        return errno
      }
      return 0
    }
    switch outcome {
    case .returned(0): return
    case .returned(let code): throw HostError.writeFailed(path, value: "(lock)", errno: code)
    case .timedOut: throw HostError.lockTimeout(path, holder: nil, seconds: 0)
    case .notStarted(let code):
      close(copy)
      throw HostError.writeFailed(path, value: "(lock)", errno: code)
    }
  }

  /// The PID holding the lock: from the kernel's `/proc/locks` of the machine sriovctl runs on
  /// (the lock lives in this kernel whatever the root; proc(5)), else the PID the holder wrote.
  static func holder(of fd: Int32) -> Int32? {
    var info = stat()
    guard fstat(fd, &info) == 0 else { return nil }
    let device = UInt64(info.st_dev)
    let major: UInt64 = ((device >> 8) & 0xfff) | ((device >> 32) & ~UInt64(0xfff))
    let minor: UInt64 = (device & 0xff) | ((device >> 12) & ~UInt64(0xff))
    let inode = UInt64(info.st_ino)
    if let bytes = try? HostRoot.live.readBytes("/proc/locks", limit: 1 << 20) {
      // "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"; waiters have "->" after the number.
      for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 6, fields[1] == "FLOCK", let pid = Int32(fields[4]), pid > 0 else { continue }
        let parts = fields[5].split(separator: ":")
        guard parts.count == 3, let lockMajor = UInt64(parts[0], radix: 16), let lockMinor = UInt64(parts[1], radix: 16),
          let lockInode = UInt64(parts[2]), lockMajor == major, lockMinor == minor, lockInode == inode
        else { continue }
        return pid
      }
    }
    var buffer = [UInt8](repeating: 0, count: 32)
    let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
    guard n > 0 else { return nil }
    let text = String(decoding: buffer[0..<n], as: UTF8.self).trimmingSuffix()
    guard let pid = Int32(text), pid > 0 else { return nil }
    return pid
  }
}

extension Deadline {
  /// The deadline on CLOCK_REALTIME, for sem_timedwait(3).
  func realtime() -> timespec {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    let milliseconds = remainingMilliseconds
    var until = timespec(
      tv_sec: now.tv_sec + milliseconds / 1000, tv_nsec: now.tv_nsec + (milliseconds % 1000) * 1_000_000)
    if until.tv_nsec >= 1_000_000_000 {
      until.tv_sec += 1
      until.tv_nsec -= 1_000_000_000
    }
    return until
  }
}

extension String {
  fileprivate func trimmingSuffix() -> String {
    var text = self
    while let last = text.last, last.isWhitespace || last == "\0" { text.removeLast() }
    return text
  }
}
