import ArgumentParser
import SRIOVKit

struct CreateVFs: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "create-vfs",
    abstract: "Create and configure VFs on a PF, safely and idempotently. (Not implemented yet.)")

  @OptionGroup var options: GlobalOptions
  @ParentCommand var parent: SRIOVCtl

  func run() throws {
    throw NotImplemented(command: "create-vfs")
  }
}
