import ArgumentParser
import SRIOVKit

struct Persist: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "persist",
    abstract: "Write what recreates the VFs at boot: a udev rule, systemd unit or .link file. (Not implemented yet.)")

  @OptionGroup var options: GlobalOptions
  @ParentCommand var parent: SRIOVCtl

  func run() throws {
    throw NotImplemented(command: "persist")
  }
}
