import CLinux
import Glibc

/// The kernel's device events (uevents) and, where udevd runs, udev's own announcements that it
/// has finished with a device: a `NETLINK_KOBJECT_UEVENT` socket subscribed to both multicast
/// groups (1, the kernel; 2, udev). sriovctl does not parse the events: each one is a prompt to
/// look at sysfs again, so waiting costs nothing while nothing happens and no event is missed.
final class UeventMonitor {
  private let fd: Int32

  /// Opens the socket; open it before making the change whose events are awaited.
  init() throws {
    fd = Glibc.socket(AF_NETLINK, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), NETLINK_KOBJECT_UEVENT)
    guard fd >= 0 else { throw HostError.unreadable("the kernel's uevent socket", errno: errno) }
    var address = sockaddr_nl()
    address.nl_family = sa_family_t(AF_NETLINK)
    address.nl_groups = 1 | 2
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_nl>.size))
      }
    }
    guard bound == 0 else {
      let code = errno
      close(fd)
      throw HostError.unreadable("the kernel's uevent socket", errno: code)
    }
    // A burst of VF events must not overflow the socket; as root the limit can be raised.
    var size: Int32 = 4 * 1024 * 1024
    if setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size)) != 0 {
      _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }
  }

  deinit {
    close(fd)
  }

  /// Waits until at least one event arrives or `deadline` (CLOCK_MONOTONIC) passes, and drains
  /// what has arrived. Returns false when the deadline passed with no event.
  func waitForEvents(until deadline: Deadline) -> Bool {
    let remaining = deadline.remainingMilliseconds
    guard remaining > 0 else { return false }
    var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    let ready = poll(&poller, 1, Int32(clamping: remaining))
    guard ready > 0 else { return false }
    var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    while buffer.withUnsafeMutableBytes({ recv(fd, $0.baseAddress, $0.count, 0) }) > 0 {}
    return true
  }
}

/// A point in time on the monotonic clock.
public struct Deadline: Sendable {
  private let nanoseconds: UInt64

  /// `seconds` from now.
  public init(secondsFromNow seconds: Double) {
    // Clamped to a year, so no value (infinite, NaN, huge) can trap on conversion.
    let bounded = seconds.isNaN ? 0 : min(max(0, seconds), 365 * 24 * 3600)
    nanoseconds = Deadline.now() + UInt64(bounded * 1_000_000_000)
  }

  static func now() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
  }

  var remainingMilliseconds: Int {
    let now = Deadline.now()
    return now >= nanoseconds ? 0 : Int((nanoseconds - now + 999_999) / 1_000_000)
  }

  public var hasPassed: Bool { remainingMilliseconds == 0 }
}

extension UeventMonitor {
  /// The one wait of sriovctl: looks at the host with `check` until it reports done, waiting on
  /// uevents in between, until `deadline`; after the deadline `check` runs once more. Without a
  /// `monitor` (one opened before a change whose events are awaited), the socket is opened only
  /// once there is something to wait for, and the host is looked at again right after, so no
  /// event between the first look and the opening is missed. Returns the last outcome.
  static func wait<Value>(
    until deadline: Deadline, monitor: UeventMonitor? = nil, _ check: () throws -> (done: Bool, value: Value)
  ) throws -> (done: Bool, value: Value) {
    var monitor = monitor
    var outcome = try check()
    while !outcome.done {
      guard let open = monitor else {
        monitor = try UeventMonitor()
        outcome = try check()
        continue
      }
      let woke = open.waitForEvents(until: deadline)
      outcome = try check()
      if !woke { break }
    }
    return outcome
  }
}
