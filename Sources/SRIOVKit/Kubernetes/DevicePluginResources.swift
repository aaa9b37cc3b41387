import FoundationEssentials

/// A device plugin `config.json` read back, and which of this host's devices each of its
/// resources takes.
extension DevicePluginConfig {
  /// The prefix the plugin gives resources that name none (its `--resource-prefix` default).
  public static let pluginDefaultPrefix = "intel.com"

  /// One entry of `resourceList` as the plugin reads it.
  public struct ConfiguredResource: Sendable, Equatable {
    public var resourceName: String
    public var resourcePrefix: String?
    /// `netDevice` (the default), `accelerator` or `auxNetDevice`.
    public var deviceType: String
    /// Any of these selects a device (a single `selectors` object is one).
    public var selectors: [Selectors]
    /// Why the plugin skips this resource (it logs a warning and goes on), `nil` when it reads it.
    public var skippedBecause: String?

    /// `PREFIX/NAME`, as it appears in a node's allocatable resources.
    public func fullName(defaultPrefix: String) -> String {
      ((resourcePrefix?.isEmpty ?? true) ? defaultPrefix : resourcePrefix!) + "/" + resourceName
    }
  }

  /// A config.json the plugin would refuse as a whole: it then does not start.
  public enum ReadFailure: Error, Equatable, CustomStringConvertible {
    case notJSON(String)
    case malformed(String)
    case invalidName(String)
    case duplicateName(String)

    public var description: String {
      switch self {
      case .notJSON(let detail): return "config.json is not JSON (\(detail))"
      case .malformed(let detail): return "config.json is not a device plugin configuration: \(detail)"
      case .invalidName(let name):
        return "resource name '\(name)' has characters the device plugin refuses (it allows A-Z a-z 0-9 _ -)"
      case .duplicateName(let name): return "two resources are named '\(name)'; the device plugin refuses both"
      }
    }
  }

  /// Reads `config.json` as the plugin does, refusing what would stop the plugin from starting.
  public static func read(configJSON text: String, defaultPrefix: String = pluginDefaultPrefix) throws
    -> [ConfiguredResource]
  {
    let document: JSONValue
    do {
      document = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    } catch {
      throw ReadFailure.notJSON(Self.decodingProblem(error))
    }
    guard case .object(let top) = document else { throw ReadFailure.malformed("it is not a JSON object") }
    guard let list = top["resourceList"] else { throw ReadFailure.malformed("it has no resourceList") }
    guard case .array(let entries) = list else { throw ReadFailure.malformed("resourceList is not a list") }
    var resources: [ConfiguredResource] = []
    var names = Set<String>()
    for (position, entry) in entries.enumerated() {
      guard case .object(let fields) = entry else { throw ReadFailure.malformed("resourceList[\(position)] is not an object") }
      func string(_ key: String) throws -> String? {
        switch fields[key] {
        case nil, .null: return nil
        case .string(let value): return value
        default: throw ReadFailure.malformed("resourceList[\(position)].\(key) is not a string")
        }
      }
      let name = try string("resourceName") ?? ""
      var resource = ConfiguredResource(
        resourceName: name, resourcePrefix: try string("resourcePrefix"),
        deviceType: try string("deviceType").flatMap { $0.isEmpty ? nil : $0 } ?? "netDevice", selectors: [])
      guard ["netDevice", "accelerator", "auxNetDevice"].contains(resource.deviceType) else {
        throw ReadFailure.malformed("resourceList[\(position)].deviceType '\(resource.deviceType)' is not one the plugin knows")
      }
      guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") })
      else { throw ReadFailure.invalidName(name) }
      let fullName = resource.fullName(defaultPrefix: defaultPrefix)
      guard names.insert(fullName).inserted else { throw ReadFailure.duplicateName(fullName) }
      switch fields["selectors"] {
      case nil, .null:
        resource.skippedBecause = "it has no selectors"
      case .object(let object):
        switch Self.selectors(object) {
        case .success(let selectors): resource.selectors = [selectors]
        case .failure(let problem): resource.skippedBecause = problem.text
        }
      case .array(let objects) where !objects.isEmpty:
        for object in objects {
          guard case .object(let fields) = object else {
            resource.skippedBecause = "its selectors list holds something that is not an object"
            break
          }
          switch Self.selectors(fields) {
          case .success(let selectors): resource.selectors.append(selectors)
          case .failure(let problem): resource.skippedBecause = problem.text
          }
        }
      default:
        resource.skippedBecause = "its selectors are neither an object nor a non-empty list of objects"
      }
      if resource.skippedBecause != nil { resource.selectors = [] }
      resources.append(resource)
    }
    return resources
  }

  struct SelectorProblem: Error { var text: String }

  /// One selectors object; a list of the wrong type makes the plugin skip the resource.
  static func selectors(_ fields: [String: JSONValue]) -> Result<Selectors, SelectorProblem> {
    var selectors = Selectors()
    let lists: [(String, WritableKeyPath<Selectors, [String]>)] = [
      ("vendors", \.vendors), ("devices", \.devices), ("drivers", \.drivers), ("pciAddresses", \.pciAddresses),
      ("pfNames", \.pfNames), ("rootDevices", \.rootDevices),
    ]
    for (key, path) in lists {
      switch fields[key] {
      case nil, .null: continue
      case .array(let items):
        var values: [String] = []
        for item in items {
          guard case .string(let value) = item else { return .failure(.init(text: "selectors.\(key) is not a list of strings")) }
          values.append(value)
        }
        selectors[keyPath: path] = values
      default:
        return .failure(.init(text: "selectors.\(key) is not a list of strings"))
      }
    }
    switch fields["needVhostNet"] {
    case nil, .null: break
    case .bool(let value): selectors.needVhostNet = value
    default: return .failure(.init(text: "selectors.needVhostNet is not true or false"))
    }
    let evaluated = Set(lists.map(\.0) + ["needVhostNet"])
    selectors.unevaluated = fields.filter { key, value in
      guard !evaluated.contains(key) else { return false }
      switch value {
      case .null, .bool(false): return false
      case .array(let items): return !items.isEmpty
      case .string(let text): return !text.isEmpty
      default: return true
      }
    }.keys.sorted()
    return .success(selectors)
  }

  /// Which devices each resource takes, in `resourceList` order: a device goes to the first
  /// resource that selects it.
  public struct Assignment: Sendable, Equatable {
    public var resource: ConfiguredResource
    public var fullName: String
    /// The devices it gets.
    public var devices: [Candidate]
    /// Devices its selectors take that an earlier resource already got, with that resource's name.
    public var takenEarlier: [(Candidate, String)]

    public static func == (a: Assignment, b: Assignment) -> Bool {
      a.resource == b.resource && a.fullName == b.fullName && a.devices == b.devices
        && a.takenEarlier.map { "\($0.0.address) \($0.1)" } == b.takenEarlier.map { "\($0.0.address) \($0.1)" }
    }
  }

  /// Assigns `candidates` to the `netDevice` resources as the plugin does.
  public static func assign(
    _ resources: [ConfiguredResource], candidates: [Candidate], defaultPrefix: String = pluginDefaultPrefix
  ) -> [Assignment] {
    var owner: [PCIAddress: String] = [:]
    return resources.map { resource in
      let fullName = resource.fullName(defaultPrefix: defaultPrefix)
      var assignment = Assignment(resource: resource, fullName: fullName, devices: [], takenEarlier: [])
      guard resource.deviceType == "netDevice" else { return assignment }
      for selectors in resource.selectors {
        for candidate in selected(by: selectors, from: candidates) {
          if let earlier = owner[candidate.address] {
            if earlier != fullName { assignment.takenEarlier.append((candidate, earlier)) }
          } else {
            owner[candidate.address] = fullName
            assignment.devices.append(candidate)
          }
        }
      }
      return assignment
    }
  }

  /// Whether the resource is meant for hardware this host has: some device passes its vendor,
  /// device, address and PF-name selectors, whatever its driver and VF index.
  public static func targets(_ resource: ConfiguredResource, _ candidates: [Candidate]) -> Bool {
    resource.deviceType == "netDevice"
      && resource.selectors.contains { selectors in
        !(steps(selectors, candidates, identityOnly: true).last?.survivors ?? candidates).isEmpty
      }
  }

  /// Why a resource meant for this host's hardware selects none of its devices, field by field:
  /// the first selector that leaves nothing, and what the devices before it really have.
  public static func whyNothing(_ assignment: Assignment, _ candidates: [Candidate]) -> [String] {
    if !assignment.takenEarlier.isEmpty {
      let owners = Array(Set(assignment.takenEarlier.map(\.1))).sorted().joined(separator: ", ")
      return [
        "the \(assignment.takenEarlier.count) device(s) it selects were all given to \(owners), listed earlier "
          + "(the device plugin gives a device to the first resource that selects it)"
      ]
    }
    return assignment.resource.selectors.compactMap { selectors in
      guard let step = steps(selectors, candidates).first(where: { $0.survivors.isEmpty }) else { return nil }
      let count = step.before.count
      let what = count == candidates.count ? "none of the \(count) devices" : "none of the \(count) devices selected so far"
      return "\(step.key) \(step.valuesText): \(what) match; they have " + actual(step.key, step.before)
    }
  }

  /// Every selector of a resource in the plugin's order, with how many devices pass it:
  /// `vendors [8086]: 6 of 6 pass`, then `drivers [i40evf]: 0 of 4 pass; they have driver iavf (4)`.
  /// Selectors after the first that leaves nothing are not reached, and are said to be so.
  public static func fieldByField(_ resource: ConfiguredResource, _ candidates: [Candidate]) -> [String] {
    var lines: [String] = []
    for (index, selectors) in resource.selectors.enumerated() {
      let prefix = resource.selectors.count > 1 ? "selectors[\(index)] " : ""
      for step in steps(selectors, candidates) {
        guard !step.before.isEmpty else {
          lines.append("\(prefix)\(step.key) \(step.valuesText): not reached")
          continue
        }
        var line = "\(prefix)\(step.key) \(step.valuesText): \(step.survivors.count) of \(step.before.count) pass"
        if step.survivors.isEmpty { line += "; they have " + actual(step.key, step.before) }
        lines.append(line)
      }
      if !selectors.unevaluated.isEmpty {
        lines.append("\(prefix)" + selectors.unevaluated.joined(separator: ", ") + ": not evaluated")
      }
    }
    return lines
  }

  /// What devices really have for a selector key: `driver iavf (4)`.
  static func actual(_ key: String, _ devices: [Candidate]) -> String {
    func counted(_ noun: String, _ values: [String]) -> String {
      let counts = Dictionary(grouping: values, by: { $0 }).mapValues(\.count)
      return noun + " " + counts.keys.sorted().map { "\($0) (\(counts[$0]!))" }.joined(separator: ", ")
    }
    switch key {
    case "vendors": return counted("vendor", devices.map(\.vendor))
    case "devices": return counted("device", devices.map(\.device))
    case "drivers":
      return counted("driver", devices.map { $0.driver ?? "none bound" })
    case "pciAddresses": return "addresses " + devices.map(\.address.description).joined(separator: ", ")
    case "pfNames":
      return counted("PF", devices.map { candidate in
        candidate.pfName.map { name in candidate.vfIndex.map { "\(name)#\($0)" } ?? name } ?? "none (not a VF)"
      })
    default:
      return counted("PF address", devices.map { candidate in
        candidate.rootDevice.map { address in candidate.vfIndex.map { "\(address)#\($0)" } ?? address } ?? "none (not a VF)"
      })
    }
  }

  static func decodingProblem(_ error: Error) -> String {
    if case DecodingError.dataCorrupted(let context) = error {
      return (context.underlyingError.map { "\($0)" } ?? context.debugDescription).prefix(160).description
    }
    return "\(error)".prefix(160).description
  }
}

/// Any JSON value, for documents whose shape is checked by hand.
enum JSONValue: Decodable, Equatable, Sendable {
  case null
  case bool(Bool)
  case number(Double)
  case string(String)
  case array([JSONValue])
  case object([String: JSONValue])

  init(from decoder: Decoder) throws {
    let container = try decoder.singleValueContainer()
    if container.decodeNil() {
      self = .null
    } else if let value = try? container.decode(Bool.self) {
      self = .bool(value)
    } else if let value = try? container.decode(Double.self) {
      self = .number(value)
    } else if let value = try? container.decode(String.self) {
      self = .string(value)
    } else if let value = try? container.decode([JSONValue].self) {
      self = .array(value)
    } else {
      self = .object(try container.decode([String: JSONValue].self))
    }
  }
}
