import FoundationEssentials

/// The cluster `check --kubeconfig` consults: through the real kubectl, `get` only.
public struct ClusterTarget: Sendable, Equatable {
  public var kubectl: Kubectl
  public var node: NodeName
  /// The prefix of the fact labels `label` sets.
  public var labelPrefix: String
  /// The device plugin's ConfigMap.
  public var configMapNamespace: String
  public var configMapName: String

  public init(
    kubectl: Kubectl, node: NodeName, labelPrefix: String = "sriovctl.io/", configMapNamespace: String = "kube-system",
    configMapName: String = "sriovdp-config"
  ) {
    self.kubectl = kubectl
    self.node = node
    self.labelPrefix = labelPrefix
    self.configMapNamespace = configMapNamespace
    self.configMapName = configMapName
  }

  /// The pod labels of the device plugin's DaemonSet: the project's own deployment
  /// (`app: sriovdp`) and the SR-IOV network operator's (`app: sriov-device-plugin`).
  public static let pluginPodSelector = "app in (sriovdp,sriov-device-plugin)"
}

/// The objects read from the cluster, as far as the checks need them.
struct NodeObject: Decodable {
  struct Metadata: Decodable { var labels: [String: String]? }
  struct Status: Decodable {
    struct Condition: Decodable {
      var type: String
      var status: String
      var reason: String?
      var message: String?
    }
    var conditions: [Condition]?
    var allocatable: [String: String]?
  }
  var metadata: Metadata
  var status: Status?
}

struct ConfigMapObject: Decodable {
  var data: [String: String]?
}

struct PodList: Decodable {
  struct Pod: Decodable {
    struct Metadata: Decodable {
      var name: String
      var namespace: String?
    }
    struct Spec: Decodable {
      struct Container: Decodable {
        var command: [String]?
        var args: [String]?
      }
      var containers: [Container]?
    }
    struct Status: Decodable {
      struct ContainerStatus: Decodable {
        struct State: Decodable {
          struct Waiting: Decodable {
            var reason: String?
            var message: String?
          }
          var waiting: Waiting?
        }
        var name: String
        var ready: Bool
        var restartCount: Int?
        var state: State?
      }
      var phase: String?
      var reason: String?
      var message: String?
      var containerStatuses: [ContainerStatus]?
    }
    var metadata: Metadata
    var spec: Spec?
    var status: Status?

    var name: String { (metadata.namespace.map { $0 + "/" } ?? "") + metadata.name }

    /// The `--resource-prefix` it was started with, if any.
    var resourcePrefix: String? {
      for container in spec?.containers ?? [] {
        let words = (container.command ?? []) + (container.args ?? [])
        for (i, word) in words.enumerated() {
          if word.hasPrefix("--resource-prefix=") || word.hasPrefix("-resource-prefix=") {
            return String(word.split(separator: "=", maxSplits: 1)[1])
          }
          if (word == "--resource-prefix" || word == "-resource-prefix"), i + 1 < words.count { return words[i + 1] }
        }
      }
      return nil
    }
  }
  var items: [Pod]
}

extension Readiness {
  /// The `kubernetes.*` checks: what the cluster makes of this host.
  static func cluster(_ facts: HostFacts, _ target: ClusterTarget) -> [Check] {
    let kubectl = target.kubectl
    let node = target.node.description
    var checks: [Check] = []

    // The node: if it cannot be read at all, that one finding says why and nothing else is asked.
    let nodeObject: NodeObject?
    do {
      nodeObject = try kubectl.get(NodeObject.self, ["node", node])
    } catch let failure as Kubectl.Failure {
      if failure.isClusterWide || isForbidden(failure) {
        return [clusterUnavailable(failure, target)]
      }
      nodeObject = nil
      checks.append(
        Check(
          id: "kubernetes.node", title: "that the node is registered and Ready", status: .fail,
          summary: "node \(node) is not registered in the cluster",
          remedy: "give the name kubelet registered with --node (see 'kubectl get nodes'), or join this host to the cluster",
          details: [failure.description]))
    } catch {
      return [clusterUnavailable(.unreadable(command: kubectl.command(["get", "node", node]), output: "\(error)"), target)]
    }
    if let nodeObject { checks.append(nodeReady(nodeObject, node)) }
    checks.append(labels(facts, nodeObject, target))

    // The device plugin: its pod here (and the resource prefix it runs with), its configuration.
    let pods = pluginPods(target)
    let prefix = pods.pods.lazy.compactMap(\.resourcePrefix).first ?? DevicePluginConfig.pluginDefaultPrefix
    let (configCheck, assignments) = pluginConfig(facts, target, defaultPrefix: prefix)
    checks.append(configCheck)
    checks.append(pods.check)
    checks.append(allocatable(facts, nodeObject, assignments, pods, target))
    return checks
  }

  static func isForbidden(_ failure: Kubectl.Failure) -> Bool {
    if case .failed(_, _, .forbidden) = failure { return true }
    return false
  }

  /// The one finding when the cluster cannot be consulted: kubectl missing, the cluster
  /// unreachable, the credentials rejected or refused.
  static func clusterUnavailable(_ failure: Kubectl.Failure, _ target: ClusterTarget) -> Check {
    let id = "kubernetes.cluster"
    let title = "that the cluster can be read"
    let kubeconfig = target.kubectl.kubeconfig ?? "KUBECONFIG"
    switch failure {
    case .missing(let path):
      return Check(
        id: id, title: title, status: .fail, summary: "kubectl was not found (\(path))",
        remedy: "install kubectl (Debian: kubernetes-client), or name it with --kubectl PATH")
    case .unreadable:
      return Check(
        id: id, title: title, status: .fail, summary: "kubectl printed a node sriovctl cannot read",
        remedy: "check that \(target.kubectl.path) is kubectl", details: [failure.description])
    case .failed(let command, let message, let meaning):
      let (summary, remedy): (String, String)
      switch meaning {
      case .forbidden?:
        summary = "the credentials may not read node \(target.node) (RBAC)"
        remedy = "grant get on nodes, get on configmaps in \(target.configMapNamespace) and list on pods "
          + "(a read-only ClusterRole), or use a kubeconfig that has them"
      case .unauthorized?:
        summary = "the cluster rejected the credentials in \(kubeconfig)"
        remedy = "renew the credentials (token or certificate) in \(kubeconfig)"
      case .unreachable?:
        summary = "the cluster cannot be reached"
        remedy = "check the server address in \(kubeconfig) and that the API server is up "
          + "('kubectl --kubeconfig \(kubeconfig) cluster-info')"
      case .noKubeconfig?:
        summary = "kubectl found no cluster configuration"
        remedy = "pass a kubeconfig with --kubeconfig FILE"
      default:
        summary = "kubectl failed: \(message)"
        remedy = "run '\(command.joined(separator: " "))' to see why"
      }
      return Check(id: id, title: title, status: .fail, summary: summary, remedy: remedy, details: [failure.description])
    }
  }

  /// `kubernetes.node`: the Ready condition.
  static func nodeReady(_ object: NodeObject, _ node: String) -> Check {
    let id = "kubernetes.node"
    let title = "that the node is registered and Ready"
    guard let ready = object.status?.conditions?.first(where: { $0.type == "Ready" }) else {
      return Check(
        id: id, title: title, status: .fail, summary: "node \(node) reports no Ready condition",
        remedy: "check kubelet on this host: systemctl status kubelet; journalctl -u kubelet")
    }
    guard ready.status == "True" else {
      let why = [ready.reason, ready.message].compactMap { $0 }.joined(separator: ": ")
      return Check(
        id: id, title: title, status: .fail,
        summary: "node \(node) is not Ready (Ready=\(ready.status)\(why.isEmpty ? "" : ", " + why))",
        remedy: "pods are not scheduled to a node that is not Ready: check kubelet and the network plugin "
          + "(systemctl status kubelet; journalctl -u kubelet)")
    }
    return Check(id: id, title: title, status: .pass, summary: "node \(node) is Ready")
  }

  /// `kubernetes.label`: `sriov=enabled` and the fact labels, as `label` would set them now.
  static func labels(_ facts: HostFacts, _ object: NodeObject?, _ target: ClusterTarget) -> Check {
    let id = "kubernetes.label"
    let title = "the node's SR-IOV labels"
    guard let object else {
      return Check(id: id, title: title, status: .skip, summary: "the node is not registered (see kubernetes.node)")
    }
    guard facts.inventory.malformed.isEmpty else {
      return Check(
        id: id, title: title, status: .skip,
        summary: "the labels sum over every PF, and \(facts.inventory.malformed.count) could not be read (see nic.sriov)")
    }
    let expected: [(LabelKey, LabelValue)]
    do {
      expected = try NodeLabeling.labels(for: facts.inventory, prefix: target.labelPrefix, extra: [])
    } catch {
      return Check(id: id, title: title, status: .skip, summary: "\(error)")
    }
    let current = object.metadata.labels ?? [:]
    let remedy = "sriovctl label --kubeconfig \(target.kubectl.kubeconfig ?? "FILE")"
      + (target.kubectl.context.map { " --context \($0)" } ?? "") + " --node \(target.node)"
      + (target.labelPrefix == "sriovctl.io/" ? "" : " --prefix \(target.labelPrefix)")
    let offers = NodeLabeling.offersVFs(facts.inventory)
    let enabled = current["sriov"]
    if offers && enabled != "enabled" {
      return Check(
        id: id, title: title, status: .fail,
        summary: "node \(target.node) has " + (enabled.map { "sriov=\($0)" } ?? "no sriov label")
          + ", but this host offers VFs: pods selecting sriov=enabled will not be scheduled here",
        remedy: remedy)
    }
    if !offers, let enabled {
      return Check(
        id: id, title: title, status: .fail,
        summary: "node \(target.node) has sriov=\(enabled), but no PF here offers VFs: pods would be scheduled here in vain",
        remedy: remedy + " (removes it)")
    }
    var differences: [String] = []
    for (key, value) in expected where key.description != "sriov" {
      switch current[key.description] {
      case nil: differences.append("\(key) is missing (\(value) here)")
      case let label? where label != value.description: differences.append("\(key) is \(label) (\(value) here)")
      default: break
      }
    }
    let managed = ["capable", "vfs", "total-vfs", "nic-vendor"].map { target.labelPrefix + $0 }
    for key in managed where current[key] != nil && !expected.contains(where: { $0.0.description == key }) {
      differences.append("\(key) is \(current[key]!) (none here)")
    }
    let head = offers ? "sriov=enabled" : "no sriov label (this host offers no VFs)"
    guard differences.isEmpty else {
      return Check(
        id: id, title: title, status: .warn,
        summary: "\(head), but \(differences.count) of the \(target.labelPrefix) labels differ from this host",
        remedy: remedy, details: differences)
    }
    return Check(
      id: id, title: title, status: .pass,
      summary: "\(head); the \(target.labelPrefix) labels are as this host is")
  }

  /// The device plugin pods on the node, and the `kubernetes.device-plugin` finding.
  struct PluginPods {
    var pods: [PodList.Pod]
    var check: Check
    var running: Bool { check.status == .pass || check.status == .warn }
  }

  static func pluginPods(_ target: ClusterTarget) -> PluginPods {
    let id = "kubernetes.device-plugin"
    let title = "that the device plugin runs on the node"
    let list: PodList
    do {
      list = try target.kubectl.get(
        PodList.self,
        ["pods", "--all-namespaces", "-l", ClusterTarget.pluginPodSelector, "--field-selector", "spec.nodeName=\(target.node)"])
    } catch {
      let forbidden = (error as? Kubectl.Failure).map(isForbidden) ?? false
      return PluginPods(
        pods: [],
        check: Check(
          id: id, title: title, status: .fail,
          summary: forbidden ? "the credentials may not list pods (RBAC)" : "the pods cannot be listed",
          remedy: forbidden ? "grant list on pods (all namespaces), or use a kubeconfig that may" : nil,
          details: ["\(error)"]))
    }
    guard !list.items.isEmpty else {
      return PluginPods(
        pods: [],
        check: Check(
          id: id, title: title, status: .fail,
          summary: "no device plugin pod on node \(target.node) (pods labelled app=sriovdp or app=sriov-device-plugin)",
          remedy: "deploy the device plugin DaemonSet, or see why it skips this node (its nodeSelector and "
            + "tolerations): kubectl get daemonset --all-namespaces -l 'app in (sriovdp,sriov-device-plugin)' -o wide"))
    }
    // The best pod decides (a DaemonSet has one per node; during a rollout two may show).
    let findings = list.items.map { pod -> (CheckStatus, String) in
      let phase = pod.status?.phase ?? "Unknown"
      let statuses = pod.status?.containerStatuses ?? []
      let restarts = statuses.reduce(0) { $0 + max(0, min($1.restartCount ?? 0, 1_000_000)) }
      if let waiting = statuses.lazy.compactMap({ $0.state?.waiting }).first(where: { $0.reason != nil && $0.reason != "ContainerCreating" }) {
        return (.fail, "\(pod.name) is \(phase), waiting: \(waiting.reason!)" + (waiting.message.map { " (\($0.prefix(160)))" } ?? ""))
      }
      guard phase == "Running" else {
        let why = [pod.status?.reason, pod.status?.message].compactMap { $0 }.joined(separator: ": ")
        return (.fail, "\(pod.name) is \(phase)" + (why.isEmpty ? "" : " (\(why.prefix(160)))"))
      }
      let ready = !statuses.isEmpty && statuses.allSatisfy(\.ready)
      let text = "\(pod.name) is Running" + (ready ? ", ready" : ", not ready") + (restarts > 0 ? ", \(restarts) restarts" : "")
      return (ready ? .pass : .warn, text)
    }
    let best = findings.min { a, b in a.0 < b.0 } ?? findings[0]
    let status = findings.contains { $0.0 == .pass } ? CheckStatus.pass : best.0
    let shown = findings.first { $0.0 == status } ?? best
    let pod = list.items[findings.firstIndex { $0 == shown } ?? 0]
    let namespace = pod.metadata.namespace ?? "NAMESPACE"
    return PluginPods(
      pods: list.items,
      check: Check(
        id: id, title: title, status: status, summary: shown.1,
        remedy: status == .pass
          ? nil : "see why: kubectl -n \(namespace) describe pod \(pod.metadata.name); kubectl -n \(namespace) logs \(pod.metadata.name)",
        details: findings.count > 1 ? findings.map(\.1) : []))
  }

  /// `kubernetes.device-plugin-config`: the ConfigMap's resources against this host's devices.
  static func pluginConfig(_ facts: HostFacts, _ target: ClusterTarget, defaultPrefix: String)
    -> (Check, [DevicePluginConfig.Assignment])
  {
    let id = "kubernetes.device-plugin-config"
    let title = "the device plugin's ConfigMap"
    let where_ = "\(target.configMapNamespace)/\(target.configMapName)"
    let vfs = facts.inventory.physicalFunctions.reduce(0) { $0 + $1.vfs.count }
    guard vfs > 0 else {
      return (
        Check(
          id: id, title: title, status: .skip, summary: "this host has no VFs for the device plugin to offer",
          remedy: "create VFs first: sriovctl create-vfs --pf PF --count N"), []
      )
    }
    let generate = "sriovctl device-plugin-config --namespace \(target.configMapNamespace) | kubectl apply -f -"
    let configMap: ConfigMapObject
    do {
      configMap = try target.kubectl.get(ConfigMapObject.self, ["configmap", target.configMapName, "-n", target.configMapNamespace])
    } catch let failure as Kubectl.Failure {
      if case .failed(_, _, .notFound) = failure {
        return (
          Check(
            id: id, title: title, status: .fail, summary: "there is no ConfigMap \(where_)",
            remedy: "create it from this host's VFs: \(generate)", details: [failure.description]), []
        )
      }
      return (
        Check(
          id: id, title: title, status: .fail,
          summary: isForbidden(failure) ? "the credentials may not read ConfigMap \(where_) (RBAC)" : "ConfigMap \(where_) cannot be read",
          remedy: isForbidden(failure) ? "grant get on configmaps in \(target.configMapNamespace)" : nil,
          details: [failure.description]), []
      )
    } catch {
      return (Check(id: id, title: title, status: .fail, summary: "ConfigMap \(where_) cannot be read: \(error)"), [])
    }
    // The plugin's own ConfigMap has config.json; the operator's has one entry per node.
    let key = configMap.data?["config.json"] != nil ? "config.json" : target.node.description
    guard let text = configMap.data?[key] else {
      return (
        Check(
          id: id, title: title, status: .fail, summary: "ConfigMap \(where_) has no config.json (nor an entry for node \(target.node))",
          remedy: "put the configuration under the key config.json: \(generate)"), []
      )
    }
    let resources: [DevicePluginConfig.ConfiguredResource]
    do {
      resources = try DevicePluginConfig.read(configJSON: text, defaultPrefix: defaultPrefix)
    } catch {
      return (
        Check(
          id: id, title: title, status: .fail, summary: "the device plugin would not start with \(where_): \(error)",
          remedy: "fix \(key), or regenerate it: \(generate)"), []
      )
    }
    let candidates = DevicePluginConfig.candidates(facts.inventory, root: facts.root)
    let assignments = DevicePluginConfig.assign(resources, candidates: candidates, defaultPrefix: defaultPrefix)
    var failures: [String] = []
    var warnings: [String] = []
    var details: [String] = []
    for assignment in assignments {
      let resource = assignment.resource
      let name = assignment.fullName
      if let reason = resource.skippedBecause {
        failures.append("\(name): the device plugin skips it: \(reason)")
        continue
      }
      guard resource.deviceType == "netDevice" else {
        details.append("\(name): deviceType \(resource.deviceType), not checked")
        continue
      }
      let unevaluated = Set(resource.selectors.flatMap(\.unevaluated)).sorted()
      let caveat = unevaluated.isEmpty ? "" : " (not evaluated: \(unevaluated.joined(separator: ", ")))"
      if !assignment.devices.isEmpty {
        let vfCount = assignment.devices.filter(\.isVF).count
        let others = assignment.devices.count - vfCount
        details.append(
          "\(name): \(vfCount) VF(s)" + (others > 0 ? " and \(others) other device(s)" : "") + " here" + caveat + ": "
            + assignment.devices.map(\.label).joined(separator: ", "))
      } else if DevicePluginConfig.targets(resource, candidates) || !assignment.takenEarlier.isEmpty {
        let why = DevicePluginConfig.whyNothing(assignment, candidates)
        failures.append("\(name) selects none of this host's devices: " + why.joined(separator: "; ") + caveat)
        if assignment.takenEarlier.isEmpty {
          details += DevicePluginConfig.fieldByField(resource, candidates).map { "\(name) \($0)" }
        }
      } else if let idle = idlePF(resource, facts.inventory) {
        warnings.append("\(name) selects \(idle), which has no VFs now" + caveat)
      } else {
        details.append("\(name): for other hardware (no device here has its vendors, devices, addresses or PF names)")
      }
    }
    let placed = Set(assignments.flatMap { $0.devices.filter(\.isVF).map(\.address) })
    let unplaced = candidates.filter { $0.isVF && !placed.contains($0.address) }
    if !unplaced.isEmpty {
      details.append("in no resource: " + unplaced.map(\.label).joined(separator: ", "))
    }
    guard failures.isEmpty else {
      return (
        Check(
          id: id, title: title, status: .fail,
          summary: failures.count == 1 ? failures[0] : "\(failures.count) resources of \(where_) are wrong for this host",
          remedy: "correct the selectors in \(where_) (the VFs' real values are named above), or regenerate it: \(generate); "
            + "then restart the device plugin pod",
          details: (failures.count > 1 ? failures : []) + warnings + details), assignments
      )
    }
    let serving = assignments.filter { !$0.devices.isEmpty }
    guard !serving.isEmpty else {
      return (
        Check(
          id: id, title: title, status: .fail,
          summary: "none of the \(resources.count) resources in \(where_) selects any of this host's \(vfs) VFs",
          remedy: "add a resource for them: \(generate)", details: details), assignments
      )
    }
    let summary = "\(where_): " + serving.map { "\($0.fullName) (\($0.devices.count))" }.joined(separator: ", ")
    guard warnings.isEmpty else {
      return (
        Check(
          id: id, title: title, status: .warn, summary: summary + "; " + warnings.joined(separator: "; "),
          remedy: "create the VFs (sriovctl create-vfs), or drop the resource from \(where_)", details: details),
        assignments
      )
    }
    return (Check(id: id, title: title, status: .pass, summary: summary, details: details), assignments)
  }

  /// A PF of this host without VFs that a resource names by `pfNames` or `rootDevices`.
  static func idlePF(_ resource: DevicePluginConfig.ConfiguredResource, _ inventory: Inventory) -> String? {
    for selectors in resource.selectors {
      let names = Set(selectors.pfNames.map { DevicePluginConfig.itemName($0).lowercased() })
      let addresses = Set(selectors.rootDevices.map { DevicePluginConfig.itemName($0).lowercased() })
      for pf in inventory.physicalFunctions where pf.vfs.isEmpty {
        if let name = pf.interfaces.first(where: { names.contains($0.lowercased()) }) { return name }
        if addresses.contains(pf.address.description) { return pf.address.description }
      }
    }
    return nil
  }

  /// `kubernetes.allocatable`: the node offers each resource with the devices that match it.
  static func allocatable(
    _ facts: HostFacts, _ object: NodeObject?, _ assignments: [DevicePluginConfig.Assignment], _ pods: PluginPods,
    _ target: ClusterTarget
  ) -> Check {
    let id = "kubernetes.allocatable"
    let title = "that the node offers the VFs to pods"
    guard let object else {
      return Check(id: id, title: title, status: .skip, summary: "the node is not registered (see kubernetes.node)")
    }
    let serving = assignments.filter { !$0.devices.isEmpty }
    guard !serving.isEmpty else {
      return Check(
        id: id, title: title, status: .skip, summary: "no resource of the device plugin takes this host's VFs (see kubernetes.device-plugin-config)")
    }
    let offered = object.status?.allocatable ?? [:]
    var missing: [String] = []
    var different: [String] = []
    var fine: [String] = []
    for assignment in serving {
      let expected = assignment.devices.count
      let name = assignment.fullName
      switch offered[name].map({ Int($0) }) {
      case nil, 0?:
        missing.append("\(name): " + (offered[name] == nil ? "not in allocatable" : "0 allocatable") + ", \(expected) here")
      case .some(nil):
        different.append("\(name): allocatable is '\(offered[name]!.prefix(40))', not a count; \(expected) here")
      case .some(let count?) where count != expected:
        different.append("\(name): \(count) allocatable, \(expected) here")
      default:
        fine.append("\(name): \(expected)")
      }
    }
    let pod = pods.pods.first
    let restart = pod.map { "kubectl -n \($0.metadata.namespace ?? "NAMESPACE") delete pod \($0.metadata.name)" }
      ?? "delete the device plugin pod on this node"
    let cause: String
    if !pods.running {
      cause = "no device plugin is running on the node (see kubernetes.device-plugin); start it"
    } else {
      cause = "the device plugin reads config.json and finds devices only when it starts: after changing the "
        + "ConfigMap or the VFs, restart it (\(restart)); if that does not help, read its log"
    }
    if !missing.isEmpty {
      return Check(
        id: id, title: title, status: .fail,
        summary: "node \(target.node) offers " + (missing.count == serving.count ? "none" : "not all") + " of the "
          + "resources that take this host's VFs: " + missing.joined(separator: "; "),
        remedy: cause, details: missing + different + fine)
    }
    if !different.isEmpty {
      return Check(
        id: id, title: title, status: .warn,
        summary: "node \(target.node) offers a different count than this host has: " + different.joined(separator: "; "),
        remedy: cause, details: different + fine)
    }
    return Check(id: id, title: title, status: .pass, summary: "node \(target.node) offers " + fine.joined(separator: ", "))
  }
}
