/// The `[Section]` / `Key=Value` files of systemd (`.link`, units) and NetworkManager (keyfiles),
/// read as plain text: one parser for every such file sriovctl reads (99-default.link for the
/// naming it carries over; the files `check` looks at for competing VF settings).
enum KeyFile {
  /// One `Key=Value` line, with the section it stands in ("" before the first header).
  struct Entry: Equatable {
    var section: String
    var key: String
    var value: String
  }

  /// The file's entries in order. Lines are split at LF or CRLF; keys and values are trimmed of
  /// blanks; comments (`#`, `;`) and lines without `=` are passed over.
  static func entries(_ text: String) -> [Entry] {
    var entries: [Entry] = []
    var section = ""
    for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
      let trimmed = line.trimmingCharacters(in: " \t\r")
      if trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
      if trimmed.hasPrefix("[") {
        section = trimmed.hasSuffix("]") ? String(trimmed.dropFirst().dropLast()) : ""
        continue
      }
      guard let equals = trimmed.firstIndex(of: "=") else { continue }
      entries.append(
        Entry(
          section: section, key: trimmed[..<equals].trimmingCharacters(in: " \t"),
          value: trimmed[trimmed.index(after: equals)...].trimmingCharacters(in: " \t")))
    }
    return entries
  }

  /// The file's sections: section -> key -> value (a key given twice keeps its last value).
  static func sections(_ text: String) -> [String: [String: String]] {
    var sections: [String: [String: String]] = [:]
    for entry in entries(text) { sections[entry.section, default: [:]][entry.key] = entry.value }
    return sections
  }
}
