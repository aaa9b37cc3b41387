import ArgumentParser
import SRIOVKit

struct Persist: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Write what recreates the VFs at boot: a udev rule, systemd unit or .link file.",
    discussion: """
      VFs vanish at reboot. By default the file is printed, for review, an Ansible template or \
      cloud-init's write_files; --install writes it atomically under ROOT/etc and reloads udev \
      or systemd (with --root, enables the unit offline, touching nothing live); --remove \
      deletes what sriovctl wrote for the PF.

        udev     /etc/udev/rules.d/70-sriovctl-PCI.rules: sets sriov_numvfs when the PF's
                 interface appears, matched by PCI address. Needs no sriovctl at boot; only
                 --count and --autoprobe.
        systemd  /etc/systemd/system/sriovctl-vfs-PCI.service: runs 'sriovctl create-vfs' with
                 every option before network-pre.target and kubelet.service; sriovctl must be
                 installed under ROOT for --install (printing names /usr/sbin/sriovctl).
        link     /etc/systemd/network/10-sriovctl-PCI.link: SR-IOVVirtualFunctions= and [SR-IOV]
                 sections (systemd 251 or newer); --count, --mac INDEX=MAC, --vlan, --trust,
                 --spoofchk, --link-state.

      Examples:
        sriovctl persist ens1f0 --count 8 --method udev
        sriovctl persist 0000:3b:00.0 --count 4 --driver vfio-pci --method systemd --install
        sriovctl persist 0000:3b:00.0 --method systemd --remove
        sriovctl persist --config -f node.yaml --install

      --config installs one unit for the whole node instead, /etc/systemd/system/sriovctl.service, \
      which runs 'sriovctl apply --boot' on /etc/sriovctl/sriovctl.yaml at every boot (after \
      udev, before network-pre.target and kubelet.service); -f FILE is checked and installed \
      there atomically. --config --remove removes the unit and leaves the file.
      """)

  @OptionGroup var options: GlobalOptions
  @ParentCommand var parent: SRIOVCtl

  @Argument(help: ArgumentHelp("The PF: interface name or PCI address (not with --config).", valueName: "PF"), transform: parsePFSelector)
  var pf: PFSelector?

  @Flag(help: "The node unit: sriovctl.service runs 'sriovctl apply --boot' on the node file at every boot.")
  var config = false

  @OptionGroup var node: NodeFileOptions

  @Option(help: ArgumentHelp("udev, systemd or link.", valueName: "METHOD"))
  var method: PersistMethod?

  @Flag(help: "Write the file under ROOT/etc and reload udev or systemd.")
  var install = false

  @Flag(help: "Remove the files sriovctl wrote for the PF (with --method, only that one).")
  var remove = false

  @OptionGroup var vf: VFOptions

  func validate() throws {
    if install && remove { throw ValidationError("--install and --remove cannot be given together") }
    if config {
      guard pf == nil, method == nil, vf.count == nil, !vf.hasSettings else {
        throw ValidationError("--config takes no PF, --method or VF options: the node file says what each PF gets")
      }
      if remove && node.file != nil { throw ValidationError("--remove takes no -f: it removes the unit and leaves the node file") }
      guard VFRequest.isValidTimeout(vf.timeout) else {
        throw ValidationError("--timeout '\(vf.timeout)': expected seconds, more than 0 and at most 3600")
      }
      return
    }
    if node.file != nil { throw ValidationError("-f names a node file, for --config") }
    guard pf != nil else { throw ValidationError("Missing expected argument '<PF>' (or --config)") }
    if remove {
      guard vf.count == nil, !vf.hasSettings else { throw ValidationError("--remove takes only the PF, --method and --timeout") }
      // The same bound create-vfs and --install apply (VFRequest.validate).
      guard VFRequest.isValidTimeout(vf.timeout) else {
        throw ValidationError("--timeout '\(vf.timeout)': expected seconds, more than 0 and at most 3600")
      }
      return
    }
    guard let method else { throw ValidationError("Missing expected argument '--method <METHOD>'") }
    do {
      try Persistence.checkCarried(try request(), by: method)
    } catch let error as PersistError {
      throw ValidationError(error.description)
    }
  }

  private func request() throws -> VFRequest {
    try vf.request(pf: pf!)
  }

  func run() throws {
    let options = options.merged(with: parent.options)
    try options.requireTextOrJSON()
    let root = try options.hostRoot()
    if config {
      let result: NodeUnitResult
      if remove {
        result = try NodeUnit.remove(root: root, timeout: vf.timeout)
      } else if install {
        result = try NodeUnit.install(file: node.file, root: root, timeout: vf.timeout)
      } else {
        result = try NodeUnit.print(file: node.file, root: root, timeout: vf.timeout)
      }
      Output.emit(options.format, json: result.json) {
        guard install || remove else { return result.content ?? "" }
        let verb = remove ? (result.changed ? "removed" : "not there") : (result.changed ? "installed" : "unchanged")
        return "\(result.path): \(verb)\n" + result.notes.map { "  \($0)\n" }.joined()
      }
      return
    }
    let pf = self.pf!
    if remove {
      let results = try Persistence.remove(pf, method: method, root: root, timeout: vf.timeout)
      Output.emit(options.format, json: results.count == 1 ? results[0].json : .object([("removed", .array(results.map(\.json)))])) {
        results.map { "\($0.path): \($0.changed ? "removed" : "not there")\n" + $0.notes.map { "  \($0)\n" }.joined() }.joined()
      }
      return
    }
    let request = try request()
    let result =
      install
      ? try Persistence.install(request, method: method!, root: root)
      : try Persistence.render(request, method: method!, root: root)
    Output.emit(options.format, json: result.json) {
      guard install else { return result.content ?? "" }
      return "\(result.path): \(result.changed ? "installed" : "unchanged")\n" + result.notes.map { "  \($0)\n" }.joined()
    }
  }
}

extension PersistMethod: ExpressibleByArgument {}
