/// The node file matched against this host: for each PF some policy selects, what it should be.
public struct NodeTargets: Sendable, Equatable {
  public var pfs: [PFTarget]
  /// Policies that select no PF here (not an error: one file serves different machines).
  public var unmatched: [String]
  /// What the plan should mention: policies set aside by priority, MTUs merged, selectors not
  /// evaluated.
  public var notes: [String]
}

/// One PF and the request the policies that select it add up to.
public struct PFTarget: Sendable, Equatable {
  public var pf: PhysicalFunction
  public var request: VFRequest
  /// The policies applied, with the VFs each took, in priority order.
  public var resources: [PolicyResource]
}

/// A policy's share of one PF: the VFs it took and the device plugin resource they form.
public struct PolicyResource: Sendable, Equatable {
  public var policy: String
  public var resourceName: String
  public var vfs: ClosedRange<Int>
  public var deviceType: VFDriver
  public var needVhostNet: Bool
  public var excludeTopology: Bool
}

extension NodeConfig {
  /// Matches every policy against the PFs of `root` and merges, per PF, the policies that
  /// select it, with the operator's rules: the lower `priority` wins VFs two policies claim
  /// (the other policy is not applied to that PF), equal priorities claiming the same VFs are an
  /// error, every policy on a PF must ask for the same `numVfs`, and the PF gets the largest MTU.
  ///
  /// - Throws: ``NodeConfigError`` at the policy that conflicts.
  public func resolve(root: HostRoot) throws -> NodeTargets {
    try resolve(inventory: try Inventory.discover(root: root))
  }

  /// ``resolve(root:)`` against a given inventory.
  public func resolve(inventory: Inventory) throws -> NodeTargets {
    var notes = self.notes
    var unmatched: [String] = []
    var claims: [PCIAddress: [(policy: NodePolicy, vfs: ClosedRange<Int>?)]] = [:]
    for policy in policies {
      var matched = false
      for pf in inventory.physicalFunctions {
        guard let ranges = policy.selects(pf) else { continue }
        matched = true
        claims[pf.address, default: []] += ranges.isEmpty ? [(policy, nil)] : ranges.map { (policy, $0) }
      }
      if !matched { unmatched.append(policy.name) }
    }
    var targets: [PFTarget] = []
    for pf in inventory.physicalFunctions {
      guard let pfClaims = claims[pf.address] else { continue }
      let where_ = "\(pf.address)" + (pf.interfaces.first.map { " (\($0))" } ?? "")
      // Every policy on one PF must agree on the count: the kernel has one sriov_numvfs.
      let first = pfClaims[0].policy
      if let other = pfClaims.first(where: { $0.policy.numVfs != first.numVfs })?.policy {
        throw NodeConfigError(
          file: file, position: other.numVfsPosition,
          message: "policies '\(first.name)' and '\(other.name)' both select \(where_) with different numVfs (\(first.numVfs) and \(other.numVfs))")
      }
      let count = first.numVfs
      // Lower priority numbers first; the file's order breaks ties.
      let ordered = pfClaims.enumerated().sorted {
        ($0.element.policy.priority, $0.offset) < ($1.element.policy.priority, $1.offset)
      }.map(\.element)
      var kept: [(policy: NodePolicy, vfs: ClosedRange<Int>)] = []
      var dropped: Set<String> = []
      for claim in ordered where !dropped.contains(claim.policy.name) {
        guard count > 0 else {
          kept.append((claim.policy, 0...0))
          continue
        }
        let vfs = claim.vfs ?? 0...(count - 1)
        if let winner = kept.first(where: { $0.policy.name != claim.policy.name && $0.vfs.overlaps(vfs) }) {
          if winner.policy.priority == claim.policy.priority {
            throw NodeConfigError(
              file: file, position: claim.policy.position,
              message: "policies '\(winner.policy.name)' and '\(claim.policy.name)' claim the same VFs of \(where_) with the same priority \(claim.policy.priority); give one a lower priority number or split the VF ranges")
          }
          dropped.insert(claim.policy.name)
          kept.removeAll { $0.policy.name == claim.policy.name }
          notes.append(
            "\(claim.policy.name) (priority \(claim.policy.priority)) is not applied to \(where_): its VFs overlap those of \(winner.policy.name) (priority \(winner.policy.priority))")
          continue
        }
        kept.append((claim.policy, vfs))
      }
      var request = VFRequest(pf: .address(pf.address), count: count)
      var resources: [PolicyResource] = []
      for (policy, vfs) in kept {
        if !request.policies.contains(policy.name) { request.policies.append(policy.name) }
        guard count > 0 else { continue }
        resources.append(
          PolicyResource(
            policy: policy.name, resourceName: policy.resourceName, vfs: vfs, deviceType: policy.deviceType,
            needVhostNet: policy.needVhostNet, excludeTopology: policy.excludeTopology))
        for index in vfs {
          request.drivers.byIndex[index] = policy.deviceType
          for (setting, wanted) in policy.settings { request[setting].byIndex[index] = wanted }
        }
      }
      let mtus = Set(kept.compactMap(\.policy.mtu))
      if let mtu = mtus.max() {
        request.mtu = mtu
        if mtus.count > 1 { notes.append("\(where_): the policies ask for MTUs \(mtus.sorted().map(String.init).joined(separator: ", ")); the largest, \(mtu), is set") }
      }
      do {
        try request.validate()
      } catch {
        throw NodeConfigError(file: file, position: kept.first?.policy.position, message: "\(where_): \(error)")
      }
      targets.append(PFTarget(pf: pf, request: request, resources: resources))
    }
    return NodeTargets(pfs: targets, unmatched: unmatched, notes: notes)
  }
}

extension NodePolicy {
  /// The VF ranges the policy selects on `pf` (empty: every VF), or `nil` when it does not
  /// select it. Every selector field given must match.
  func selects(_ pf: PhysicalFunction) -> [ClosedRange<Int>]? {
    if !rootDevices.isEmpty && !rootDevices.contains(pf.address) { return nil }
    if let vendor, vendor != pf.vendorID.pciID { return nil }
    if let deviceID, deviceID != pf.deviceID.pciID { return nil }
    guard !pfNames.isEmpty else { return [] }
    let mine = pfNames.filter { if case .interface(let name) = $0.pf { return pf.interfaces.contains(name.description) } else { return false } }
    guard !mine.isEmpty else { return nil }
    // A name without a range takes every VF.
    if mine.contains(where: { $0.ranges.isEmpty }) { return [] }
    return mine.flatMap(\.ranges)
  }
}
