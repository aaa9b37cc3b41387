import ArgumentParser
import SRIOVKit

struct Label: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "label",
    abstract: "Label the Kubernetes node with its SR-IOV facts through kubectl. (Not implemented yet.)")

  @OptionGroup var options: GlobalOptions
  @ParentCommand var parent: SRIOVCtl

  func run() throws {
    throw NotImplemented(command: "label")
  }
}
