/// The kernel command line (`/proc/cmdline`), split the way the kernel splits it
/// (lib/cmdline.c `next_arg`: white space separates, double quotes group).
public struct KernelCommandLine: Sendable, Equatable {
  /// Each parameter as written, in order: `intel_iommu=on`, `quiet`.
  public var parameters: [String]

  public init(_ text: String) {
    var parameters: [String] = []
    var current = ""
    var quoted = false
    var started = false
    for character in text {
      if character == "\"" {
        quoted.toggle()
        started = true
      } else if character.isWhitespace && !quoted {
        if started { parameters.append(current) }
        current = ""
        started = false
      } else {
        current.append(character)
        started = true
      }
    }
    if started { parameters.append(current) }
    self.parameters = parameters
  }

  /// Reads `/proc/cmdline` beneath the root; `nil` when there is none (an image, not a boot).
  public static func read(root: HostRoot) throws -> KernelCommandLine? {
    try root.readAttribute("/proc/cmdline").map(KernelCommandLine.init)
  }

  /// The values given to `name`, last one last (the kernel's own handlers mostly let it win).
  /// A bare flag (`quiet`) has the value "".
  public func values(of name: String) -> [String] {
    parameters.compactMap { parameter in
      if parameter == name { return "" }
      guard parameter.hasPrefix(name + "=") else { return nil }
      return String(parameter.dropFirst(name.count + 1))
    }
  }

  /// Whether `name=value` is present, with `value` one of the comma-separated options
  /// (`intel_iommu=on,sm_on` has `on`).
  public func has(_ name: String, option: String) -> Bool {
    values(of: name).contains { $0.split(separator: ",").contains { $0 == option } }
  }
}
