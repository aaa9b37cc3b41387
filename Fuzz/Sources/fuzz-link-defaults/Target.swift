// 99-default.link, read by persist for the [Link] settings a rendered .link must repeat
// (Persistence.defaultLinkSettings): whatever the file holds, the rendered .link is still
// sections of Key=Value lines with the one count asked for.
import FuzzSupport
import SRIOVKit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLinkDefaults(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
  let body = UnsafeRawBufferPointer(start: data, count: size)
  writeScratch("/etc/systemd/network/99-default.link", body)
  let request = VFRequest(pf: .address(PCIAddress("0000:3b:00.0")!), count: 2)
  guard let rendered = try? Persistence.render(request, method: .link, root: scratchRoot.root).content else {
    return 0
  }
  var counts: [String] = []
  for line in rendered.split(separator: "\n") where !line.hasPrefix("#") {
    if line.hasPrefix("[") {
      require(line.hasSuffix("]"), "rendered .link has a broken section line '\(line)'")
      continue
    }
    guard let equals = line.firstIndex(of: "=") else {
      require(false, "rendered .link has a line that is not Key=Value: '\(line)'")
      return 0
    }
    let key = line[..<equals]
    require(key.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }, "bad key in '\(line)'")
    if key == "SR-IOVVirtualFunctions" { counts.append(String(line[line.index(after: equals)...])) }
  }
  require(counts == ["2"], "rendered .link sets SR-IOVVirtualFunctions to \(counts), not [2]")
  return 0
}
