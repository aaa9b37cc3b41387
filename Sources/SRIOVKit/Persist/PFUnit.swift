/// The per-PF systemd unit (`persist --method systemd`): runs `sriovctl create-vfs PF` with every
/// option before network-pre.target and kubelet.service.
struct PFUnit: BootFile {
  var request: VFRequest
  var pf: PCIAddress

  var path: String { PersistMethod.systemd.path(for: pf) }
  var reader: BootFileReader { .systemd(unit: PersistMethod.unitName(for: pf)) }

  func render(root: HostRoot, for purpose: BootFilePurpose) throws -> String {
    let (binary, missing) = try BootFiles.unitBinary(root: root, for: purpose)
    let arguments = [binary, "create-vfs", pf.description] + request.createArguments()
      + ["--wait-for-pf", "--timeout", request.timeoutArgument]
    try arguments.forEach(BootFiles.checkSafe)
    return perPFHeader(request, pf: pf, method: .systemd) + (missing ?? "")
      + BootFiles.earlyUnit(
        description: "SR-IOV: \(request.count) VFs on \(pf) (sriovctl)",
        comment: """
          # Early, before networking and Kubernetes use the VFs. create-vfs follows the PF by its PCI
          # address and waits until udev has named its interface; udev's sockets come first, so
          # create-vfs can tell that udev runs.
          """,
        command: arguments)
  }
}
