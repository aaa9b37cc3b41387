import ArgumentParser
import Glibc
import SRIOVKit

/// The output formats every subcommand offers.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
  case text
  case json
  /// Only `device-plugin-config` writes YAML (a ConfigMap, its default).
  case yaml
}

/// Options accepted by every subcommand, before or after its name.
///
/// The same group is declared on the root command and on each subcommand; a subcommand takes its
/// own value first, then the one given before its name, then the environment.
struct GlobalOptions: ParsableArguments {
  @Option(
    name: .long,
    help: ArgumentHelp(
      "Read and change the host beneath DIR instead of / (environment: SRIOVCTL_ROOT).",
      valueName: "DIR"))
  var root: String?

  @Option(
    name: [.customShort("o"), .long],
    help: ArgumentHelp("Output format: text or json (default: text); yaml for device-plugin-config.", valueName: "FORMAT"))
  var output: OutputFormat?

  func validate() throws {
    if let root, root.isEmpty { throw ValidationError("--root '': expected a directory") }
  }

  /// This group with values missing here taken from the group given before the subcommand name.
  func merged(with parent: GlobalOptions) -> GlobalOptions {
    var result = self
    result.root = root ?? parent.root
    result.output = output ?? parent.output
    return result
  }

  /// The output format in force.
  var format: OutputFormat { output ?? .text }

  /// Refuses YAML for the commands that print text or JSON only.
  func requireTextOrJSON() throws {
    if output == .yaml { throw ValidationError("-o yaml is only for device-plugin-config; use text or json") }
  }

  /// The host root in force: --root, else SRIOVCTL_ROOT, else /.
  func hostRoot() throws -> HostRoot {
    if let root { return try HostRoot(root) }
    if let value = getenv("SRIOVCTL_ROOT"), value.pointee != 0 {
      return try HostRoot(String(cString: value))
    }
    return .live
  }
}

/// Parses a PF argument, explaining what is wrong with a malformed one.
func parsePFSelector(_ argument: String) throws -> PFSelector {
  guard let selector = PFSelector(argument) else {
    throw ValidationError(
      "'\(argument)' is neither a PCI address (0000:3b:00.0 or 3b:00.0) nor an interface name "
        + "(1 to 15 of the characters A-Z a-z 0-9 . _ - @ +)")
  }
  return selector
}

/// Writes a command's result: JSON as exactly one document on stdout, or text.
enum Output {
  static func emit(_ format: OutputFormat, json: @autoclosure () -> JSON, text: () -> String) {
    switch format {
    case .json: print(json().rendered(), terminator: "")
    case .text, .yaml: print(text(), terminator: "")
    }
  }
}

/// Warnings on standard error, one line each, as `sriovctl: MESSAGE`.
enum Diagnostics {
  static func warn(_ message: String) {
    let line = Array("sriovctl: \(message)\n".utf8)
    var written = 0
    while written < line.count {
      let n = line[written...].withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else { return }
      written += n
    }
  }
}
