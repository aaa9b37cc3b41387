import FoundationEssentials
import Glibc

/// A Kubernetes label key, `[prefix/]name`: the prefix a DNS subdomain of at most 253
/// characters, the name at most 63 characters of `[A-Za-z0-9_.-]` starting and ending with an
/// alphanumeric (k8s.io/apimachinery validation.IsQualifiedName).
public struct LabelKey: Hashable, Sendable, Comparable, CustomStringConvertible {
  public let description: String

  public init?(_ text: String) {
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    switch parts.count {
    case 1:
      guard LabelKey.isName(parts[0]) else { return nil }
    case 2:
      guard LabelKey.isSubdomain(parts[0]), LabelKey.isName(parts[1]) else { return nil }
    default:
      return nil
    }
    description = text
  }

  public static func isName(_ text: Substring) -> Bool {
    guard (1...63).contains(text.count), let first = text.first, let last = text.last,
      first.isASCII && (first.isLetter || first.isNumber), last.isASCII && (last.isLetter || last.isNumber)
    else { return false }
    return text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
  }

  /// A namespace name as `device-plugin-config --namespace` and `check --device-plugin-config`
  /// take it: a label name in lowercase, without dots.
  public static func isNamespace(_ text: Substring) -> Bool {
    isName(text) && text == text.lowercased() && !text.contains(".")
  }

  public static func isSubdomain(_ text: Substring) -> Bool {
    guard (1...253).contains(text.count) else { return false }
    return text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
      guard (1...63).contains(label.count), let first = label.first, let last = label.last else { return false }
      let isAlnum: (Character) -> Bool = { $0.isASCII && ($0.isLowercase || $0.isNumber) }
      return isAlnum(first) && isAlnum(last) && label.allSatisfy { isAlnum($0) || $0 == "-" }
    }
  }

  public static func < (a: LabelKey, b: LabelKey) -> Bool { a.description < b.description }
}

/// A Kubernetes label value: empty, or at most 63 characters of `[A-Za-z0-9_.-]` starting and
/// ending with an alphanumeric.
public struct LabelValue: Hashable, Sendable, CustomStringConvertible {
  public let description: String

  public init?(_ text: String) {
    guard text.isEmpty || LabelKey.isName(Substring(text)) else { return nil }
    description = text
  }
}

/// A Kubernetes node name: a DNS subdomain.
public struct NodeName: Hashable, Sendable, CustomStringConvertible {
  public let description: String

  public init?(_ text: String) {
    guard LabelKey.isSubdomain(Substring(text)) else { return nil }
    description = text
  }

  /// The name kubelet registers for the host beneath `root`: its host name, lowercased
  /// (`gethostname` on the live host, `/etc/hostname` in an image).
  public static func ofHost(_ root: HostRoot) throws -> NodeName {
    var hostname: String?
    if root.isLive {
      var buffer = [CChar](repeating: 0, count: 256)
      if gethostname(&buffer, buffer.count) == 0 { hostname = String(cString: buffer) }
    } else {
      hostname = try root.readAttribute("/etc/hostname")
    }
    guard let hostname, let name = NodeName(hostname.lowercased()) else { throw NodeLabeling.Failure.noNodeName }
    return name
  }
}

/// `sriovctl label`: the node's SR-IOV labels, set or removed through kubectl.
public struct NodeLabeling: Sendable {
  /// How kubectl is reached.
  public typealias Kubectl = SRIOVKit.Kubectl

  /// What was done, or would be.
  public struct Result: Sendable, Equatable, JSONRepresentable {
    public var node: String
    public var changed: Bool
    public var dryRun: Bool
    /// The kubectl command that changed (or would change) the labels; `nil` when nothing had to.
    public var command: [String]?
    /// The labels this command manages and their values (removed ones are absent).
    public var labels: [(LabelKey, LabelValue)]
    public var removed: [LabelKey]

    public static func == (a: Result, b: Result) -> Bool {
      a.node == b.node && a.changed == b.changed && a.command == b.command && a.removed == b.removed
        && a.labels.map { "\($0.0)=\($0.1)" } == b.labels.map { "\($0.0)=\($0.1)" }
    }

    public var json: JSON {
      .object([
        ("node", .string(node)),
        ("changed", .bool(changed)),
        ("dry_run", .bool(dryRun)),
        ("command", command.map { .array($0.map(JSON.string)) } ?? .null),
        ("labels", .object(labels.map { ($0.0.description, .string($0.1.description)) })),
        ("removed", .array(removed.map { .string($0.description) })),
      ])
    }
  }

  /// A kubectl failure, in kubectl's own words with what it means.
  public enum Failure: Error, Equatable, CustomStringConvertible {
    case kubectlMissing(String)
    case kubectl(command: [String], message: String, meaning: String?)
    case unreadable(String)
    case invalidPrefix(String)
    case noNodeName
    /// A fact of the host that cannot be a label (a count the inventory should have refused).
    case invalidFact(String, String)

    public var description: String {
      switch self {
      case .kubectlMissing(let path):
        return "kubectl was not found (\(path)): install it or name it with --kubectl PATH"
      case .kubectl(let command, let message, let meaning):
        return (meaning.map { "\($0): " } ?? "") + "\(command.joined(separator: " ")): \(message)"
      case .unreadable(let output):
        return "kubectl printed a node sriovctl cannot read: \(output.prefix(200))"
      case .invalidPrefix(let prefix):
        return "--prefix '\(prefix)' is not a label prefix (a DNS subdomain followed by '/', like sriovctl.io/)"
      case .noNodeName:
        return "this host's name is not a valid node name; give it with --node"
      case .invalidFact(let key, let value):
        return "the host's \(key) is '\(value)', which is not a label value; see 'sriovctl list'"
      }
    }
  }

  public var kubectl: Kubectl
  public var node: NodeName
  public var labels: [(LabelKey, LabelValue)]
  /// Labels this command manages that the host's facts do not support (`sriov` on a host whose
  /// PFs offer no VFs): removed when present, so that a stale claim is withdrawn.
  public var withdrawn: [LabelKey]

  public init(kubectl: Kubectl, node: NodeName, labels: [(LabelKey, LabelValue)], withdrawn: [LabelKey] = []) {
    self.kubectl = kubectl
    self.node = node
    self.labels = labels
    self.withdrawn = withdrawn.filter { key in !labels.contains { $0.0 == key } }
  }

  /// The label that says SR-IOV VFs can be had here; what node selectors match on.
  static let enabledKey = LabelKey("sriov")!

  /// Whether the host can claim `sriov=enabled`: at least one PF offers VFs (sriov_totalvfs > 0).
  /// A PF whose firmware has SR-IOV off, or no PF at all, offers nothing to schedule on.
  public static func offersVFs(_ inventory: Inventory) -> Bool {
    inventory.physicalFunctions.contains { $0.totalVFs > 0 }
  }

  /// The managed labels the host's facts do not support, to be removed when present.
  public static func withdrawnLabels(for inventory: Inventory) -> [LabelKey] {
    offersVFs(inventory) ? [] : [enabledKey]
  }

  /// Checks a fact-label prefix: a DNS subdomain followed by `/`, like `sriovctl.io/`.
  public static func checkPrefix(_ prefix: String) throws {
    guard prefix.hasSuffix("/"), LabelKey.isSubdomain(prefix.dropLast()) else { throw Failure.invalidPrefix(prefix) }
  }

  /// The labels describing the host beneath `root`: `sriov=enabled` when a PF offers VFs, and under `prefix`
  /// `capable`, the VF count, the total and the NIC vendors, plus `extra`.
  public static func labels(
    for inventory: Inventory, prefix: String, extra: [(LabelKey, LabelValue)]
  ) throws -> [(LabelKey, LabelValue)] {
    try checkPrefix(prefix)
    let pfs = inventory.physicalFunctions
    let vendors = Set(pfs.map(\.vendorID.pciID)).sorted().joined(separator: "_")
    // sriov=enabled is what workloads select nodes by: claimed only when a PF offers VFs.
    var facts: [(String, String)] = offersVFs(inventory) ? [(enabledKey.description, "enabled")] : []
    facts += [
      (prefix + "capable", offersVFs(inventory) ? "true" : "false"),
      (prefix + "vfs", String(pfs.reduce(0) { $0 + $1.numVFs })),
      (prefix + "total-vfs", String(pfs.reduce(0) { $0 + $1.totalVFs })),
    ]
    if !vendors.isEmpty { facts.append((prefix + "nic-vendor", vendors)) }
    // Counts come from validated sysfs values; a label that still cannot be formed is an error,
    // never a trap.
    var result: [(LabelKey, LabelValue)] = []
    for (key, value) in facts {
      guard let labelKey = LabelKey(key), let labelValue = LabelValue(value) else {
        throw Failure.invalidFact(key, value)
      }
      result.append((labelKey, labelValue))
    }
    for (key, value) in extra {
      result.removeAll { $0.0 == key }
      result.append((key, value))
    }
    return result
  }

  /// The node's labels now (`kubectl get node NODE -o json`).
  public func currentLabels() throws -> [String: String] {
    let output = try run(["get", "node", node.description, "-o", "json"])
    struct Node: Decodable {
      struct Metadata: Decodable { var labels: [String: String]? }
      var metadata: Metadata
    }
    guard let decoded = try? JSONDecoder().decode(Node.self, from: Data(output.utf8)) else {
      throw Failure.unreadable(output)
    }
    return decoded.metadata.labels ?? [:]
  }

  /// Sets the labels that differ (`kubectl label node NODE K=V ... --overwrite`), or with
  /// `remove` deletes those present (`K-`).
  public func apply(remove: Bool, dryRun: Bool) throws -> Result {
    let current = try currentLabels()
    var arguments: [String] = []
    var removed: [LabelKey] = []
    if remove {
      for key in labels.map(\.0) + withdrawn where current[key.description] != nil {
        arguments.append("\(key)-")
        removed.append(key)
      }
    } else {
      for (key, value) in labels where current[key.description] != value.description {
        arguments.append("\(key)=\(value)")
      }
      for key in withdrawn where current[key.description] != nil {
        arguments.append("\(key)-")
        removed.append(key)
      }
    }
    let kept = remove ? [] : labels
    guard !arguments.isEmpty else {
      return Result(node: node.description, changed: false, dryRun: dryRun, command: nil, labels: kept, removed: [])
    }
    let labelArguments = ["label", "node", node.description] + arguments + (remove ? [] : ["--overwrite"])
    let command = kubectl.command(labelArguments)
    if !dryRun { _ = try run(labelArguments) }
    return Result(node: node.description, changed: true, dryRun: dryRun, command: command, labels: kept, removed: removed)
  }

  /// Runs kubectl, its failures said in terms of the node.
  private func run(_ arguments: [String]) throws -> String {
    do {
      return try kubectl.run(arguments)
    } catch Kubectl.Failure.missing(let path) {
      throw Failure.kubectlMissing(path)
    } catch Kubectl.Failure.failed(let command, let message, let meaning) {
      throw Failure.kubectl(command: command, message: message, meaning: NodeLabeling.meaning(meaning))
    }
  }

  /// What kubectl's error means for a command on one node.
  static func meaning(_ meaning: Kubectl.Failure.Meaning?) -> String? {
    switch meaning {
    case .notFound: return "the node is not registered in the cluster (check --node)"
    case .forbidden: return "the credentials may not read or label nodes (RBAC)"
    case let meaning?: return meaning.text
    case nil: return nil
    }
  }
}
