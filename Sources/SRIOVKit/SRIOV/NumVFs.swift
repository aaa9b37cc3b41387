import CLinux
import Glibc

/// Writing `sriov_numvfs`, and the one place its errors become words and remedies
/// (drivers/pci/iov.c `sriov_numvfs_store()` and the PF drivers' `sriov_configure`).
public enum NumVFs {
  /// What the kernel's errno means for a write of `count` to a PF's `sriov_numvfs`.
  public static func explain(_ code: Int32, count: Int, pf: PhysicalFunction) -> (String, String) {
    let driver = pf.driver ?? "its driver"
    switch code {
    case EBUSY:
      return (
        "the kernel refused \(count) because VFs are already enabled (EBUSY)",
        "a new count is only accepted from 0; a VF may still be held by a VM or a process")
    case ERANGE:
      return (
        "\(count) is more than the \(pf.totalVFs) VFs the PF allows (ERANGE)",
        "ask for at most \(pf.totalVFs)")
    case ENOENT where pf.driver == nil:
      return (
        "no driver is bound to the PF, and the kernel creates VFs only through the PF's driver (ENOENT)",
        "bind its driver first: 'modprobe DRIVER' or 'echo \(pf.address) > /sys/bus/pci/drivers/DRIVER/bind' "
          + "('lspci -k -s \(pf.address)' names the kernel modules that can drive it)")
    case ENOENT:
      return (
        "\(driver) has no SR-IOV support for this PF (ENOENT)",
        "use a driver that supports SR-IOV on it (the vendor's or a newer in-tree driver), or update the NIC's firmware")
    case ENOMEM:
      return (
        "the kernel could not find MMIO or bus resources for \(count) VFs (ENOMEM)",
        "enable 'SR-IOV Support' and 'Above 4G Decoding' in the BIOS/UEFI setup; if that is not enough, add "
          + "pci=realloc to the kernel command line (see 'sriovctl check')")
    case ENOSPC:
      return (
        "not enough interrupt vectors (MSI-X) or queues for \(count) VFs (ENOSPC)",
        "ask for fewer VFs, or give the PF fewer queues (ethtool -L) and try again")
    case EINVAL:
      return (
        "\(driver) rejected \(count) VFs (EINVAL)",
        "the driver may need the PF up, a supported VF count, or SR-IOV enabled in the NIC's firmware: see the kernel log")
    case EPERM, EACCES:
      return ("permission denied (\(Errno.symbol(code) ?? "EPERM"))", "run sriovctl as root")
    case EIO:
      return (
        "\(driver) or the NIC's firmware failed to create the VFs (EIO)",
        "see the kernel log (dmesg); a firmware update or a reset of the NIC may be needed")
    case EOPNOTSUPP:
      return ("\(driver) cannot change the VF count now (EOPNOTSUPP)", "see the kernel log (dmesg)")
    default:
      return ("the kernel refused \(count) VFs: \(Errno.describe(code))", "see the kernel log (dmesg)")
    }
  }

  /// The outcome of a write that was given a deadline.
  enum WriteOutcome {
    case done
    case failed(Int32)
    /// The write had not returned by the deadline; it is still blocked in the kernel.
    case hung
  }

  /// Writes `count` to the PF's `sriov_numvfs` on a thread of its own, so a driver that never
  /// returns cannot hold sriovctl past its timeout. The file is opened here, through the root (a
  /// regular file, never a FIFO); the thread only writes.
  ///
  /// - Throws: ``HostError/notARegularFile(_:kind:)`` when `sriov_numvfs` is not a regular file.
  static func write(_ count: Int, pf: PCIAddress, root: HostRoot, deadline: Deadline) throws -> WriteOutcome {
    let path = "/sys/bus/pci/devices/\(pf)/sriov_numvfs"
    let fd: Int32
    do {
      fd = try root.openAttributeForWriting(path, value: "\(count)")
    } catch HostError.writeFailed(_, _, let code) {
      return .failed(code)
    }
    let bytes = Array("\(count)\n".utf8)
    let outcome = BoundedCall.run(until: deadline) {
      defer { close(fd) }
      var n: Int
      repeat {
        n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
      } while n < 0 && errno == EINTR
      return n < 0 ? errno : 0
    }
    switch outcome {
    case .returned(0): return .done
    case .returned(let code): return .failed(code)
    case .timedOut: return .hung
    case .notStarted(let code):
      close(fd)
      return .failed(code)
    }
  }
}

/// The permanent MAC address of an interface (`ethtool -P`), or `nil` when the driver has none.
func permanentMAC(of interface: String) -> MACAddress? {
  var bytes = [UInt8](repeating: 0, count: 6)
  guard sriovctl_permanent_mac(interface, &bytes) == 0, let mac = MACAddress(bytes: bytes), !mac.isZero
  else { return nil }
  return mac
}
