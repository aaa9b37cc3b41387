// create-vfs/persist VF values: each input line is one option occurrence, `OPTION VALUE`
// (`vlan 2=100`, `mac 0=02:00:00:00:00:01`, `count 4`). Whatever validates must be in range, and
// the options it prints (createArguments, used by persist) must parse back to the same request.
import FuzzSupport
import SRIOVKit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzVFValues(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
  let input = text(data, size)
  if let mac = MACAddress(input) {
    require(MACAddress(mac.description) == mac, "MACAddress '\(input)' does not round-trip")
    _ = MACAddress.derived(from: mac, index: Int(size))
  }
  guard let parsed = try? request(input.split(separator: "\n")) else { return 0 }
  // Values that reach the kernel as u32 (IFLA_VF_RATE) or u16 must fit before narrowing.
  let rates = parsed[.maxTxRate]
  for case .value(.maxTxRate(let rate)) in [rates.all].compactMap({ $0 }) + Array(rates.byIndex.values) {
    require(rate >= 0 && rate <= Int(UInt32.max), "--max-tx-rate \(rate) accepted but does not fit the kernel's u32")
  }
  let again = try? request(lines(parsed.createArguments()))
  require(again == parsed, "createArguments \(parsed.createArguments()) does not parse back to the request")
  return 0
}
