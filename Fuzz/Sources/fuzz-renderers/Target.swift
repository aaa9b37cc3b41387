// persist's renderers: a request built from fuzzed option lines (see fuzz-vf-values) is rendered
// as a udev rule, a systemd unit and a .link file for the X710 fixture's PF, and each file must
// parse back to the values that went in.
import FuzzSupport
import SRIOVKit

let pf = "0000:3b:00.0"

/// `KEY=="value"` and `KEY="value"` pairs of a udev rule line (udev(7)); nil when malformed.
func udevPairs(_ line: Substring) -> [(String, String, String)]? {
  var pairs: [(String, String, String)] = []
  var rest = line[...]
  while !rest.isEmpty {
    rest = rest.drop(while: { $0 == " " || $0 == "," })
    if rest.isEmpty { break }
    guard let op = rest.firstIndex(where: { $0 == "=" || $0 == "!" || $0 == "+" }) else { return nil }
    let key = String(rest[..<op])
    var after = rest[op...]
    let operatorText = String(after.prefix(while: { "=!+:".contains($0) }))
    after = after.dropFirst(operatorText.count)
    guard after.first == "\"", let close = after.dropFirst().firstIndex(of: "\"") else { return nil }
    let value = String(after[after.index(after: after.startIndex)..<close])
    pairs.append((key, operatorText, value))
    rest = after[after.index(after: close)...]
  }
  return pairs
}

/// Sections of an INI-style systemd file, in order, each with its Key=Value lines.
func sections(_ text: String) -> [(String, [(String, String)])] {
  var result: [(String, [(String, String)])] = []
  for line in text.split(separator: "\n") where !line.hasPrefix("#") {
    if line.hasPrefix("[") {
      require(line.hasSuffix("]"), "broken section line '\(line)'")
      result.append((String(line), []))
    } else {
      guard let equals = line.firstIndex(of: "="), !result.isEmpty else {
        require(false, "not Key=Value inside a section: '\(line)'")
        return result
      }
      result[result.count - 1].1.append((String(line[..<equals]), String(line[line.index(after: equals)...])))
    }
  }
  return result
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRenderers(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
  guard let request = try? request(text(data, size).split(separator: "\n")) else { return 0 }

  if let rule = try? Persistence.render(request, method: .udev, root: fixtureRoot).content {
    let lines = rule.split(separator: "\n").filter { !$0.hasPrefix("#") }
    require(lines.count == 1, "udev rule is not one line: \(lines)")
    guard let pairs = udevPairs(lines[0]) else {
      require(false, "udev rule does not parse: \(lines[0])")
      return 0
    }
    require(pairs.contains { $0 == ("KERNELS", "==", pf) }, "udev rule does not match \(pf): \(lines[0])")
    require(pairs.contains { $0 == ("ATTR{device/sriov_numvfs}", "=", String(request.count)) }, "udev count: \(lines[0])")
  }

  if let unit = try? Persistence.render(request, method: .systemd, root: fixtureRoot).content {
    let exec = sections(unit).flatMap(\.1).filter { $0.0 == "ExecStart" }.map(\.1)
    require(exec.count == 1, "unit has \(exec.count) ExecStart lines")
    // systemd splits ExecStart on white space; none of the words is quoted or has a specifier.
    let words = exec[0].split(separator: " ").map(String.init)
    require(!exec[0].contains("%") && !exec[0].contains("$") && !exec[0].contains("\""), "ExecStart needs quoting: \(exec[0])")
    require(words.count > 3 && words[1] == "create-vfs" && words[2] == pf, "ExecStart: \(exec[0])")
    let options = Array(words.dropFirst(3))
    guard let end = options.firstIndex(of: "--wait-for-pf") else {
      require(false, "ExecStart without --wait-for-pf: \(exec[0])")
      return 0
    }
    let again = try? FuzzSupport.request(lines(Array(options[..<end])))
    require(again == request, "ExecStart \(exec[0]) does not parse back to the request")
  }

  if let link = try? Persistence.render(request, method: .link, root: fixtureRoot).content {
    let parsed = sections(link)
    let counts = parsed.filter { $0.0 == "[Link]" }.flatMap(\.1).filter { $0.0 == "SR-IOVVirtualFunctions" }.map(\.1)
    require(counts == [String(request.count)], ".link count \(counts) for \(request.count)")
    for (name, settings) in parsed where name == "[SR-IOV]" {
      let values = Dictionary(settings, uniquingKeysWith: { first, _ in first })
      guard let index = values["VirtualFunction"].flatMap({ Int($0) }) else {
        require(false, "[SR-IOV] without VirtualFunction: \(settings)")
        return 0
      }
      for setting in VFSetting.allCases {
        guard let key = setting.linkFileKey else { continue }
        var wanted: String?
        if case .value(let change)? = request[setting].value(for: index) { wanted = change.linkFileValue }
        require(values[key] == wanted, ".link \(key) of VF \(index): \(values[key] ?? "none") for \(wanted ?? "none")")
      }
    }
  }
  return 0
}
