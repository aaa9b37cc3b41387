import ArgumentParser
import SRIOVKit

struct DevicePluginConfigCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "device-plugin-config",
    abstract: "Print the SR-IOV network device plugin's ConfigMap for this host's VFs.",
    discussion: """
      Builds the 'sriovdp-config' ConfigMap (key config.json) of the SR-IOV network device \
      plugin from the PFs and VFs found here, so that its selectors (vendors, devices: the VF \
      device IDs, drivers, pfNames) match the hardware: the most common reason its resources \
      never appear. One resource per PF, or per vendor and VF device with --group-by vendor. \
      --pf ens1f0#0-3 puts only VFs 0-3 of ens1f0 into a resource. With -f, the resources \
      come from the node file's policies instead (see 'sriovctl help apply'): each policy's \
      resourceName over the VFs it takes, vfio-pci as drivers: ["vfio-pci"], so the node's VFs \
      and the cluster's resources are derived from one file.

      Output: YAML for 'kubectl apply -f -' (default), -o json, or --raw for config.json alone.

      Examples:
        sriovctl device-plugin-config | kubectl apply -f -
        sriovctl device-plugin-config --pf ens1f0#0-3 --resource-name dpdk_ports --raw
        sriovctl device-plugin-config -f /etc/sriovctl/sriovctl.yaml | kubectl apply -f -
      """)

  @OptionGroup var options: GlobalOptions
  @ParentCommand var parent: SRIOVCtl

  @Option(help: ArgumentHelp("Only this PF, or PF#RANGES of its VFs; repeatable.", valueName: "PF[#N-M]"))
  var pf: [String] = []

  @Option(name: .customLong("group-by"), help: ArgumentHelp("pf (default) or vendor.", valueName: "GROUPING"))
  var groupBy: DevicePluginConfig.Grouping?

  @OptionGroup var node: NodeFileOptions

  @Option(name: .customLong("resource-name"), help: ArgumentHelp("The name of the one resource made.", valueName: "NAME"))
  var resourceName: String?

  @Option(name: .customLong("resource-prefix"), help: ArgumentHelp("The resources' prefix.", valueName: "PREFIX"))
  var resourcePrefix = "intel.com"

  @Option(help: ArgumentHelp("The ConfigMap's namespace.", valueName: "NAMESPACE"))
  var namespace = "kube-system"

  @Flag(help: "Print only config.json.")
  var raw = false

  func validate() throws {
    if node.file != nil, !pf.isEmpty || groupBy != nil || resourceName != nil {
      throw ValidationError("-f takes the resources from the node file's policies: not with --pf, --group-by or --resource-name")
    }
    do {
      try DevicePluginConfig.checkSelections(try selections())
      try DevicePluginConfig.checkNames(resourceName: resourceName, resourcePrefix: resourcePrefix)
    } catch let failure as DevicePluginConfig.Failure {
      throw ValidationError(failure.description)
    }
    guard LabelKey.isNamespace(Substring(namespace)) else {
      throw ValidationError("--namespace '\(namespace)' is not a namespace name (lowercase letters, digits and '-')")
    }
  }

  private func selections() throws -> [DevicePluginConfig.PFSelection] {
    try pf.map { text in
      guard let selection = DevicePluginConfig.PFSelection(text) else {
        throw ValidationError("--pf '\(text)' is not PF or PF#RANGES (ens1f0, 0000:3b:00.0, ens1f0#0-3, ens1f0#0,2-5; VF indexes 0 to \(VFRequest.maximumCount - 1))")
      }
      return selection
    }
  }

  func run() throws {
    let options = options.merged(with: parent.options)
    let root = try options.hostRoot()
    let config: DevicePluginConfig
    if node.file != nil {
      config = try DevicePluginConfig.build(targets: try node.targets(root: root), root: root, resourcePrefix: resourcePrefix)
    } else {
      config = try fromHost(root: root)
    }
    if raw {
      print(config.json.rendered(), terminator: "")
    } else if options.output == .json {
      print(config.configMap(namespace: namespace).rendered(), terminator: "")
    } else {
      print(config.configMapYAML(namespace: namespace), terminator: "")
    }
  }

  private func fromHost(root: HostRoot) throws -> DevicePluginConfig {
    let selections = try selections()
    let inventory = try Inventory.discover(root: root, names: false)
    // Without --pf every PF gets a resource: one that cannot be read is refused, not left out.
    if selections.isEmpty { try inventory.requireReadable() }
    return try DevicePluginConfig.build(
      inventory: inventory, root: root, selections: selections,
      grouping: groupBy ?? .pf, resourceName: resourceName, resourcePrefix: resourcePrefix)
  }
}

extension DevicePluginConfig.Grouping: ExpressibleByArgument {}
