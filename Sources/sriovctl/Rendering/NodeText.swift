import SRIOVKit

/// The text forms of `apply` and `verify`.
enum NodeText {
  static func render(_ result: NodeApplyResult) -> String {
    var out = ""
    for pf in result.pfs {
      let policies = pf.policies.isEmpty ? "" : " [\(pf.policies.joined(separator: ", "))]"
      if let error = pf.error {
        out += "\(pf.pf)\(pf.interface.map { " (\($0))" } ?? "")\(policies): FAILED: \(error)\n"
      } else if let vfs = pf.result {
        let text = VFCreationText.render(vfs)
        let firstLine = text.prefix { $0 != "\n" }
        out += firstLine + policies + text.dropFirst(firstLine.count) + (vfs.vfs.isEmpty ? "" : "\n")
      }
    }
    if result.pfs.isEmpty { out += "No PF on this host is selected by the node file.\n" }
    for name in result.unmatched { out += "unmatched: \(name) selects no PF on this host\n" }
    for note in result.notes { out += "note: \(note)\n" }
    return out
  }

  static func render(_ result: VerifyResult) -> String {
    var out = ""
    for difference in result.differences {
      let vf = difference.vf.map { " VF \($0)" } ?? ""
      out += "\(difference.pf)\(vf) \(difference.field): want \(difference.want), have \(difference.have)\n"
    }
    out += result.inSync ? "in sync\n" : "drifted: \(result.differences.count) difference(s)\n"
    for name in result.unmatched { out += "unmatched: \(name) selects no PF on this host\n" }
    for note in result.notes { out += "note: \(note)\n" }
    return out
  }
}
