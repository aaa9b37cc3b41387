/// The systemd a root has, for what its files may use (SR-IOV in `.link` files needs 251).
enum SystemdVersion {
  /// The root's systemd version, from its libsystemd-shared-NNN.so.
  static func of(_ root: HostRoot) -> Int? {
    for directory in ["/usr/lib/systemd", "/lib/systemd", "/usr/lib/x86_64-linux-gnu/systemd", "/usr/lib64/systemd"] {
      for name in (try? root.list(directory)) ?? [] where name.hasPrefix("libsystemd-shared-") {
        let digits = name.dropFirst("libsystemd-shared-".count).prefix(while: \.isNumber)
        if let version = Int(digits) { return version }
      }
    }
    return nil
  }
}
