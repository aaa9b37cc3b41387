import ArgumentParser
import SRIOVKit

struct Label: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Label the Kubernetes node with its SR-IOV facts through kubectl.",
    discussion: """
      Sets sriov=enabled (only when a PF offers VFs; otherwise a stale sriov label is removed) \
      and, under --prefix (default sriovctl.io/), capable, vfs (enabled now), \
      total-vfs and nic-vendor (PCI vendor IDs), plus every --label K=V, with \
      'kubectl label node NODE ... --overwrite'. The node's labels are read first \
      ('kubectl get node NODE -o json'): labels already right are not sent, and when all are \
      right nothing runs (changed: false). --remove deletes the labels this command sets.

      kubectl is run directly, never through a shell; --kubeconfig and --context are passed to \
      it. NODE defaults to the name kubelet registers: this host's name, lowercased.

      Examples:
        sriovctl label
        sriovctl label --node worker-7 --label example.com/pool=dpdk --dry-run
        sriovctl label --remove --kubeconfig /etc/kubernetes/admin.conf
      """)

  @OptionGroup var options: GlobalOptions
  @OptionGroup var cluster: KubectlOptions
  @ParentCommand var parent: SRIOVCtl

  @Option(name: .customLong("label"), help: ArgumentHelp("Another label to set; repeatable.", valueName: "KEY=VALUE"))
  var extraLabels: [String] = []

  @Option(help: ArgumentHelp("The prefix of the fact labels.", valueName: "PREFIX"))
  var prefix = "sriovctl.io/"

  @Flag(help: "Remove the labels this command sets.")
  var remove = false

  @Flag(name: .customLong("dry-run"), help: "Print the kubectl command and change nothing.")
  var dryRun = false

  func validate() throws {
    _ = try parsedLabels()
    do {
      try NodeLabeling.checkPrefix(prefix)
    } catch let failure as NodeLabeling.Failure {
      throw ValidationError(failure.description)
    }
  }

  private func parsedLabels() throws -> [(LabelKey, LabelValue)] {
    try extraLabels.map { text in
      guard let equals = text.firstIndex(of: "="), let key = LabelKey(String(text[..<equals])),
        let value = LabelValue(String(text[text.index(after: equals)...]))
      else {
        throw ValidationError(
          "--label '\(text)' is not KEY=VALUE with a valid Kubernetes label key ([prefix/]name) and value "
            + "(at most 63 of A-Z a-z 0-9 - _ ., starting and ending with a letter or digit)")
      }
      return (key, value)
    }
  }

  func run() throws {
    let options = options.merged(with: parent.options)
    try options.requireTextOrJSON()
    let root = try options.hostRoot()
    let inventory = try Inventory.discover(root: root, names: false)
    // The labels sum over every PF: one that cannot be read is refused, not left out silently.
    try inventory.requireReadable()
    let labels = try NodeLabeling.labels(for: inventory, prefix: prefix, extra: try parsedLabels())
    let labeling = NodeLabeling(
      kubectl: cluster.client, node: try cluster.nodeName(root), labels: labels, withdrawn: NodeLabeling.withdrawnLabels(for: inventory))
    let result = try labeling.apply(remove: remove, dryRun: dryRun)
    Output.emit(options.format, json: result.json) {
      guard let command = result.command else { return "node \(result.node): labels already as asked; nothing changed.\n" }
      return (result.dryRun ? "would run: " : "ran: ") + command.joined(separator: " ") + "\n"
    }
  }
}
