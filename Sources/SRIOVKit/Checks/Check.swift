/// The outcome of one readiness check.
public enum CheckStatus: String, Sendable, Equatable, Comparable {
  case pass, warn, fail, skip

  private var severity: Int {
    switch self {
    case .skip: return 0
    case .pass: return 1
    case .warn: return 2
    case .fail: return 3
    }
  }

  public static func < (a: CheckStatus, b: CheckStatus) -> Bool { a.severity < b.severity }
}

/// One finding of `sriovctl check`: what was checked, what was found, and what to do about it.
public struct Check: Sendable, Equatable, JSONRepresentable {
  /// A stable identifier scripts can rely on: `firmware.iommu`, `kernel.iommu`, `nic.sriov`...
  public var id: String
  /// What is checked, as in `Checking <title>`.
  public var title: String
  public var status: CheckStatus
  /// One line saying what was found.
  public var summary: String
  /// What to do, for anything that does not pass; `nil` for a pass.
  public var remedy: String?
  /// Evidence: the kernel log lines, the PF, the module path.
  public var details: [String]
  /// The PF the finding is about, for per-PF checks.
  public var pf: PCIAddress?

  public init(
    id: String, title: String, status: CheckStatus, summary: String, remedy: String? = nil,
    details: [String] = [], pf: PCIAddress? = nil
  ) {
    self.id = id
    self.title = title
    self.status = status
    self.summary = summary
    self.remedy = remedy
    self.details = details
    self.pf = pf
  }

  public var json: JSON {
    .object([
      ("id", .string(id)),
      ("title", .string(title)),
      ("status", .string(status.rawValue)),
      ("summary", .string(summary)),
      ("remedy", .string(remedy)),
      ("pf", .string(pf?.description)),
      ("details", .array(details.map(JSON.string))),
    ])
  }
}

/// All findings of one `sriovctl check` run.
public struct CheckReport: Sendable, Equatable, JSONRepresentable {
  public var checks: [Check]

  public init(checks: [Check]) {
    self.checks = checks
  }

  /// Whether nothing failed (warnings and skips do not fail) and something was checked at all.
  public var ok: Bool { !checks.contains { $0.status == .fail } && !nothingChecked }

  /// Whether every check was skipped: nothing is known about the host, which is not "ready".
  public var nothingChecked: Bool { checks.allSatisfy { $0.status == .skip } }

  public var json: JSON {
    .object([("ok", .bool(ok)), ("checks", .array(checks.map(\.json)))])
  }
}
