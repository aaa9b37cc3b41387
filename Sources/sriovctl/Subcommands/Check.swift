import ArgumentParser
import SRIOVKit

struct Check: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "check",
    abstract: "Check that IOMMU, firmware, kernel and NICs are ready for SR-IOV. (Not implemented yet.)")

  @OptionGroup var options: GlobalOptions
  @ParentCommand var parent: SRIOVCtl

  func run() throws {
    throw NotImplemented(command: "check")
  }
}
