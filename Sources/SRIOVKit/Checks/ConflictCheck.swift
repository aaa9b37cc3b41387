import Glibc
import Yams

extension Readiness {
  /// One PF as other configuration names it: its PCI address, interfaces and MAC addresses.
  struct PFIdentity {
    var pf: PhysicalFunction
    var label: String
    var macs: [String]

    func matches(interface name: String) -> Bool {
      pf.interfaces.contains { fnmatch(name, $0, 0) == 0 }
    }
    func matches(mac: String) -> Bool { macs.contains(mac.lowercased()) }
  }

  /// One piece of configuration that also sets a PF's VFs.
  struct Conflict: Equatable {
    var file: String
    var pf: String
    var what: String
  }

  /// `host.conflicts`: other configuration that also sets the VF count of a PF sriovctl sees, and
  /// will fight it at boot or when a connection comes up: NetworkManager keyfiles, netplan,
  /// systemd `.link` files and udev rules that are not sriovctl's own, and driverctl overrides.
  static func conflicts(_ facts: HostFacts) -> Check {
    let id = "host.conflicts"
    let title = "for other tools that set VFs"
    guard !facts.pfs.isEmpty else {
      return Check(id: id, title: title, status: .skip, summary: "no SR-IOV PF to check")
    }
    let identities = facts.pfs.map { pf in
      PFIdentity(
        pf: pf, label: facts.label(pf),
        macs: pf.interfaces.compactMap {
          (try? facts.root.readAttribute("/sys/bus/pci/devices/\(pf.address)/net/\($0)/address"))??.lowercased()
        })
    }
    let found =
      networkManagerConflicts(facts.root, identities) + netplanConflicts(facts.root, identities)
      + linkFileConflicts(facts.root, identities) + udevConflicts(facts.root, identities)
      + driverctlConflicts(facts.root, identities)
    guard !found.isEmpty else {
      return Check(
        id: id, title: title, status: .pass,
        summary: "nothing else sets VFs (NetworkManager, netplan, .link files, udev rules, driverctl)")
    }
    let files = Set(found.map(\.file)).sorted()
    return Check(
      id: id, title: title, status: .warn,
      summary: found.map { "\($0.file) \($0.what) for \($0.pf)" }.joined(separator: "; "),
      remedy: "keep one owner for each PF's VFs: remove the SR-IOV settings from "
        + files.joined(separator: ", ") + ", or stop managing the PF with sriovctl ('sriovctl persist PF --remove'); "
        + "two owners undo each other at boot or when a connection comes up",
      details: found.map { "\($0.file): \($0.pf): \($0.what)" })
  }

  /// The regular files of host directories whose names end with `suffix`, sorted, with their text
  /// (files that cannot be read as text are passed over).
  private static func files(_ root: HostRoot, in directories: [String], suffix: String) -> [(path: String, text: String)] {
    var seen = Set<String>()
    var result: [(String, String)] = []
    for directory in directories {
      for name in ((try? root.list(directory)) ?? []).sorted() where name.hasSuffix(suffix) && !seen.contains(name) {
        // A file of the same name in an earlier directory overrides this one (as udev and systemd read them).
        seen.insert(name)
        let path = "\(directory)/\(name)"
        guard let text = (try? root.readAttribute(path)) ?? nil else { continue }
        result.append((path, text))
      }
    }
    return result
  }

  /// NetworkManager keyfiles with `[sriov] total-vfs`, for the PF their connection binds to.
  static func networkManagerConflicts(_ root: HostRoot, _ pfs: [PFIdentity]) -> [Conflict] {
    let directories = ["/etc/NetworkManager/system-connections", "/run/NetworkManager/system-connections"]
    return files(root, in: directories, suffix: ".nmconnection").compactMap { file in
      let sections = KeyFile.sections(file.text)
      guard let total = sections["sriov"]?["total-vfs"] else { return nil }
      let interface = sections["connection"]?["interface-name"]
      let mac = sections["ethernet"]?["mac-address"]
      guard
        let pf = pfs.first(where: { pf in
          interface.map { pf.pf.interfaces.contains($0) } ?? false || mac.map(pf.matches(mac:)) ?? false
        })
      else { return nil }
      return Conflict(file: file.path, pf: pf.label, what: "sets [sriov] total-vfs=\(total) (NetworkManager)")
    }
  }

  /// netplan files whose ethernet for the PF has `virtual-function-count`, or is the `link:` of
  /// other ethernets (which makes netplan create VFs for it).
  static func netplanConflicts(_ root: HostRoot, _ pfs: [PFIdentity]) -> [Conflict] {
    let directories = ["/etc/netplan", "/run/netplan", "/lib/netplan"]
    var found: [Conflict] = []
    for file in files(root, in: directories, suffix: ".yaml") {
      guard let document = (try? Yams.load(yaml: file.text)) as? [String: Any],
        let network = document["network"] as? [String: Any],
        let ethernets = network["ethernets"] as? [String: Any]
      else { continue }
      let linked = Set(ethernets.values.compactMap { ($0 as? [String: Any])?["link"] as? String })
      for (name, value) in ethernets.sorted(by: { $0.key < $1.key }) {
        let ethernet = value as? [String: Any] ?? [:]
        let count = ethernet["virtual-function-count"].map { "\($0)" }
        guard count != nil || linked.contains(name) else { continue }
        let match = ethernet["match"] as? [String: Any]
        let matchName = match?["name"] as? String
        let matchMAC = match?["macaddress"] as? String
        let setName = ethernet["set-name"] as? String
        guard
          let pf = pfs.first(where: { pf in
            if let matchMAC { return pf.matches(mac: matchMAC) }
            if let matchName { return pf.matches(interface: matchName) }
            return pf.pf.interfaces.contains(setName ?? name)
          })
        else { continue }
        found.append(
          Conflict(
            file: file.path, pf: pf.label,
            what: count.map { "sets virtual-function-count: \($0) on '\(name)' (netplan)" }
              ?? "links VFs to '\(name)', so netplan creates them (netplan)"))
      }
    }
    return found
  }

  /// systemd `.link` files with `SR-IOVVirtualFunctions=` whose `[Match]` names the PF, other than
  /// sriovctl's own.
  static func linkFileConflicts(_ root: HostRoot, _ pfs: [PFIdentity]) -> [Conflict] {
    let directories = ["/etc/systemd/network", "/run/systemd/network", "/usr/lib/systemd/network", "/lib/systemd/network"]
    return files(root, in: directories, suffix: ".link").compactMap { file in
      guard !file.text.hasPrefix(BootFiles.mark) else { return nil }
      let sections = KeyFile.sections(file.text)
      guard let count = sections["Link"]?["SR-IOVVirtualFunctions"] else { return nil }
      let match = sections["Match"] ?? [:]
      guard
        let pf = pfs.first(where: { pf in
          if let path = match["Path"] {
            return path.split(separator: " ").contains { fnmatch(String($0), "pci-\(pf.pf.address)", 0) == 0 }
          }
          if let names = match["OriginalName"] {
            return names.split(separator: " ").contains { pf.matches(interface: String($0)) }
          }
          if let macs = match["MACAddress"] ?? match["PermanentMACAddress"] {
            return macs.split(separator: " ").contains { pf.matches(mac: String($0)) }
          }
          return false
        })
      else { return nil }
      return Conflict(file: file.path, pf: pf.label, what: "sets SR-IOVVirtualFunctions=\(count) (systemd .link)")
    }
  }

  /// udev rules that assign `sriov_numvfs`, other than sriovctl's own: for the PF whose address or
  /// interface the rule names, or every PF when it names none of them.
  static func udevConflicts(_ root: HostRoot, _ pfs: [PFIdentity]) -> [Conflict] {
    let directories = ["/etc/udev/rules.d", "/run/udev/rules.d", "/usr/lib/udev/rules.d", "/lib/udev/rules.d"]
    var found: [Conflict] = []
    for file in files(root, in: directories, suffix: ".rules") where !file.text.hasPrefix(BootFiles.mark) {
      for line in file.text.split(separator: "\n") where !line.hasPrefix("#") {
        // An assignment (ATTR{sriov_numvfs}="8" or ATTR{device/sriov_numvfs}="8"), not a match (==).
        guard let range = line.range(of: "sriov_numvfs}="), !line[range.upperBound...].hasPrefix("=") else { continue }
        let named = pfs.filter { pf in
          line.contains(pf.pf.address.description) || pf.pf.interfaces.contains { line.contains("\"\($0)\"") }
        }
        for pf in named.isEmpty ? pfs : named {
          found.append(
            Conflict(
              file: file.path, pf: pf.label,
              what: named.isEmpty ? "writes sriov_numvfs, matching by other keys (udev rule)" : "writes sriov_numvfs (udev rule)"))
        }
      }
    }
    return found
  }

  /// driverctl's persistent overrides (`/etc/driverctl.d/pci-ADDRESS`) on a PF or its VFs: driverctl
  /// rebinds them at boot, whatever sriovctl's `--driver` says.
  static func driverctlConflicts(_ root: HostRoot, _ pfs: [PFIdentity]) -> [Conflict] {
    var found: [Conflict] = []
    for name in ((try? root.list("/etc/driverctl.d")) ?? []).sorted() where name.hasPrefix("pci-") {
      let address = String(name.dropFirst(4))
      guard let pf = pfs.first(where: { $0.pf.address.description == address || $0.pf.vfs.contains { $0.address.description == address } })
      else { continue }
      let driver = ((try? root.readAttribute("/etc/driverctl.d/\(name)")) ?? nil) ?? "?"
      found.append(
        Conflict(
          file: "/etc/driverctl.d/\(name)", pf: pf.label,
          what: "binds \(address) to \(driver) at boot (driverctl)"))
    }
    return found
  }
}
