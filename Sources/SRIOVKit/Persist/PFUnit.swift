/// The per-PF systemd unit (`persist --method systemd`): runs `sriovctl create-vfs PF` with every
/// option before network-pre.target and kubelet.service.
struct PFUnit: BootFile {
  var request: VFRequest
  var pf: PCIAddress

  var path: String { PersistMethod.systemd.path(for: pf) }
  var reader: BootFileReader { .systemd(unit: PersistMethod.unitName(for: pf)) }

  func render(root: HostRoot) throws -> String {
    guard let binary = ["/usr/local/bin/sriovctl", "/usr/bin/sriovctl", "/usr/sbin/sriovctl"].first(where: root.exists)
    else { throw PersistError.noBinary(root) }
    let arguments = [binary, "create-vfs", pf.description] + request.createArguments()
      + ["--wait-for-pf", "--timeout", request.timeoutArgument]
    try arguments.forEach(BootFiles.checkSafe)
    return perPFHeader(request, pf: pf, method: .systemd) + """
      [Unit]
      Description=SR-IOV: \(request.count) VFs on \(pf) (sriovctl)
      Documentation=man:sriovctl(1)
      # Early, before networking and Kubernetes use the VFs. create-vfs follows the PF by its PCI
      # address and waits until udev has named its interface; udev's sockets come first, so
      # create-vfs can tell that udev runs.
      DefaultDependencies=no
      Wants=systemd-udev-trigger.service network-pre.target
      After=systemd-udevd-control.socket systemd-udevd-kernel.socket systemd-udev-trigger.service
      After=systemd-modules-load.service local-fs.target
      Before=network-pre.target kubelet.service shutdown.target
      Conflicts=shutdown.target

      [Service]
      Type=oneshot
      RemainAfterExit=yes
      ExecStart=\(arguments.joined(separator: " "))

      [Install]
      WantedBy=multi-user.target

      """
  }
}
