/// The little YAML sriovctl writes (the device plugin's ConfigMap), escaped by the rules of the
/// YAML 1.1 and 1.2 specifications, which kubectl's and PyYAML's parsers follow.
enum YAML {
  /// Whether the character may appear as itself in a YAML stream (the spec's `c-printable`).
  static func isPrintable(_ c: Unicode.Scalar) -> Bool {
    switch c.value {
    case 0x09, 0x0A, 0x0D, 0x20...0x7E, 0x85, 0xA0...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: return true
    default: return false
    }
  }

  /// Whether the character ends a line in YAML: besides LF and CR, NEL (U+0085) and the Unicode
  /// line and paragraph separators (U+2028, U+2029), which YAML 1.1 parsers such as PyYAML break on.
  static func isLineBreak(_ c: Unicode.Scalar) -> Bool {
    [0x0A, 0x0D, 0x85, 0x2028, 0x2029].contains(c.value)
  }

  /// Whether text can be written as a literal block (`|`) and read back unchanged: only printable
  /// characters, LF the only line break, no byte order mark, and no trailing spaces on a line.
  static func fitsLiteralBlock(_ text: String) -> Bool {
    let scalarsFit = text.unicodeScalars.allSatisfy { c in
      c == "\n" || (isPrintable(c) && !isLineBreak(c) && c.value != 0xFEFF)
    }
    return scalarsFit && text.hasSuffix("\n") && !text.split(separator: "\n").contains { $0.hasSuffix(" ") || $0.hasSuffix("\t") }
  }

  /// A double-quoted scalar: the one YAML style that can carry any text, with escapes for
  /// quotes, backslashes, line breaks (`\n`, `\N`, `\L`, `\P`) and anything not printable.
  static func doubleQuoted(_ text: String) -> String {
    var out = "\""
    for c in text.unicodeScalars {
      switch c.value {
      case 0x22: out += "\\\""
      case 0x5C: out += "\\\\"
      case 0x0A: out += "\\n"
      case 0x0D: out += "\\r"
      case 0x09: out += "\\t"
      case 0x85: out += "\\N"
      case 0x2028: out += "\\L"
      case 0x2029: out += "\\P"
      case 0xFEFF: out += "\\uFEFF"
      case let value where !isPrintable(c):
        let hex = String(value, radix: 16, uppercase: true)
        out += value > 0xFFFF
          ? "\\U" + String(repeating: "0", count: 8 - hex.count) + hex
          : "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: out.unicodeScalars.append(c)
      }
    }
    return out + "\""
  }

  /// A scalar as itself when it is plainly safe (lowercase letters, digits and `-`, not a word
  /// YAML 1.1 reads as a boolean or null), else double-quoted.
  static func scalar(_ text: String) -> String {
    let plain = !text.isEmpty && text.first!.isLetter
      && text.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
      && !["y", "n", "yes", "no", "on", "off", "true", "false", "null"].contains(text)
    return plain ? text : doubleQuoted(text)
  }
}
