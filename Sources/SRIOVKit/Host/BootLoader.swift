/// How the kernel command line is configured on the host, so a remedy can name the file to edit
/// and the command that applies it.
public enum BootLoader: Sendable, Equatable {
  /// RHEL, Fedora, CentOS: `grubby` edits every installed kernel's entry.
  case grubby
  /// GRUB configured through /etc/default/grub; the command regenerates grub.cfg.
  case grub(regenerate: String)
  /// systemd-boot or a UKI with the command line in /etc/kernel/cmdline.
  case kernelInstall
  case unknown

  /// Finds the boot loader configuration beneath the root.
  public static func detect(root: HostRoot) -> BootLoader {
    if root.exists("/etc/kernel/cmdline") { return .kernelInstall }
    if root.exists("/usr/sbin/grubby") || root.exists("/sbin/grubby") { return .grubby }
    if root.exists("/etc/default/grub") {
      if root.exists("/usr/sbin/update-grub") || root.exists("/sbin/update-grub") {
        return .grub(regenerate: "update-grub")
      }
      if root.exists("/boot/grub2") {
        return .grub(regenerate: "grub2-mkconfig -o /boot/grub2/grub.cfg")
      }
      return .grub(regenerate: "update-grub (Debian, Ubuntu) or grub2-mkconfig -o /boot/grub2/grub.cfg")
    }
    return .unknown
  }

  /// The instruction that adds `parameters` to the command line and removes `removing`.
  public func instruction(adding parameters: [String], removing: [String] = []) -> String {
    let add = parameters.joined(separator: " ")
    let remove = removing.joined(separator: " ")
    switch self {
    case .grubby:
      var command = "grubby --update-kernel=ALL"
      if !add.isEmpty { command += " --args=\"\(add)\"" }
      if !remove.isEmpty { command += " --remove-args=\"\(remove)\"" }
      return "run '\(command)' and reboot"
    case .grub(let regenerate):
      return "in /etc/default/grub, \(edit(add, remove)) GRUB_CMDLINE_LINUX, run \(regenerate) and reboot"
    case .kernelInstall:
      return "in /etc/kernel/cmdline, \(edit(add, remove)) the line, reinstall the kernel entries "
        + "(kernel-install add $(uname -r) /lib/modules/$(uname -r)/vmlinuz) and reboot"
    case .unknown:
      return "\(edit(add, remove)) the kernel command line in the boot loader's configuration and reboot"
    }
  }

  private func edit(_ add: String, _ remove: String) -> String {
    switch (add.isEmpty, remove.isEmpty) {
    case (false, true): return "add '\(add)' to"
    case (true, false): return "remove '\(remove)' from"
    default: return "add '\(add)' to and remove '\(remove)' from"
    }
  }
}
