import Foundation
import SRIOVKit
import XCTest

/// The kernel's text interfaces: /proc/cmdline and /dev/kmsg records.
final class KernelInterfacesTests: XCTestCase {
  func testCommandLineSplitsLikeTheKernel() {
    let line = KernelCommandLine(
      "BOOT_IMAGE=/vmlinuz root=UUID=ab ro  quiet dyndbg=\"file iov.c +p\" intel_iommu=on,sm_on iommu=pt\n")
    XCTAssertEqual(
      line.parameters,
      ["BOOT_IMAGE=/vmlinuz", "root=UUID=ab", "ro", "quiet", "dyndbg=file iov.c +p", "intel_iommu=on,sm_on", "iommu=pt"])
    XCTAssertEqual(line.values(of: "quiet"), [""])
    XCTAssertEqual(line.values(of: "root"), ["UUID=ab"])
    XCTAssertTrue(line.has("intel_iommu", option: "on"))
    XCTAssertTrue(line.has("intel_iommu", option: "sm_on"))
    XCTAssertFalse(line.has("intel_iommu", option: "off"))
    XCTAssertFalse(line.has("iommu", option: "off"))
    XCTAssertEqual(KernelCommandLine("").parameters, [])
  }

  func testKmsgRecordsParseWithTheirTimesAndEscapes() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kmsg-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory.appendingPathComponent("dev"), withIntermediateDirectories: true)
    addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
    try """
      6,0,0,-;Linux version 6.1.0-31-amd64
      3,1,1234567,-,caller=T1;pci 0000:3b:00.1: not enough MMIO resources for SR-IOV
       SUBSYSTEM=pci
       DEVICE=+pci:0000:3b:00.1
      4,2,98765432100,c;tab\\x09and backslash \\x5c here
      garbage line
      14,3,5,-;from user space

      """.write(to: directory.appendingPathComponent("dev/kmsg"), atomically: false, encoding: .utf8)
    let log = try KernelLog.read(root: try HostRoot(directory.path))
    XCTAssertEqual(log.source, "/dev/kmsg")
    XCTAssertFalse(log.isIncomplete)
    XCTAssertEqual(log.messages.map(\.sequence), [0, 1, 2, 3])
    XCTAssertEqual(log.messages[1].level, 3)
    XCTAssertEqual(log.messages[1].timestamp, "[    1.234567]")
    XCTAssertEqual(log.messages[1].text, "pci 0000:3b:00.1: not enough MMIO resources for SR-IOV")
    XCTAssertEqual(log.messages[2].timestamp, "[98765.432100]")
    XCTAssertEqual(log.messages[2].text, "tab\tand backslash \\ here")
    XCTAssertEqual(log.messages[3].level, 6, "facility bits are dropped")
  }

  func testTheLiveKmsgDeviceIsReadToTheEnd() throws {
    // On the machine running the tests, /dev/kmsg is the real character device (as root).
    guard getuid() == 0, FileManager.default.fileExists(atPath: "/dev/kmsg") else {
      throw XCTSkip("reading /dev/kmsg needs root and the device")
    }
    let log = try KernelLog.read(root: .live)
    XCTAssertFalse(log.messages.isEmpty)
    XCTAssertEqual(log.messages.map(\.sequence), log.messages.map(\.sequence).sorted())
  }
}
