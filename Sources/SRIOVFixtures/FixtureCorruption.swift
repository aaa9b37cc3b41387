import Foundation

/// Malformed hosts derived from a written fixture tree, for the corrupted-tree corpus test: each
/// ``Mutation`` damages one thing the way a broken kernel, a hostile image or a half-written tree
/// would (truncated and garbage attribute values, dangling, looping and escaping links, FIFOs and
/// directories where files are expected, unreadable files, impossible numbers, bad device names,
/// symlinked configuration directories).
///
/// A tree is corrupted in place; a *sentinel* directory beside it receives every escaping link, so
/// a test that checksums the sentinel before and after a command proves nothing outside the root
/// was read into or written. The mutations are derived deterministically from the tree and a seed:
/// the same tree and seed give the same names, targets and garbage bytes.
public enum FixtureCorruption {
  /// One named way of damaging a tree. The name (`class/target/kind`) identifies it in failures.
  public struct Mutation: Sendable, CustomStringConvertible {
    /// `class/target/kind`, such as `value/sriov_totalvfs/negative` or `link/driver/beyond-root`.
    public let name: String
    /// The defect class, the name's first component.
    public var kind: String { String(name.prefix(while: { $0 != "/" })) }
    fileprivate let change: @Sendable (Tree) throws -> Void

    public var description: String { name }

    /// Applies the mutation to the tree at `root` (a copy of the tree the mutation was derived
    /// from), pointing escaping links at `sentinel`.
    public func apply(root: String, sentinel: String) throws {
      try change(Tree(root: root, sentinel: sentinel))
    }
  }

  /// Why a tree could not be corrupted.
  public enum Failure: Error, CustomStringConvertible {
    case noFunction(String)
    case cannotChange(String, errno: Int32)

    public var description: String {
      switch self {
      case .noFunction(let root): return "\(root) has no PCI function under sys/bus/pci/devices to corrupt"
      case .cannotChange(let path, let code): return "cannot change \(path): \(String(cString: strerror(code)))"
      }
    }
  }

  /// What a mutation set was derived from: the function it damages and its neighbours.
  public struct Target: Sendable {
    /// The PCI address (directory name) of the function most mutations damage: the first SR-IOV
    /// PF, else the first network function, else the first function.
    public let address: String
    /// Its directory as a host path (`/sys/devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0`).
    public let directory: String
    /// Its first VF's directory, when it has one.
    public let firstVF: String?
    /// Its first interface name, when it has one.
    public let interface: String?
  }

  /// Writes the sentinel: a directory meant to sit beside a root, holding what an escaping
  /// link would reach (configuration directories, a lock file, a bait PCI function).
  public static func writeSentinel(at directory: String) throws {
    let fm = FileManager.default
    for sub in [
      "etc/udev/rules.d", "etc/systemd/system/multi-user.target.wants", "etc/systemd/network", "run",
      "device/net/bait0", "proc/sys/kernel",
    ] {
      try fm.createDirectory(atPath: directory + "/" + sub, withIntermediateDirectories: true)
    }
    let files: [(String, String)] = [
      ("lock", "sentinel lock\n"), ("etc/hostname", "sentinel\n"),
      ("etc/udev/rules.d/70-sentinel.rules", "# not sriovctl's\n"),
      ("device/vendor", "0x8086\n"), ("device/device", "0x1572\n"), ("device/class", "0x020000\n"),
      ("device/sriov_totalvfs", "64\n"), ("device/sriov_numvfs", "0\n"), ("device/numa_node", "0\n"),
      ("device/net/bait0/address", "02:00:00:00:00:99\n"), ("proc/sys/kernel/osrelease", "6.1.0-sentinel\n"),
    ]
    for (path, text) in files {
      guard fm.createFile(atPath: directory + "/" + path, contents: Data(text.utf8)) else {
        throw Failure.cannotChange(directory + "/" + path, errno: errno)
      }
    }
  }

  /// The function a tree's mutations damage.
  public static func target(ofTreeAt root: String) throws -> Target {
    let devices = root + "/sys/bus/pci/devices"
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: devices)) ?? []).sorted()
    func attribute(_ name: String, _ file: String) -> String? {
      (try? String(contentsOfFile: "\(devices)/\(name)/\(file)", encoding: .utf8))?
        .trimmingCharacters(in: .whitespacesAndNewlines)
    }
    let isPF = { (name: String) in
      FileManager.default.fileExists(atPath: "\(devices)/\(name)/sriov_totalvfs")
        && !FileManager.default.fileExists(atPath: "\(devices)/\(name)/physfn")
    }
    let isNetwork = { (name: String) in attribute(name, "class")?.hasPrefix("0x02") == true }
    guard let address = names.first(where: { isPF($0) && isNetwork($0) }) ?? names.first(where: isNetwork) ?? names.first
    else { throw Failure.noFunction(root) }
    guard let real = realpath("\(devices)/\(address)", nil) else { throw Failure.cannotChange(devices, errno: errno) }
    defer { free(real) }
    guard let canonicalRoot = realpath(root, nil) else { throw Failure.cannotChange(root, errno: errno) }
    defer { free(canonicalRoot) }
    let directory = String(String(cString: real).dropFirst(String(cString: canonicalRoot).count))
    let firstVF = realpath("\(devices)/\(address)/virtfn0", nil).map { pointer in
      defer { free(pointer) }
      return String(String(cString: pointer).dropFirst(String(cString: canonicalRoot).count))
    }
    let interface = ((try? FileManager.default.contentsOfDirectory(atPath: "\(devices)/\(address)/net")) ?? []).sorted().first
    return Target(address: address, directory: directory, firstVF: firstVF, interface: interface)
  }

  /// Every mutation that applies to the tree at `root` (a written fixture host), in a fixed
  /// order. `seed` chooses the garbage bytes.
  public static func mutations(forTreeAt root: String, seed: UInt64 = 0x5121_0c71) throws -> [Mutation] {
    let target = try target(ofTreeAt: root)
    let p = target.directory
    let exists = { (hostPath: String) in
      var info = stat()
      return lstat(root + hostPath, &info) == 0
    }
    var random = SplitMix64(seed: seed)
    var result: [Mutation] = []
    func add(_ name: String, _ change: @escaping @Sendable (Tree) throws -> Void) {
      result.append(Mutation(name: name, change: change))
    }

    // Attribute values: truncated, garbage, negative, beyond 64 bits.
    for attribute in ["sriov_totalvfs", "sriov_numvfs", "numa_node", "sriov_vf_device", "vendor", "device"]
    where exists("\(p)/\(attribute)") {
      let path = "\(p)/\(attribute)"
      let garbage = random.bytes(count: 1 + Int(random.next() % 40))
      add("value/\(attribute)/empty") { try $0.write(path, []) }
      add("value/\(attribute)/garbage") { try $0.write(path, garbage) }
      add("value/\(attribute)/negative") { try $0.write(path, Array("-5\n".utf8)) }
      add("value/\(attribute)/2^63") { try $0.write(path, Array("9223372036854775808\n".utf8)) }
      add("value/\(attribute)/2^64+1") { try $0.write(path, Array("0x10000000000000001\n".utf8)) }
    }
    if exists("\(p)/sriov_numvfs") {
      add("number/sriov_numvfs/above-total") { try $0.write("\(p)/sriov_numvfs", Array("100\n".utf8)) }
    }
    if exists("\(p)/config") {
      for size in [0, 64, 0x150] {
        add("value/config/truncated-\(size)") { try $0.truncate("\(p)/config", to: size) }
      }
      let garbage = random.bytes(count: 256)
      add("value/config/garbage-256") { try $0.write("\(p)/config", garbage) }
    }

    // Links of the function: dangling, self-loop, a -> b -> a, absolute to the live /sys, beyond
    // the root with `..` (into the sentinel).
    var links: [(String, String)] = []
    for name in ["driver", "iommu_group", "virtfn0"] where exists("\(p)/\(name)") { links.append((name, "\(p)/\(name)")) }
    if let vf = target.firstVF, exists("\(vf)/physfn") { links.append(("physfn", "\(vf)/physfn")) }
    if exists("\(p)/net") { links.append(("net", "\(p)/net")) }
    links.append(("bus-devices-entry", "/sys/bus/pci/devices/\(target.address)"))
    for (label, path) in links {
      add("link/\(label)/dangling") { try $0.link(path, to: "../no-such-entry") }
      add("link/\(label)/self-loop") { try $0.link(path, to: (path as NSString).lastPathComponent) }
      add("link/\(label)/loop") { tree in
        let other = path + ".loop"
        try tree.link(path, to: (other as NSString).lastPathComponent)
        try tree.link(other, to: (path as NSString).lastPathComponent)
      }
      add("link/\(label)/absolute-live-sys") { try $0.link(path, to: "/sys/devices/system/cpu") }
      add("link/\(label)/beyond-root") { tree in
        try tree.link(path, to: String(repeating: "../", count: 40) + tree.sentinel.dropFirst() + "/device")
      }
      add("link/\(label)/absolute-sentinel") { tree in try tree.link(path, to: tree.sentinel + "/device") }
    }

    // Bad names in /sys/bus/pci/devices, pointing at the real function.
    if let parsed = PCIName(target.address) {
      let linkTarget = "../../../devices" + p.dropFirst("/sys/devices".count)
      for (kind, name) in [
        ("function-9", parsed.with(function: "9")), ("device-ff", parsed.with(device: "ff")),
        ("not-an-address", "not-an-address"), ("trailing-junk", target.address + "x"),
        ("domain-overflow", "fffffffff:" + target.address.split(separator: ":").dropFirst().joined(separator: ":")),
      ] {
        add("name/bus-devices/\(kind)") { try $0.link("/sys/bus/pci/devices/\(name)", to: linkTarget) }
      }
    }

    // FIFOs where files are expected (a read would block for ever).
    var fifos: [(String, String)] = [("proc-cmdline", "/proc/cmdline"), ("dev-kmsg", "/dev/kmsg"), ("etc-hostname", "/etc/hostname")]
    for name in ["sriov_numvfs", "config", "sriov_totalvfs"] where exists("\(p)/\(name)") { fifos.append((name, "\(p)/\(name)")) }
    for (label, path) in fifos { add("fifo/\(label)") { try $0.fifo(path) } }
    let fileName = target.address.replacingOccurrences(of: ":", with: "-")
    add("fifo/persist-targets") { tree in
      try tree.fifo("/etc/udev/rules.d/70-sriovctl-\(target.address).rules")
      try tree.fifo("/etc/systemd/system/sriovctl-vfs-\(fileName).service")
      try tree.fifo("/etc/systemd/network/10-sriovctl-\(target.address).link")
      try tree.fifo("/run/sriovctl.lock")
    }

    // Wrong types and unreadable files (root ignores mode 000, so directories too).
    var typed: [(String, String)] = [("proc-cmdline", "/proc/cmdline"), ("dev-kmsg", "/dev/kmsg"), ("etc-hostname", "/etc/hostname")]
    for name in ["sriov_totalvfs", "sriov_numvfs", "config", "vendor"] where exists("\(p)/\(name)") { typed.append((name, "\(p)/\(name)")) }
    for (label, path) in typed { add("type/\(label)/directory") { try $0.directory(path) } }
    for name in ["sriov_numvfs", "config"] where exists("\(p)/\(name)") {
      add("mode/\(name)/000") { try $0.chmod("\(p)/\(name)", 0) }
    }
    add("type/persist-targets/directory") { tree in
      try tree.directory("/etc/udev/rules.d/70-sriovctl-\(target.address).rules")
      try tree.directory("/etc/systemd/system/sriovctl-vfs-\(fileName).service")
      try tree.directory("/etc/systemd/network/10-sriovctl-\(target.address).link")
    }
    add("type/run-lock/directory") { try $0.directory("/run/sriovctl.lock") }

    // Impossible numbers in link names.
    if exists("\(p)/virtfn0") {
      add("number/virtfn-1") { tree in try tree.link("\(p)/virtfn-1", to: try tree.readLink("\(p)/virtfn0")) }
      add("number/virtfn-2^64") { tree in
        try tree.link("\(p)/virtfn18446744073709551616", to: try tree.readLink("\(p)/virtfn0"))
      }
      add("number/virtfn0-twice") { tree in try tree.link("\(p)/virtfn00", to: try tree.readLink("\(p)/virtfn0")) }
    }

    // Paths taken from file contents.
    add("path/osrelease/dotdot") { try $0.write("/proc/sys/kernel/osrelease", Array("../../..\n".utf8)) }
    add("path/osrelease/absolute") { tree in try tree.write("/proc/sys/kernel/osrelease", Array("\(tree.sentinel)\n".utf8)) }

    // Configuration directories that lead outside the root.
    for (label, path, inside) in [
      ("etc", "/etc", "/etc"), ("udev-rules.d", "/etc/udev/rules.d", "/etc/udev/rules.d"),
      ("systemd-system", "/etc/systemd/system", "/etc/systemd/system"),
      ("systemd-wants", "/etc/systemd/system/multi-user.target.wants", "/etc/systemd/system/multi-user.target.wants"),
      ("systemd-network", "/etc/systemd/network", "/etc/systemd/network"), ("run", "/run", "/run"),
      ("run-lock", "/run/sriovctl.lock", "/lock"),
    ] {
      add("escape/\(label)/absolute") { tree in try tree.link(path, to: tree.sentinel + inside) }
      add("escape/\(label)/beyond-root") { tree in
        try tree.link(path, to: String(repeating: "../", count: 40) + tree.sentinel.dropFirst() + inside)
      }
    }
    return result
  }

  /// A tree being corrupted: host paths below `root`.
  struct Tree {
    let root: String
    let sentinel: String

    private func real(_ hostPath: String) -> String { root + hostPath }

    /// Removes whatever is at the path (file, link, FIFO or directory tree) and makes its parents.
    private func clear(_ hostPath: String) throws {
      let path = real(hostPath)
      var info = stat()
      if lstat(path, &info) == 0 {
        // Restore write permission first so a 000 directory can be removed.
        _ = Glibc.chmod(path, 0o755)
        try FileManager.default.removeItem(atPath: path)
      }
      try FileManager.default.createDirectory(
        atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    }

    func write(_ hostPath: String, _ bytes: [UInt8]) throws {
      try clear(hostPath)
      guard FileManager.default.createFile(atPath: real(hostPath), contents: Data(bytes), attributes: [.posixPermissions: 0o644])
      else { throw Failure.cannotChange(real(hostPath), errno: errno) }
    }

    func truncate(_ hostPath: String, to size: Int) throws {
      guard Glibc.truncate(real(hostPath), off_t(size)) == 0 else { throw Failure.cannotChange(real(hostPath), errno: errno) }
    }

    func link(_ hostPath: String, to target: String) throws {
      try clear(hostPath)
      guard symlink(target, real(hostPath)) == 0 else { throw Failure.cannotChange(real(hostPath), errno: errno) }
    }

    func readLink(_ hostPath: String) throws -> String {
      try FileManager.default.destinationOfSymbolicLink(atPath: real(hostPath))
    }

    func fifo(_ hostPath: String) throws {
      try clear(hostPath)
      guard mkfifo(real(hostPath), 0o644) == 0 else { throw Failure.cannotChange(real(hostPath), errno: errno) }
    }

    func directory(_ hostPath: String) throws {
      try clear(hostPath)
      guard mkdir(real(hostPath), 0o755) == 0 else { throw Failure.cannotChange(real(hostPath), errno: errno) }
    }

    func chmod(_ hostPath: String, _ mode: mode_t) throws {
      guard Glibc.chmod(real(hostPath), mode) == 0 else { throw Failure.cannotChange(real(hostPath), errno: errno) }
    }
  }
}

/// A PCI directory name split into its text fields, to build near-miss names from a real one.
private struct PCIName {
  let domain: Substring, bus: Substring, device: Substring, function: Substring

  init?(_ text: String) {
    let parts = text.split(separator: ":")
    guard parts.count == 3 else { return nil }
    let slot = parts[2].split(separator: ".")
    guard slot.count == 2 else { return nil }
    (domain, bus, device, function) = (parts[0], parts[1], slot[0], slot[1])
  }

  func with(device: Substring? = nil, function: Substring? = nil) -> String {
    "\(domain):\(bus):\(device ?? self.device).\(function ?? self.function)"
  }
}

/// A small deterministic generator (SplitMix64), so a seed names one corpus everywhere.
struct SplitMix64 {
  private var state: UInt64

  init(seed: UInt64) { state = seed }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// Bytes that mix digits, signs, white space, control characters and invalid UTF-8.
  mutating func bytes(count: Int) -> [UInt8] {
    let alphabet: [UInt8] = Array("0123456789-+x \n\t:.,#=/abcdefXYZ".utf8) + [0x00, 0x1b, 0x7f, 0xc3, 0xff, 0xe2, 0x80, 0xa8]
    return (0..<count).map { _ in alphabet[Int(next() % UInt64(alphabet.count))] }
  }
}
