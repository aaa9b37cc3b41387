// PCI addresses, PF selectors and device-plugin-config's PF#RANGES: whatever parses must print
// back to text that parses to the same value, and nothing may trap.
import FuzzSupport
@testable import SRIOVKit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSelectors(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
  let input = text(data, size)
  if let address = PCIAddress(input) {
    require(address.device < 32 && address.function < 8, "PCIAddress '\(input)' gave \(address)")
    require(PCIAddress(address.description) == address, "PCIAddress '\(input)' does not round-trip")
  }
  if let name = InterfaceName(input) {
    require(InterfaceName(name.description) == name, "InterfaceName '\(input)' does not round-trip")
  }
  if let selector = PFSelector(input) {
    require(PFSelector(selector.description) == selector, "PFSelector '\(input)' does not round-trip")
  }
  if let selection = DevicePluginConfig.PFSelection(input) {
    require(selection.ranges.allSatisfy { $0.lowerBound >= 0 }, "negative VF index from '\(input)'")
    // The suffix is what reaches the resource name and the error messages.
    let again = DevicePluginConfig.PFSelection(selection.pf.description + selection.suffix)
    require(again == selection, "PFSelection '\(input)' does not round-trip")
  }
  _ = DriverName(input)
  return 0
}
