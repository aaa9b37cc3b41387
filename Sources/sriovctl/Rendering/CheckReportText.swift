import Glibc
import SRIOVKit

/// The text form of `check`, in the manner of virt-host-validate:
/// `Checking if an IOMMU is active : FAIL (no IOMMU is active: ...)`, remedy and evidence below.
enum CheckReportText {
  static func render(_ report: CheckReport, colour: Bool) -> String {
    let width = report.checks.map { "Checking \($0.title)".count }.max() ?? 0
    var out = ""
    for check in report.checks {
      let label = "Checking \(check.title)"
      out += label + String(repeating: " ", count: width - label.count) + " : "
      out += paint(check.status, colour: colour) + " (\(check.summary))\n"
      if let remedy = check.remedy { out += "    remedy: \(remedy)\n" }
      for detail in check.details { out += "    \(detail)\n" }
    }
    let failed = report.checks.filter { $0.status == .fail }.count
    let warned = report.checks.filter { $0.status == .warn }.count
    if report.nothingChecked {
      out += "\nNothing could be checked: every check was skipped.\n"
    } else if failed > 0 {
      out += "\nNot ready for SR-IOV: \(failed) check\(failed == 1 ? "" : "s") failed"
      out += warned > 0 ? ", \(warned) with warnings.\n" : ".\n"
    } else {
      // A skip with a remedy is a check that could have been made (as root, say): not proof.
      let unproven = report.checks.filter { $0.status == .skip && $0.remedy != nil }.count
      let notes = (warned > 0 ? ["\(warned) with warnings"] : [])
        + (unproven > 0 ? ["\(unproven) not checked: see the remedy"] : [])
      out += (unproven > 0 ? "\nReady for SR-IOV as far as could be checked" : "\nReady for SR-IOV")
        + (notes.isEmpty ? ".\n" : " (\(notes.joined(separator: "; "))).\n")
    }
    return out
  }

  private static func paint(_ status: CheckStatus, colour: Bool) -> String {
    let word = status.rawValue.uppercased()
    guard colour else { return word }
    let code: String
    switch status {
    case .pass: code = "32"
    case .warn: code = "33"
    case .fail: code = "31"
    case .skip: code = "2"
    }
    return "\u{1B}[\(code)m\(word)\u{1B}[0m"
  }
}

enum Terminal {
  /// Colour only on a terminal, and not when NO_COLOR is set or TERM is dumb.
  static var wantsColour: Bool {
    guard isatty(STDOUT_FILENO) == 1, getenv("NO_COLOR") == nil else { return false }
    if let term = getenv("TERM"), String(cString: term) == "dumb" { return false }
    return true
  }
}
