/// The udev rule (`persist --method udev`): writes `sriov_numvfs` (and autoprobe) when the PF's
/// interface appears, matched by PCI address. No sriovctl at boot; only the count and autoprobe.
struct UdevRule: BootFile {
  var request: VFRequest
  var pf: PCIAddress

  var path: String { PersistMethod.udev.path(for: pf) }
  var reader: BootFileReader { .udev }

  func render(root: HostRoot, for purpose: BootFilePurpose) throws -> String {
    try Persistence.checkCarried(request, by: .udev)
    // When the PF's interface appears its driver is bound; the count is written only from 0 (a
    // second add event, or a driver that already made VFs, must not give EBUSY).
    var assignments = ""
    if let autoprobe = request.autoprobe { assignments += ", ATTR{device/sriov_drivers_autoprobe}=\"\(autoprobe ? 1 : 0)\"" }
    assignments += ", ATTR{device/sriov_numvfs}=\"\(request.count)\""
    return perPFHeader(request, pf: pf, method: .udev)
      + "ACTION==\"add\", SUBSYSTEM==\"net\", KERNELS==\"\(pf)\", ATTR{device/sriov_numvfs}==\"0\"\(assignments)\n"
  }
}

/// The header of a per-PF file: `persist PF OPTIONS --method METHOD`, to reproduce and remove it.
func perPFHeader(_ request: VFRequest, pf: PCIAddress, method: PersistMethod) -> String {
  let timeout = request.timeout == VFRequest.defaultTimeout ? [] : ["--timeout", request.timeoutArgument]
  let reproduce = (["sriovctl", "persist", pf.description] + request.createArguments() + timeout + ["--method", method.rawValue])
    .joined(separator: " ")
  return BootFiles.header(
    "\(request.count) VFs on PF \(pf) at boot.", reproduce: reproduce + " --install",
    remove: "sriovctl persist \(pf) --method \(method.rawValue) --remove")
}
