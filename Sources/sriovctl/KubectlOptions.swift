import ArgumentParser
import Glibc
import SRIOVKit

/// How `label` and `check` reach the cluster: the kubectl to run, what it is given, and the node.
struct KubectlOptions: ParsableArguments {
  @Option(help: ArgumentHelp("The node (default: this host's name, lowercased).", valueName: "NODE"))
  var node: String?

  @Option(help: ArgumentHelp("The kubectl to run (default: kubectl from PATH).", valueName: "PATH"))
  var kubectl: String?

  @Option(help: ArgumentHelp("Passed to kubectl.", valueName: "FILE"))
  var kubeconfig: String?

  @Option(help: ArgumentHelp("Passed to kubectl.", valueName: "CONTEXT"))
  var context: String?

  func validate() throws {
    // Passed to kubectl as separate arguments (no shell), but echoed in the output: an empty or
    // multi-line value is a mistake, not a setting.
    for (option, value) in [("--kubectl", kubectl), ("--kubeconfig", kubeconfig), ("--context", context)] {
      if let value, value.isEmpty || value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
        throw ValidationError("\(option) '\(value)': expected a \(option == "--context" ? "context name" : "path") on one line")
      }
    }
    if let node, NodeName(node) == nil {
      throw ValidationError("--node '\(node)' is not a node name (a DNS subdomain: lowercase letters, digits, '-' and '.')")
    }
  }

  /// The options given, by name, for a command that needs --kubeconfig before they mean anything.
  var given: [String] {
    [("--node", node), ("--kubectl", kubectl), ("--context", context)].compactMap { $0.1 == nil ? nil : $0.0 }
  }

  /// Refuses a kubeconfig that cannot be read before kubectl is run with it.
  func requireReadableKubeconfig() throws {
    guard let kubeconfig else { return }
    guard access(kubeconfig, R_OK) == 0 else {
      throw ValidationError("--kubeconfig '\(kubeconfig)': \(String(cString: strerror(errno)))")
    }
  }

  var client: Kubectl { Kubectl(path: kubectl ?? "kubectl", kubeconfig: kubeconfig, context: context) }

  /// --node, else the host's name as kubelet registers it.
  func nodeName(_ root: HostRoot) throws -> NodeName {
    if let node, let name = NodeName(node) { return name }
    return try NodeName.ofHost(root)
  }
}
