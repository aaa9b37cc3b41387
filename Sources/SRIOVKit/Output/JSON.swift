/// A JSON document, built by the types that appear in sriovctl's output and rendered in one place.
///
/// Objects keep their keys in the order they were written, and absent values are written as
/// `null` rather than left out, so scripts can rely on every documented key being present.
public enum JSON: Equatable, Sendable {
  case null
  case bool(Bool)
  case int(Int)
  case string(String)
  case array([JSON])
  case object([(String, JSON)])

  public static func == (a: JSON, b: JSON) -> Bool {
    switch (a, b) {
    case (.null, .null): return true
    case (.bool(let x), .bool(let y)): return x == y
    case (.int(let x), .int(let y)): return x == y
    case (.string(let x), .string(let y)): return x == y
    case (.array(let x), .array(let y)): return x == y
    case (.object(let x), .object(let y)):
      return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    default: return false
    }
  }

  /// A string, or `null` for `nil`.
  public static func string(_ value: String?) -> JSON { value.map(JSON.string) ?? .null }
  /// An integer, or `null` for `nil`.
  public static func int(_ value: Int?) -> JSON { value.map(JSON.int) ?? .null }

  /// The document as text: two-space indentation, one key per line, a final newline.
  public func rendered() -> String {
    var out = ""
    write(to: &out, indent: 0)
    out.append("\n")
    return out
  }

  private func write(to out: inout String, indent: Int) {
    switch self {
    case .null: out.append("null")
    case .bool(let value): out.append(value ? "true" : "false")
    case .int(let value): out.append(String(value))
    case .string(let value): JSON.quote(value, into: &out)
    case .array(let items):
      if items.isEmpty { out.append("[]"); return }
      out.append("[\n")
      for (i, item) in items.enumerated() {
        out.append(String(repeating: " ", count: indent + 2))
        item.write(to: &out, indent: indent + 2)
        out.append(i == items.count - 1 ? "\n" : ",\n")
      }
      out.append(String(repeating: " ", count: indent) + "]")
    case .object(let members):
      if members.isEmpty { out.append("{}"); return }
      out.append("{\n")
      for (i, (key, value)) in members.enumerated() {
        out.append(String(repeating: " ", count: indent + 2))
        JSON.quote(key, into: &out)
        out.append(": ")
        value.write(to: &out, indent: indent + 2)
        out.append(i == members.count - 1 ? "\n" : ",\n")
      }
      out.append(String(repeating: " ", count: indent) + "}")
    }
  }

  private static func quote(_ text: String, into out: inout String) {
    out.append("\"")
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out.append("\\\"")
      case "\\": out.append("\\\\")
      case "\n": out.append("\\n")
      case "\r": out.append("\\r")
      case "\t": out.append("\\t")
      case let c where c.value < 0x20:
        let hex = String(c.value, radix: 16)
        out.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
      default: out.unicodeScalars.append(scalar)
      }
    }
    out.append("\"")
  }
}

/// A value that appears in sriovctl's JSON output.
public protocol JSONRepresentable {
  var json: JSON { get }
}

extension UInt16 {
  /// Four lowercase hex digits, as PCI IDs are written in sysfs and by lspci -n.
  public var pciID: String {
    let digits = String(self, radix: 16)
    return String(repeating: "0", count: 4 - digits.count) + digits
  }
}
