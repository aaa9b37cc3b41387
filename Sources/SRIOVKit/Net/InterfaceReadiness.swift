/// A PCI function's network interface as udev sees it: followed through the function's own sysfs
/// directory (`DEVICE/net/NAME`) and its ifindex, never through `/sys/class/net/NAME`, because the
/// kernel hands a name udev has just renamed away (eth0) to the next new interface.
///
/// udevd renames an interface while it handles the interface's "add" event and writes
/// `/run/udev/data/n<ifindex>` once it has finished (sd-device's "initialized",
/// `sd_device_get_is_initialized(3)`; udev(7)); only then is the name final, and only then may the
/// interface be brought up: udevd cannot rename an interface that is up ("Network interface 'eth0'
/// is already up, cannot rename to 'enp1s0'", systemd-udevd's `rename_netif`). Where no udevd runs
/// (no `/run/udev/control`: a busybox initramfs, a container) the kernel's name is final.
public enum InterfaceReadiness: Sendable, Equatable, CustomStringConvertible {
  /// The function has no network interface (no driver, or one that makes none).
  case absent
  /// An interface was listed but was gone before its ifindex could be read: it is being renamed.
  case renaming(String)
  /// udev has not finished with it yet: its name may still change.
  case pending(name: String, ifindex: Int32)
  /// Its name is final: udev has finished with it, or no udevd runs.
  case ready(name: String, ifindex: Int32)

  /// Whether udevd runs under `root`, and so will name new interfaces: its control socket
  /// (systemd-udevd-control.socket, `/run/udev/control`) exists from before udevd starts.
  public static func udevRunning(_ root: HostRoot) -> Bool {
    root.exists("/run/udev/control")
  }

  /// The state of the first network interface of the PCI function whose sysfs directory is
  /// `device` (`/sys/bus/pci/devices/ADDRESS`).
  ///
  /// - Throws: ``HostError`` when sysfs cannot be read or an ifindex is not a positive 32-bit number.
  public static func of(device: String, root: HostRoot) throws -> InterfaceReadiness {
    try of(device: device, root: root, udevRunning: udevRunning(root))
  }

  /// The same, with whether udevd runs already known.
  public static func of(device: String, root: HostRoot, udevRunning: Bool) throws -> InterfaceReadiness {
    guard let name = try root.list(device + "/net").first else { return .absent }
    // Read through the device's own directory: if udev renamed the interface meanwhile this is
    // gone, whereas /sys/class/net/NAME may by now be another, newer interface.
    let path = device + "/net/" + name + "/ifindex"
    guard let value = try root.readInteger(path) else { return .renaming(name) }
    guard value > 0, value <= Int(Int32.max) else {
      throw HostError.malformed(path, value: String(value), expected: "a positive interface index")
    }
    let ifindex = Int32(value)
    // sd-device's own test for "initialized" (device_read_db): the database entry udevd writes
    // after its rules, renaming included, have run.
    guard !udevRunning || root.exists("/run/udev/data/n\(ifindex)") else {
      return .pending(name: name, ifindex: ifindex)
    }
    return .ready(name: name, ifindex: ifindex)
  }

  /// The interface's name and ifindex once it is ready.
  public var ready: (name: String, ifindex: Int32)? {
    if case .ready(let name, let ifindex) = self { return (name, ifindex) }
    return nil
  }

  public var description: String {
    switch self {
    case .absent: return "has no network interface yet"
    case .renaming(let name): return "has its interface \(name) being renamed by udev"
    case .pending(let name, _): return "has its interface \(name) not yet named by udev"
    case .ready(let name, _): return "has its interface \(name)"
    }
  }
}
