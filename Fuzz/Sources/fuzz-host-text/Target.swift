// Text sriovctl reads from the host: the first byte chooses the parser, the rest is the file.
//   0  /proc/cmdline          1  a /dev/kmsg record and a /dev/kmsg file
//   2  /proc/cpuinfo          3  99-default.link, read for a rendered .link's [Link] section
import FuzzSupport
@testable import SRIOVKit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHostText(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
  guard size > 0 else { return 0 }
  let selector = data.load(as: UInt8.self) % 4
  let body = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
  let input = String(decoding: body, as: UTF8.self)
  switch selector {
  case 0:
    writeScratch("/proc/cmdline", body)
    let line = (try? KernelCommandLine.read(root: scratchRoot.root)) ?? nil
    for name in ["intel_iommu", "amd_iommu", "iommu"] { _ = line?.values(of: name) }
    _ = line?.has("intel_iommu", option: "on")
    _ = KernelCommandLine(input).parameters
  case 1:
    if let message = KernelLog.parse(input) {
      require((0...7).contains(message.level), "kmsg level \(message.level) from '\(input)'")
      _ = message.timestamp
    }
    writeScratch("/dev/kmsg", body)
    _ = try? KernelLog.read(root: scratchRoot.root)
  case 2:
    writeScratch("/proc/cpuinfo", body)
    _ = try? CPUVendor.read(root: scratchRoot.root)
  default:
    writeScratch("/etc/systemd/network/99-default.link", body)
    let request = VFRequest(pf: .address(PCIAddress(bus: 0x3b, device: 0, function: 0)), count: 2)
    guard let rendered = try? Persistence.render(request, method: .link, root: scratchRoot.root).content else {
      return 0
    }
    // Whatever the defaults file holds, the rendered file is still sections of Key=Value lines
    // with the one count asked for.
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
  }
  return 0
}
