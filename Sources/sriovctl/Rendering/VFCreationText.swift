import SRIOVKit

/// The text form of `create-vfs`: what changed (or would), then the VFs as they are.
enum VFCreationText {
  static func render(_ result: VFCreationResult) -> String {
    let name = result.pf.description + (result.interface.map { " (\($0))" } ?? "")
    var out: String
    if !result.changed {
      out = "\(name): \(result.numVFs) VFs, already as asked; nothing changed.\n"
    } else if result.dryRun {
      out = "\(name): would change \(result.previous) VFs to \(result.numVFs):\n"
    } else if result.previous == result.numVFs {
      out = "\(name): \(result.numVFs) VFs, changed:\n"
    } else {
      out = "\(name): \(result.numVFs) VFs (was \(result.previous)):\n"
    }
    for action in result.actions { out += "  \(action)\n" }
    guard !result.vfs.isEmpty else { return out }
    var rows = [["VF", "PCI ADDRESS", "INTERFACE", "DRIVER", "MAC", "VLAN", "TRUST", "SPOOFCHK"]]
    for vf in result.vfs {
      func onOff(_ value: Bool?) -> String { value.map { $0 ? "on" : "off" } ?? "-" }
      rows.append([
        String(vf.index), vf.address.description, vf.interface ?? "-", vf.driver ?? "-",
        vf.settings?.mac?.description ?? "-", vf.settings.map { String($0.vlan) } ?? "-",
        onOff(vf.settings?.trust), onOff(vf.settings?.spoofCheck),
      ])
    }
    return out + "\n" + Table.render(rows)
  }
}
