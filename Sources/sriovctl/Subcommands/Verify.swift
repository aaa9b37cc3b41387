import ArgumentParser
import SRIOVKit

struct Verify: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Compare the host with the node file; change nothing.",
    discussion: """
      For every PF the node file selects: the VF count and MTU, each VF's driver and its link \
      settings (mac, vlan, trust, spoofchk, linkState, maxTxRate), as apply would make them. \
      Exits 0 when the host is in sync, 2 when it has drifted (each difference is printed: PF, \
      VF, field, wanted and found), 1 on error; Ansible, cron or a monitoring agent can alert on \
      it, and 'sriovctl apply' restores it.

      Examples:
        sriovctl verify
        sriovctl verify -f node.yaml -o json
      """)

  @OptionGroup var options: GlobalOptions
  @ParentCommand var parent: SRIOVCtl
  @OptionGroup var node: NodeFileOptions

  func run() throws {
    let options = options.merged(with: parent.options)
    try options.requireTextOrJSON()
    let root = try options.hostRoot()
    let result = try NodeVerify.run(try node.targets(root: root), root: root)
    Output.emit(options.format, json: result.json) { NodeText.render(result) }
    if !result.inSync { throw ExitCode(2) }
  }
}
