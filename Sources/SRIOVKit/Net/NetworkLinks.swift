import CNetlinkRoute
import Glibc

/// A VF's link state as its PF's driver enforces it (`ip link set PF vf N state ...`).
public enum VFLinkState: String, Sendable, Equatable, CaseIterable {
  /// Follows the PF's link.
  case auto
  case enable
  case disable

  init?(kernel value: UInt32) {
    switch Int32(value) {
    case Int32(IFLA_VF_LINK_STATE_AUTO): self = .auto
    case Int32(IFLA_VF_LINK_STATE_ENABLE): self = .enable
    case Int32(IFLA_VF_LINK_STATE_DISABLE): self = .disable
    default: return nil
    }
  }

  var kernelValue: UInt32 {
    switch self {
    case .auto: return UInt32(IFLA_VF_LINK_STATE_AUTO)
    case .enable: return UInt32(IFLA_VF_LINK_STATE_ENABLE)
    case .disable: return UInt32(IFLA_VF_LINK_STATE_DISABLE)
    }
  }
}

/// One VF's settings as the PF reports them in `IFLA_VFINFO_LIST` (the `vf N` lines of
/// `ip link show PF`). `nil` where the driver does not report a setting.
public struct VFLinkSettings: Sendable, Equatable {
  public var index: Int
  public var mac: MACAddress?
  /// 0 for no VLAN.
  public var vlan: Int
  public var trust: Bool?
  public var spoofCheck: Bool?
  public var linkState: VFLinkState?
  /// Mbps; 0 for no limit.
  public var maxTxRate: Int?

  public init(
    index: Int, mac: MACAddress? = nil, vlan: Int = 0, trust: Bool? = nil, spoofCheck: Bool? = nil,
    linkState: VFLinkState? = nil, maxTxRate: Int? = nil
  ) {
    self.index = index
    self.mac = mac
    self.vlan = vlan
    self.trust = trust
    self.spoofCheck = spoofCheck
    self.linkState = linkState
    self.maxTxRate = maxTxRate
  }
}

/// A network interface as rtnetlink reports it.
public struct NetworkLink: Sendable, Equatable {
  public var name: String
  public var index: Int32
  public var isUp: Bool
  public var mtu: Int
  /// The VFs' settings, by VF index; empty for a link without VFs.
  public var vfs: [VFLinkSettings]
}

/// A change to one VF (`ip link set PF vf N ...`); one setting per request, so an error names it.
public enum VFLinkChange: Sendable, Hashable, CustomStringConvertible {
  case mac(MACAddress)
  case vlan(Int)
  case trust(Bool)
  case spoofCheck(Bool)
  case linkState(VFLinkState)
  case maxTxRate(Int)

  /// As `ip link set PF vf N` writes it: `vlan 100`, `state auto`.
  public var description: String { "\(setting.ipLinkKeyword) \(valueText)" }
}

/// rtnetlink through libnl-route-3: links, VF settings, addresses. This is the only file that
/// talks to libnl. Each operation's doc names the `ip` command it is equivalent to.
public final class NetworkLinks {
  /// A failed netlink operation.
  public struct Error: Swift.Error, Equatable, CustomStringConvertible {
    public var operation: String
    public var message: String
    /// libnl's error code (`NLE_*`), where the failure came from libnl or the kernel.
    public var code: Int32? = nil
    public var description: String { "\(operation): \(message)" }

    /// The kernel's driver does not implement the operation (EOPNOTSUPP).
    public var isUnsupported: Bool { code.map { -abs($0) == -NLE_OPNOTSUPP } ?? false }
  }

  private let socket: OpaquePointer

  public init() throws {
    guard let socket = nl_socket_alloc() else {
      throw Error(operation: "netlink", message: "cannot allocate a socket")
    }
    let connected = nl_connect(socket, NETLINK_ROUTE)
    guard connected >= 0 else {
      nl_socket_free(socket)
      throw Error(operation: "netlink", message: NetworkLinks.describe(connected))
    }
    self.socket = socket
  }

  deinit {
    nl_socket_free(socket)
  }

  /// A value narrowed to the `__u32` a netlink attribute carries; out of range is an error, never
  /// a trap (callers validate first; this is the last check before the kernel ABI).
  static func kernelU32(_ value: Int, _ operation: String) throws -> UInt32 {
    guard let narrowed = UInt32(exactly: value) else {
      throw Error(operation: operation, message: "\(value) is out of the kernel's range (0 to \(UInt32.max))")
    }
    return narrowed
  }

  static func describe(_ code: Int32) -> String {
    String(cString: nl_geterror(code))
  }

  /// `ip -d link show dev NAME`: the link with its VFs' settings, by ifindex (a name can change
  /// under udev while sriovctl runs; the index cannot).
  public func link(ifindex: Int32) throws -> NetworkLink {
    let link = try fetch(ifindex)
    defer { rtnl_link_put(link) }
    var count: UInt32 = 0
    var vfs: [VFLinkSettings] = []
    if rtnl_link_get_num_vf(link, &count) == 0 {
      for index in 0..<count {
        guard let vf = rtnl_link_vf_get(link, index) else { continue }
        defer { rtnl_link_vf_put(vf) }
        vfs.append(settings(of: vf, index: Int(index)))
      }
    }
    return NetworkLink(
      name: NetworkLinks.name(of: link, ifindex: ifindex), index: ifindex,
      isUp: rtnl_link_get_flags(link) & UInt32(IFF_UP) != 0,
      mtu: Int(rtnl_link_get_mtu(link)), vfs: vfs)
  }

  private func fetch(_ ifindex: Int32) throws -> OpaquePointer {
    guard ifindex > 0 else {
      throw Error(operation: "reading the link with ifindex \(ifindex)", message: "not an interface index")
    }
    var link: OpaquePointer?
    let result = rtnl_link_get_kernel(socket, ifindex, nil, &link)
    guard result >= 0, let link else {
      throw Error(operation: "reading the link with ifindex \(ifindex)", message: NetworkLinks.describe(result))
    }
    return link
  }

  /// The link's name as the kernel reported it just now: for messages only.
  private static func name(of link: OpaquePointer, ifindex: Int32) -> String {
    rtnl_link_get_name(link).map { String(cString: $0) } ?? "ifindex \(ifindex)"
  }

  private func settings(of vf: OpaquePointer, index: Int) -> VFLinkSettings {
    var result = VFLinkSettings(index: index, mac: nil, vlan: 0)
    var address: OpaquePointer?
    if rtnl_link_vf_get_addr(vf, &address) == 0, let address,
      let raw = nl_addr_get_binary_addr(address)
    {
      let length = Int(nl_addr_get_len(address))
      result.mac = MACAddress(
        bytes: Array(UnsafeRawBufferPointer(start: raw, count: min(length, 6))))
    }
    var vlans: UnsafeMutablePointer<nl_vf_vlans_t>?
    if rtnl_link_vf_get_vlans(vf, &vlans) == 0, let vlans, vlans.pointee.size > 0 {
      result.vlan = Int(vlans.pointee.vlans[0].vf_vlan)
      rtnl_link_vf_vlan_put(vlans)
    }
    var value: UInt32 = 0
    if rtnl_link_vf_get_trust(vf, &value) == 0 { result.trust = value == 1 }
    // Drivers that cannot check report UINT32_MAX.
    if rtnl_link_vf_get_spoofchk(vf, &value) == 0, value <= 1 { result.spoofCheck = value == 1 }
    if rtnl_link_vf_get_linkstate(vf, &value) == 0 { result.linkState = VFLinkState(kernel: value) }
    var rate = nl_vf_rate()
    if rtnl_link_vf_get_rate(vf, &rate) == 0 {
      result.maxTxRate = Int(rate.api == Int32(RTNL_LINK_VF_RATE_API_NEW.rawValue) ? rate.max_tx_rate : rate.rate)
    }
    return result
  }

  /// `ip link set dev PF vf INDEX SETTING`, the PF given by its ifindex.
  public func change(pf ifindex: Int32, vf index: Int, _ change: VFLinkChange) throws {
    let original = try fetch(ifindex)
    defer { rtnl_link_put(original) }
    let operation = "ip link set \(NetworkLinks.name(of: original, ifindex: ifindex)) vf \(index) \(change)"
    guard let changes = rtnl_link_alloc() else {
      throw Error(operation: "netlink", message: "out of memory")
    }
    defer { rtnl_link_put(changes) }
    guard let vf = rtnl_link_vf_alloc() else {
      throw Error(operation: "netlink", message: "out of memory")
    }
    defer { rtnl_link_vf_put(vf) }
    rtnl_link_vf_set_index(vf, try NetworkLinks.kernelU32(index, operation))
    switch change {
    case .mac(let mac):
      let address = mac.bytes.withUnsafeBytes { nl_addr_build(AF_LLC, $0.baseAddress, 6) }
      rtnl_link_vf_set_addr(vf, address)
      nl_addr_put(address)
    case .vlan(let id):
      let vlanID = try NetworkLinks.kernelU32(id, operation)
      var vlans: UnsafeMutablePointer<nl_vf_vlans_t>?
      guard rtnl_link_vf_vlan_alloc(&vlans, 1) == 0, let vlans else {
        throw Error(operation: "netlink", message: "out of memory")
      }
      vlans.pointee.vlans[0].vf_vlan = vlanID
      vlans.pointee.vlans[0].vf_vlan_qos = 0
      vlans.pointee.vlans[0].vf_vlan_proto = 0x8100  // ETH_P_8021Q
      rtnl_link_vf_set_vlans(vf, vlans)
      rtnl_link_vf_vlan_put(vlans)
    case .trust(let on):
      rtnl_link_vf_set_trust(vf, on ? 1 : 0)
    case .spoofCheck(let on):
      rtnl_link_vf_set_spoofchk(vf, on ? 1 : 0)
    case .linkState(let state):
      rtnl_link_vf_set_linkstate(vf, state.kernelValue)
    case .maxTxRate(let mbps):
      var rate = nl_vf_rate()
      rate.api = Int32(RTNL_LINK_VF_RATE_API_NEW.rawValue)
      rate.max_tx_rate = try NetworkLinks.kernelU32(mbps, operation)
      rate.min_tx_rate = 0
      rtnl_link_vf_set_rate(vf, &rate)
    }
    let added = rtnl_link_vf_add(changes, vf)
    guard added >= 0 else {
      throw Error(operation: operation, message: NetworkLinks.describe(added))
    }
    try apply(original, changes, operation)
  }

  /// `ip link set dev NAME up`, by ifindex.
  public func setUp(ifindex: Int32) throws {
    let original = try fetch(ifindex)
    defer { rtnl_link_put(original) }
    guard let changes = rtnl_link_alloc() else { throw Error(operation: "netlink", message: "out of memory") }
    defer { rtnl_link_put(changes) }
    rtnl_link_set_flags(changes, UInt32(IFF_UP))
    try apply(original, changes, "ip link set \(NetworkLinks.name(of: original, ifindex: ifindex)) up")
  }

  /// `ip link set dev NAME mtu MTU`, by ifindex.
  public func setMTU(ifindex: Int32, _ mtu: Int) throws {
    let original = try fetch(ifindex)
    defer { rtnl_link_put(original) }
    let operation = "ip link set \(NetworkLinks.name(of: original, ifindex: ifindex)) mtu \(mtu)"
    guard let changes = rtnl_link_alloc() else { throw Error(operation: "netlink", message: "out of memory") }
    defer { rtnl_link_put(changes) }
    rtnl_link_set_mtu(changes, try NetworkLinks.kernelU32(mtu, operation))
    try apply(original, changes, operation)
  }

  private func apply(_ original: OpaquePointer, _ changes: OpaquePointer, _ operation: String) throws {
    let result = rtnl_link_change(socket, original, changes, 0)
    guard result >= 0 else {
      throw Error(operation: operation, message: NetworkLinks.describe(result), code: result)
    }
  }

  /// The addresses on an interface that mean it is in use (`ip addr show dev NAME`, without the
  /// link-local ones every interface that is up gets).
  public func routableAddresses(ifindex: Int32) throws -> [String] {
    var cache: OpaquePointer?
    let result = rtnl_addr_alloc_cache(socket, &cache)
    guard result >= 0, let cache else {
      throw Error(operation: "ip addr show", message: NetworkLinks.describe(result))
    }
    defer { nl_cache_free(cache) }
    var addresses: [String] = []
    var object = nl_cache_get_first(cache)
    while let current = object {
      let address = current
      if rtnl_addr_get_ifindex(address) == ifindex,
        rtnl_addr_get_scope(address) < Int32(RT_SCOPE_LINK.rawValue),
        let local = rtnl_addr_get_local(address)
      {
        var buffer = [CChar](repeating: 0, count: 128)
        addresses.append(String(cString: nl_addr2str(local, &buffer, buffer.count)))
      }
      object = nl_cache_get_next(current)
    }
    return addresses
  }
}
