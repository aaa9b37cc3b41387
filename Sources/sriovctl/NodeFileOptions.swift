import ArgumentParser
import SRIOVKit

/// The node file `apply`, `verify`, `persist --config` and `device-plugin-config` read.
struct NodeFileOptions: ParsableArguments {
  @Option(
    name: [.customShort("f"), .customLong("file")],
    help: ArgumentHelp(
      "The node file (- for standard input; default: ROOT/etc/sriovctl/sriovctl.yaml).", valueName: "FILE"))
  var file: String?

  func validate() throws {
    if file == "" { throw ValidationError("-f '': expected a file's path, or - for standard input") }
  }

  /// The file matched against the host's PFs.
  func targets(root: HostRoot) throws -> NodeTargets {
    try NodeConfig.load(path: file, root: root).resolve(root: root)
  }
}
