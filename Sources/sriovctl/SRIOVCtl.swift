import ArgumentParser
import Glibc
import SRIOVKit

@main
struct SRIOVCtl: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sriovctl",
    abstract: "Prepare a host's SR-IOV network cards: check, list, create and persist VFs.",
    discussion: """
      sriovctl checks that IOMMU, firmware, kernel and NICs are ready for SR-IOV, lists the \
      SR-IOV-capable physical functions (PFs) and their virtual functions (VFs), creates and \
      configures VFs safely and idempotently, makes them survive reboots, and labels the \
      Kubernetes node.

      A PF is named by its interface (ens1f0) or its PCI address (0000:3b:00.0, or 3b:00.0).

      Global options may come before or after the subcommand name. With --root (or \
      SRIOVCTL_ROOT) every host path is read beneath another directory: a fixture tree, or the \
      root of an image being built.

      Exit status: 0 on success, 1 when an operation or a check failed, 64 for a usage error.
      """,
    version: SRIOVKit.version,
    subcommands: [
      Check.self, List.self, CreateVFs.self, Apply.self, Verify.self, Persist.self, Label.self,
      DevicePluginConfigCommand.self,
    ]
  )

  @OptionGroup var options: GlobalOptions

  /// Parses, refuses repeated single-value options, runs, and reports any error as one line on
  /// stderr with the exit status of the contract: 1 for a failure, 64 for a usage error.
  static func main() {
    let arguments = Array(CommandLine.arguments.dropFirst())
    do {
      var command = try parseAsRoot(arguments)
      try SingleValueOptions(of: type(of: command)).refuseRepeats(in: arguments)
      try command.run()
    } catch {
      let code = exitCode(for: error)
      // --help and --version print to stdout and exit 0, as ArgumentParser does.
      if code == .success { exit(withError: error) }
      let message = oneLine(message(for: error))
      if !message.isEmpty {
        let line = Array("Error: \(message)\n".utf8)
        _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
      }
      Glibc.exit(code.rawValue)
    }
  }

  /// An error message as one line: without the help and usage lines ArgumentParser appends (a
  /// script reading stderr, like Ansible's msg, would have to strip them), and with control
  /// characters from the user's own values (a newline in a PF name) escaped.
  static func oneLine(_ message: String) -> String {
    let lines = message.split(separator: "\n", omittingEmptySubsequences: false)
    let kept = lines.prefix { !$0.hasPrefix("Help:") && !$0.hasPrefix("Usage:") }
    var text = kept.joined(separator: "\n")
    while text.last == "\n" { text.removeLast() }
    var line = ""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\n": line += "\\n"
      case "\r": line += "\\r"
      case "\t": line += "\\t"
      case _ where scalar.properties.generalCategory == .control:
        line += "\\x" + (scalar.value < 16 ? "0" : "") + String(scalar.value, radix: 16)
      default: line.unicodeScalars.append(scalar)
      }
    }
    return line
  }
}
