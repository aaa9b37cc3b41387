import ArgumentParser
import Glibc
import SRIOVKit

/// The options of the cluster checks: how kubectl is reached, and what is looked for.
struct ClusterCheckOptions: ParsableArguments {
  @OptionGroup var kubectl: KubectlOptions

  @Option(
    name: .customLong("label-prefix"),
    help: ArgumentHelp("The prefix of the fact labels 'sriovctl label' sets.", valueName: "PREFIX"))
  var labelPrefix = "sriovctl.io/"

  @Option(
    name: .customLong("device-plugin-config"),
    help: ArgumentHelp(
      "The device plugin's ConfigMap.", valueName: "NAMESPACE/NAME"))
  var configMap = "kube-system/sriovdp-config"

}

struct Check: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Check that IOMMU, firmware, kernel and NICs are ready for SR-IOV.",
    discussion: """
      Runs these checks, each with a status (pass, warn, fail, skip), a summary and, for anything \
      that does not pass, a remedy:

        firmware.iommu   the BIOS/UEFI enabled the IOMMU (ACPI DMAR or IVRS table)
        kernel.iommu     an IOMMU is active: registered, with IOMMU groups
        kernel.cmdline   intel_iommu=on, iommu=pt, nothing switching the IOMMU off
        kernel.log       SR-IOV and IOMMU errors logged in this boot (kmsg, journal)
        nic.sriov        per PF: SR-IOV enabled in the firmware, a driver bound
        modules.vfio     vfio-pci and each PF's VF driver: loaded, built in, loadable
        memory.hugepages huge pages for DPDK, per size and NUMA node (the PFs' nodes)
        devices.vfio     /dev/vfio/vfio, and each VF in an IOMMU group of its own
        devices.vhost-net
                         /dev/vhost-net and /dev/net/tun (needVhostNet), or loadable
        host.conflicts   NetworkManager, netplan, .link files, udev rules, driverctl
                         also setting a PF's VFs (sriovctl's own files excepted)

      With --kubeconfig, the cluster is checked too, through kubectl and read-only (kubectl \
      get only; nothing is changed):

        kubernetes.node  the node exists and is Ready
        kubernetes.label sriov=enabled, and the labels 'sriovctl label' would set
        kubernetes.device-plugin-config
                         the device plugin's ConfigMap: each resource meant for this
                         host's NICs selects its VFs; else why not, field by field
        kubernetes.device-plugin
                         a device plugin pod on the node is Running
        kubernetes.allocatable
                         the node offers each resource with the VFs it selects here

      When the cluster cannot be read at all (kubectl missing, the cluster unreachable, the \
      credentials rejected or refused), one finding, kubernetes.cluster, says why. Resources are \
      matched as the device plugin matches them (vendors, devices, drivers, pciAddresses, \
      pfNames, rootDevices; a device goes to the first resource that selects it); other \
      selectors (linkTypes, isRdma...) are named but not evaluated.

      The IOMMU's state is taken from what the kernel registered, never from the command line or \
      the log alone. Exits 0 when nothing failed (warnings do not fail), 1 otherwise, so Ansible \
      and cloud-init can gate on it; also 1 when every check was skipped (nothing could be \
      checked). A PF whose sysfs data is malformed fails nic.sriov with the reason; the other \
      PFs are checked as usual.

      Examples:
        sriovctl check
        sriovctl check --pf ens1f0 -o json
        sriovctl check --kubeconfig /etc/kubernetes/kubelet.conf
      """)

  @OptionGroup var options: GlobalOptions
  @OptionGroup(title: "Cluster checks (with --kubeconfig)") var clusterOptions: ClusterCheckOptions
  private var cluster: KubectlOptions { clusterOptions.kubectl }
  private var labelPrefix: String { clusterOptions.labelPrefix }
  private var configMap: String { clusterOptions.configMap }
  @ParentCommand var parent: SRIOVCtl

  @Option(
    name: .customLong("pf"),
    help: ArgumentHelp("Check only this PF (interface or PCI address); repeatable.", valueName: "PF"),
    transform: parsePFSelector)
  var pfs: [PFSelector] = []

  func validate() throws {
    guard cluster.kubeconfig != nil else {
      let given = cluster.given + (labelPrefix == "sriovctl.io/" ? [] : ["--label-prefix"])
        + (configMap == "kube-system/sriovdp-config" ? [] : ["--device-plugin-config"])
      if let first = given.first {
        throw ValidationError("\(first) is for the cluster checks, which run only with --kubeconfig FILE")
      }
      return
    }
    try cluster.requireReadableKubeconfig()
    do {
      try NodeLabeling.checkPrefix(labelPrefix)
    } catch {
      throw ValidationError(
        "--label-prefix '\(labelPrefix)' is not a label prefix (a DNS subdomain followed by '/', like sriovctl.io/)")
    }
    guard configMapParts != nil else {
      throw ValidationError(
        "--device-plugin-config '\(configMap)' is not NAMESPACE/NAME (a namespace, then a ConfigMap name)")
    }
  }

  /// The ConfigMap's namespace and name, when both are valid names.
  private var configMapParts: (String, String)? {
    let parts = configMap.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 2, LabelKey.isNamespace(parts[0]), LabelKey.isSubdomain(parts[1]) else { return nil }
    return (String(parts[0]), String(parts[1]))
  }

  func run() throws {
    let options = options.merged(with: parent.options)
    try options.requireTextOrJSON()
    let root = try options.hostRoot()
    var target: ClusterTarget?
    if cluster.kubeconfig != nil, let (namespace, name) = configMapParts {
      target = ClusterTarget(
        kubectl: cluster.client, node: try cluster.nodeName(root), labelPrefix: labelPrefix,
        configMapNamespace: namespace, configMapName: name)
    }
    let report = try Readiness.check(root: root, pfs: pfs, cluster: target)
    Output.emit(options.format, json: report.json) {
      CheckReportText.render(report, colour: Terminal.wantsColour)
    }
    if !report.ok { throw ExitCode.failure }
  }
}
