// Text sriovctl reads from the host: the first byte chooses the parser, the rest is the file.
//   0  /proc/cmdline          1  a /dev/kmsg record and a /dev/kmsg file          2  /proc/cpuinfo
import FuzzSupport
@testable import SRIOVKit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHostText(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
  guard size > 0 else { return 0 }
  let selector = data.load(as: UInt8.self) % 3
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
  default:
    writeScratch("/proc/cpuinfo", body)
    _ = try? CPUVendor.read(root: scratchRoot.root)
  }
  return 0
}
