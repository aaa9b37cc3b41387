import ArgumentParser
import Glibc
import SRIOVKit

struct Apply: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Bring every PF the node file selects to what it asks for, in parallel.",
    discussion: """
      Reads the node file (sriovctl's 'version: 1' form, or the SR-IOV network operator's \
      SriovNetworkNodePolicy documents), matches its policies against this host's PFs, and for \
      each PF works out and makes the changes, by the rules of create-vfs: nothing written when \
      already right, through 0 only when no VF is in use unless --force, VF drivers and settings \
      per VF range. PFs are configured at the same time; one PF's failure does not stop the \
      others, and the exit status is 1 if any failed. A policy that selects no PF here is listed \
      as unmatched, not an error. --dry-run prints the plan and changes nothing.

        version: 1
        policies:
          - name: dpdk
            nicSelector: {pfNames: ["ens1f0#0-3"]}
            numVfs: 8
            deviceType: vfio-pci
          - name: kernel
            nicSelector: {pfNames: ["ens1f0#4-7"]}
            numVfs: 8
            vfSettings: {mac: auto, vlan: 100}

      Examples:
        sriovctl apply --dry-run
        sriovctl apply -f node.yaml -o json
        kubectl get sriovnetworknodepolicies -o yaml | sriovctl apply -f -
      """)

  @OptionGroup var options: GlobalOptions
  @ParentCommand var parent: SRIOVCtl
  @OptionGroup var node: NodeFileOptions

  @Flag(name: .customLong("dry-run"), help: "Print the plan and change nothing.")
  var dryRun = false

  @Flag(help: "Change a VF count even when VFs are in use.")
  var force = false

  @Flag(help: "At boot: wait for udev's queue, then for each PF's driver and interface.")
  var boot = false

  @Option(parsing: .unconditional, help: ArgumentHelp("Seconds for the whole run.", valueName: "SECONDS"))
  var timeout: Double = VFRequest.defaultTimeout

  func validate() throws {
    guard VFRequest.isValidTimeout(timeout) else {
      throw ValidationError("--timeout '\(timeout)': expected seconds, more than 0 and at most 3600")
    }
  }

  func run() throws {
    let options = options.merged(with: parent.options)
    try options.requireTextOrJSON()
    let root = try options.hostRoot()
    if boot && !dryRun {
      try NodeApply.waitForUdevQueue(root: root, deadline: Deadline(secondsFromNow: timeout), timeout: timeout)
    }
    var targets = try node.targets(root: root)
    for index in targets.pfs.indices {
      targets.pfs[index].request.force = force
      targets.pfs[index].request.timeout = timeout
      targets.pfs[index].request.waitForPF = boot
    }
    // At boot each action goes to the journal as it is made.
    let result = try NodeApply.run(targets, root: root, dryRun: dryRun, timeout: timeout, progress: { line in
      if boot {
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
      }
    })
    Output.emit(options.format, json: result.json) { NodeText.render(result) }
    if !result.errors.isEmpty { throw ExitCode.failure }
  }
}
