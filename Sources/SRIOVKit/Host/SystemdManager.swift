import CSystemd
import Glibc

/// systemd's manager on the system bus, through libsystemd's sd-bus. This is the only file that
/// talks to sd-bus.
final class SystemdManager {
  private let bus: OpaquePointer

  /// Connects to the system bus; `nil` where no system bus runs (a container, an initramfs, a
  /// chroot), in which case units are enabled offline.
  init?() {
    var bus: OpaquePointer?
    guard sd_bus_open_system(&bus) >= 0, let bus else { return nil }
    self.bus = bus
  }

  deinit {
    sd_bus_flush_close_unref(bus)
  }

  /// `systemctl daemon-reload`.
  func reload() throws {
    try call("systemctl daemon-reload") { sriovctl_systemd_reload(bus, $0) }
  }

  /// `systemctl enable UNIT` / `systemctl disable UNIT`.
  func setEnabled(_ unit: String, _ enabled: Bool) throws {
    try call("systemctl \(enabled ? "enable" : "disable") \(unit)") {
      sriovctl_systemd_enable(bus, unit, enabled ? 1 : 0, $0)
    }
  }

  private func call(_ what: String, _ body: (UnsafeMutablePointer<sd_bus_error>) -> Int32) throws {
    var error = sd_bus_error()
    defer { sd_bus_error_free(&error) }
    let result = body(&error)
    guard result >= 0 else {
      let message = error.message.map { String(cString: $0) } ?? Errno.describe(-result)
      throw PersistError.reloadFailed(what, message)
    }
  }
}
