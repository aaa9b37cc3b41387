import CKmod
import Glibc

/// The kernel modules of the host's running (or, in an image, installed) kernel, through libkmod:
/// the same alias resolution, module paths and blacklists modprobe uses. This is the only file
/// that talks to libkmod.
///
/// Whether a module is loaded or built in is read from `ROOT/sys/module`, not through libkmod,
/// which always reads the live `/sys`.
public final class KernelModules {
  /// How a module can be had.
  public enum Availability: Sendable, Equatable {
    case loaded
    case builtIn
    case loadable(path: String)
    /// Loadable, but a modprobe.d `blacklist` line keeps it from being loaded by alias.
    case blacklisted(path: String)
    case missing
  }

  public let root: HostRoot
  /// The kernel release whose modules are read (`uname -r`), or `nil` when it cannot be told.
  public let release: String?
  /// The module directory (a host path), when it exists.
  public let directory: String?
  private let context: OpaquePointer?

  public init(root: HostRoot) throws {
    self.root = root
    var release: String?
    if root.isLive {
      var names = utsname()
      uname(&names)
      release = withUnsafeBytes(of: names.release) { raw in
        String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
      }
    } else if let osrelease = try root.readAttribute("/proc/sys/kernel/osrelease") {
      // It becomes a path component (/lib/modules/RELEASE): a name, or an error, never a path.
      guard HostRoot.isPathComponent(osrelease), osrelease.utf8.count <= 64 else {
        throw HostError.malformed(
          "/proc/sys/kernel/osrelease", value: HostError.quoted(osrelease),
          expected: "a kernel release such as 6.1.0-18-amd64")
      }
      release = osrelease
    } else {
      // An image: the one kernel installed in it.
      let installed = try root.list("/lib/modules").filter(HostRoot.isPathComponent)
      release = installed.count == 1 ? installed[0] : nil
    }
    self.release = release
    if let release, root.isDirectory("/lib/modules/\(release)"),
      let moduleDirectory = root.realPath("/lib/modules/\(release)")
    {
      let directory = "/lib/modules/\(release)"
      self.directory = directory
      // libkmod opens what it is given: paths with the links already resolved inside the root
      // (an image's absolute /lib -> /usr/lib must not become this machine's /usr/lib). Missing
      // configuration directories are left out: an empty list means none, a NULL one the host's.
      let configs = ["/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d", "/lib/modprobe.d"]
        .compactMap { root.realPath($0) }
      context = KernelModules.withCStrings(configs) { kmod_new(moduleDirectory, $0) }
      if let context {
        // libkmod logs to stderr by default; its failures reach the caller as return values.
        kmod_set_log_priority(context, 0)
      }
    } else {
      self.directory = nil
      context = nil
    }
  }

  deinit {
    if let context { kmod_unref(context) }
  }

  /// Whether modprobe could find anything: the module directory exists and its indexes load.
  public var canResolve: Bool { context != nil && kmod_load_resources(context) == 0 }

  /// How the module (or module alias) `name` can be had.
  public func availability(of name: String) -> Availability {
    let normalized = name.replacingDashes()
    // The name may come from the tree (a driver link): it must be one path component.
    guard HostRoot.isPathComponent(normalized) else { return .missing }
    if root.isDirectory("/sys/module/\(normalized)") {
      // Built-in modules appear in /sys/module only when they have parameters, and have no
      // initstate file; loaded ones always have one.
      return root.exists("/sys/module/\(normalized)/initstate") ? .loaded : .builtIn
    }
    guard let context else { return .missing }
    var list: OpaquePointer?
    guard kmod_module_new_from_lookup(context, name, &list) >= 0, let list else { return .missing }
    defer { kmod_module_unref_list(list) }
    guard let module = kmod_module_get_module(list) else { return .missing }
    defer { kmod_module_unref(module) }
    guard let cPath = kmod_module_get_path(module) else { return .builtIn }
    let path = String(cString: cPath)
    // libkmod returns the absolute path on this machine, beneath the root.
    let hostPath = root.isLive ? path : String(path.dropFirst(root.path.count))
    var filtered: OpaquePointer?
    if kmod_module_apply_filter(context, KMOD_FILTER_BLACKLIST, list, &filtered) >= 0 {
      defer { if let filtered { kmod_module_unref_list(filtered) } }
      if filtered == nil { return .blacklisted(path: hostPath) }
    }
    return .loadable(path: hostPath)
  }

  /// `modprobe NAME`: loads the module (or the module an alias names) with its dependencies,
  /// honouring modprobe.d options. A module already loaded or built in is left alone.
  public func load(_ name: String) throws {
    switch availability(of: name) {
    case .loaded, .builtIn: return
    case .missing: throw ModuleError.missing(name, release: release)
    case .loadable, .blacklisted: break
    }
    guard root.isLive, let context else { throw ModuleError.notLive(name) }
    var list: OpaquePointer?
    guard kmod_module_new_from_lookup(context, name, &list) >= 0, let list,
      let module = kmod_module_get_module(list)
    else { throw ModuleError.missing(name, release: release) }
    defer {
      kmod_module_unref(module)
      kmod_module_unref_list(list)
    }
    let result = kmod_module_probe_insert_module(module, 0, nil, nil, nil, nil)
    guard result >= 0 else { throw ModuleError.loadFailed(name, errno: -result) }
  }

  /// A module that could not be loaded.
  public enum ModuleError: Error, Equatable, CustomStringConvertible {
    case missing(String, release: String?)
    case notLive(String)
    case loadFailed(String, errno: Int32)

    public var description: String {
      switch self {
      case .missing(let name, let release):
        return "the kernel module \(name) is not available for \(release ?? "this kernel")"
      case .notLive(let name):
        return "cannot load \(name): not the running system"
      case .loadFailed(let name, let code):
        return "loading the kernel module \(name) failed: \(Errno.describe(code))"
      }
    }
  }

  /// The modules whose aliases match a device's modalias (`pci:v00008086d0000154Csv...`), as
  /// `modprobe` would resolve it. Empty when none does or the modules cannot be read.
  public func modules(matching modalias: String) -> [String] {
    guard let context else { return [] }
    var list: OpaquePointer?
    guard kmod_module_new_from_lookup(context, modalias, &list) >= 0, let list else { return [] }
    defer { kmod_module_unref_list(list) }
    var names: [String] = []
    var entry: OpaquePointer? = list
    while let current = entry {
      if let module = kmod_module_get_module(current) {
        names.append(String(cString: kmod_module_get_name(module)))
        kmod_module_unref(module)
      }
      entry = kmod_list_next(list, current)
    }
    return names
  }

  private static func withCStrings<R>(
    _ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R
  ) -> R {
    let pointers = strings.map { strdup($0) }
    defer { pointers.forEach { free($0) } }
    let array = pointers.map { UnsafePointer($0) } + [nil]
    return array.withUnsafeBufferPointer { body($0.baseAddress!) }
  }
}

extension String {
  /// Module names treat `-` and `_` alike; /sys/module uses `_`.
  func replacingDashes() -> String {
    String(map { $0 == "-" ? "_" : $0 })
  }
}
