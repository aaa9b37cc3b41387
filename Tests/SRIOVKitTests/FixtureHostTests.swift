import Foundation
import SRIOVFixtures
import SRIOVKit
import XCTest

/// The fixture hosts, read back by the real lspci (libpci's linux-sysfs method pointed at the
/// tree) and by plain file reads: they must look like the machines they describe.
final class FixtureHostTests: XCTestCase {
  private let lspciPath = "/usr/bin/lspci"

  // MARK: Named hosts

  func testX710HostReadsAsIntended() throws {
    let root = try temporaryDirectory()
    try FixtureHosts.x710(at: root)
    let devices = try lspciDevices(root)

    let pf0 = try XCTUnwrap(devices["3b:00.0"])
    for line in [
      "Ethernet controller [0200]", "[8086:1572]",
      "Capabilities: [120 v1] Single Root I/O Virtualization (SR-IOV)",
      "Device Serial Number", "Alternative Routing-ID Interpretation (ARI)",
      "Initial VFs: 64, Total VFs: 64, Number of VFs: 4,",
      "VF offset: 16, stride: 1, Device ID: 154c",
      "IOVCtl:\tEnable+", "Kernel driver in use: i40e", "NUMA node: 0", "IOMMU group:",
    ] {
      XCTAssertTrue(pf0.contains(line), "3b:00.0 lacks '\(line)':\n\(pf0)")
    }
    let pf1 = try XCTUnwrap(devices["3b:00.1"])
    XCTAssertTrue(pf1.contains("Total VFs: 64, Number of VFs: 0,"), pf1)
    XCTAssertTrue(pf1.contains("VF offset: 79, stride: 1, Device ID: 154c"), pf1)
    for function in 0..<4 {
      let vf = try XCTUnwrap(devices["3b:02.\(function)"], "VF 3b:02.\(function) missing")
      XCTAssertTrue(
        vf.contains(
          "Ethernet controller [0200]: Intel Corporation Ethernet Virtual Function 700 Series [8086:154c]"
        ), vf)
      XCTAssertTrue(vf.contains("Kernel driver in use: iavf"), vf)
      XCTAssertTrue(vf.contains("[virtual]"), "a VF's BARs read zero in config: \(vf)")
      XCTAssertFalse(vf.contains("SR-IOV"), vf)
    }
    XCTAssertNil(devices["3b:02.4"])
    let nvme = try XCTUnwrap(devices["5e:00.0"])
    XCTAssertTrue(nvme.contains("Non-Volatile memory controller [0108]"), nvme)
    XCTAssertTrue(nvme.contains("Total VFs: 32, Number of VFs: 0"), nvme)
    XCTAssertTrue(nvme.contains("Kernel driver in use: nvme"), nvme)
    let i210 = try XCTUnwrap(devices["04:00.0"])
    XCTAssertTrue(i210.contains("[8086:1533]") && i210.contains("Kernel driver in use: igb"), i210)
    XCTAssertFalse(i210.contains("SR-IOV"), i210)
    XCTAssertTrue(
      try XCTUnwrap(devices["3a:00.0"]).contains("Bus: primary=3a, secondary=3b, subordinate=3b"))
    XCTAssertEqual(
      devices.count, 11, "3 root ports, 2 PFs, 4 VFs, NVMe, I210: \(devices.keys.sorted())")

    let pf = "\(root)/sys/bus/pci/devices/0000:3b:00.0"
    XCTAssertEqual(try attribute("\(pf)/vendor"), "0x8086")
    XCTAssertEqual(try attribute("\(pf)/class"), "0x020000")
    XCTAssertEqual(try attribute("\(pf)/sriov_totalvfs"), "64")
    XCTAssertEqual(try attribute("\(pf)/sriov_numvfs"), "4")
    XCTAssertEqual(try attribute("\(pf)/sriov_offset"), "16")
    XCTAssertEqual(try attribute("\(pf)/sriov_stride"), "1")
    XCTAssertEqual(try attribute("\(pf)/sriov_vf_device"), "154c")
    XCTAssertEqual(try attribute("\(pf)/sriov_drivers_autoprobe"), "1")
    XCTAssertEqual(try attribute("\(root)/sys/bus/pci/devices/0000:3b:00.1/sriov_numvfs"), "0")
    XCTAssertEqual(try attribute("\(root)/sys/bus/pci/devices/0000:5e:00.0/sriov_totalvfs"), "32")
    for index in 0..<4 {
      XCTAssertEqual(try link("\(pf)/virtfn\(index)"), "../0000:3b:02.\(index)")
      XCTAssertEqual(
        try link("\(root)/sys/bus/pci/devices/0000:3b:02.\(index)/physfn"), "../0000:3b:00.0")
      XCTAssertEqual(
        try link("\(root)/sys/class/net/ens1f0v\(index)/device"), "../../../0000:3b:02.\(index)")
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(pf)/virtfn4"))
    // The kernel's relative links, at their real depths.
    XCTAssertEqual(try link("\(pf)/driver"), "../../../../bus/pci/drivers/i40e")
    XCTAssertEqual(
      try link("\(root)/sys/bus/pci/devices/0000:3b:00.0"),
      "../../../devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0")
    XCTAssertEqual(
      try link("\(root)/sys/class/net/ens1f0"),
      "../../devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0/net/ens1f0")
    XCTAssertTrue(try link("\(pf)/iommu_group").hasPrefix("../../../../kernel/iommu_groups/"))
    XCTAssertEqual(
      try link("\(root)/sys/bus/pci/drivers/iavf/0000:3b:02.1"),
      "../../../../devices/pci0000:3a/0000:3a:00.0/0000:3b:02.1")
    for control in ["bind", "unbind", "new_id", "remove_id"] {
      XCTAssertTrue(
        FileManager.default.fileExists(atPath: "\(root)/sys/bus/pci/drivers/i40e/\(control)"))
    }
    XCTAssertEqual(
      try attribute("\(root)/sys/class/net/ens1f1/ifindex").flatMap { Int($0) }.map { $0 > 1 }, true
    )
    XCTAssertEqual(try attribute("\(root)/sys/class/net/eno1/operstate"), "up")
    XCTAssertEqual(try attribute("\(root)/sys/class/net/lo/type"), "772")
    XCTAssertTrue(FileManager.default.fileExists(atPath: "\(root)/sys/class/iommu/dmar0"))
    XCTAssertTrue(FileManager.default.fileExists(atPath: "\(root)/sys/firmware/acpi/tables/DMAR"))
    XCTAssertEqual(
      try directoryEntries("\(root)/sys/kernel/iommu_groups").count, 11, "a group per function")

    XCTAssertTrue(try text("\(root)/proc/cmdline").contains("intel_iommu=on iommu=pt"))
    XCTAssertTrue(try text("\(root)/proc/cpuinfo").contains("vendor_id\t: GenuineIntel"))
    let kmsg = try text("\(root)/dev/kmsg")
    XCTAssertTrue(kmsg.contains(";DMAR: IOMMU enabled\n"))
    for record in kmsg.split(separator: "\n") {
      XCTAssertNotNil(
        record.wholeMatch(of: /[0-7],\d+,\d+,-;.+/), "not a /dev/kmsg record: \(record)")
    }
    XCTAssertTrue(FileManager.default.fileExists(atPath: "\(root)/etc"))
    try assertLinksResolveInside(root)
  }

  func testConnectX5WithSRIOVDisabledHasCapabilityButNoAttributes() throws {
    let root = try temporaryDirectory()
    try FixtureHosts.connectX5SRIOVDisabled(at: root)
    let devices = try lspciDevices(root)
    let nic = try XCTUnwrap(devices["af:00.0"])
    for line in [
      "[15b3:1017]", "Single Root I/O Virtualization (SR-IOV)", "Total VFs: 0, Number of VFs: 0",
      "Device ID: 1018", "Kernel driver in use: mlx5_core", "NUMA node: 1",
    ] {
      XCTAssertTrue(nic.contains(line), "af:00.0 lacks '\(line)':\n\(nic)")
    }
    let directory = "\(root)/sys/bus/pci/devices/0000:af:00.0"
    let sriovFiles = try directoryEntries(directory).filter {
      $0.hasPrefix("sriov_") || $0.hasPrefix("virtfn")
    }
    XCTAssertEqual(sriovFiles, [], "TotalVFs 0: sriov_init() creates no attributes")
    XCTAssertEqual(try attribute("\(directory)/vendor"), "0x15b3")
    XCTAssertEqual(try attribute("\(root)/sys/class/net/ens2f0np0/phys_port_name"), "p0")
    XCTAssertTrue(FileManager.default.fileExists(atPath: "\(root)/sys/class/iommu/ivhd0"))
    XCTAssertTrue(try text("\(root)/proc/cmdline").contains("amd_iommu=on"))
    XCTAssertTrue(try text("\(root)/proc/cpuinfo").contains("AuthenticAMD"))
    try assertLinksResolveInside(root)
  }

  func testNoSRIOVHostHasNeitherSRIOVNorIOMMU() throws {
    let root = try temporaryDirectory()
    try FixtureHosts.noSRIOV(at: root)
    let devices = try lspciDevices(root)
    XCTAssertTrue(try XCTUnwrap(devices["01:00.0"]).contains("[1af4:1041]"))
    XCTAssertTrue(try XCTUnwrap(devices["01:00.0"]).contains("Kernel driver in use: virtio-pci"))
    XCTAssertTrue(try XCTUnwrap(devices["00:1f.6"]).contains("[8086:15bb]"))
    for (address, block) in devices {
      XCTAssertFalse(block.contains("SR-IOV"), address)
      XCTAssertFalse(block.contains("IOMMU group"), address)
    }
    for address in ["0000:01:00.0", "0000:00:1f.6"] {
      let entries = try directoryEntries("\(root)/sys/bus/pci/devices/\(address)")
      XCTAssertFalse(entries.contains { $0.hasPrefix("sriov_") }, address)
      XCTAssertEqual(try attribute("\(root)/sys/bus/pci/devices/\(address)/numa_node"), "-1")
    }
    XCTAssertEqual(try directoryEntries("\(root)/sys/kernel/iommu_groups"), [])
    XCTAssertEqual(try directoryEntries("\(root)/sys/class/iommu"), [])
    XCTAssertEqual(try directoryEntries("\(root)/sys/class/net"), ["eno1", "enp1s0", "lo"])
    try assertLinksResolveInside(root)
  }

  // How long it takes to build is the benchmark's business (Benchmarks/list.sh), not a test's.
  func testLargeHostHas1024VFs() throws {
    let root = try temporaryDirectory()
    try FixtureHosts.large(at: root)

    let listing = try run(
      lspciPath, ["-A", "linux-sysfs", "-O", "sysfs.path=\(root)/sys/bus/pci", "-nn"])
    let lines = listing.split(separator: "\n")
    XCTAssertEqual(lines.filter { $0.contains("[8086:1889]") }.count, 8 * 128)
    XCTAssertEqual(lines.filter { $0.contains("[8086:159b]") }.count, 8)
    var virtfnLinks = 0
    for k in 0..<8 {
      let pf = "\(root)/sys/bus/pci/devices/0000:\(String(format: "%02x", 2 + 2 * k)):00.0"
      XCTAssertEqual(try attribute("\(pf)/sriov_numvfs"), "128")
      XCTAssertEqual(try attribute("\(pf)/sriov_totalvfs"), "256")
      XCTAssertEqual(try attribute("\(pf)/sriov_vf_device"), "1889")
      virtfnLinks += try directoryEntries(pf).filter { $0.hasPrefix("virtfn") }.count
    }
    XCTAssertEqual(virtfnLinks, 8 * 128)
    XCTAssertEqual(
      try directoryEntries("\(root)/sys/bus/pci/drivers/iavf").filter { $0.hasPrefix("0000:") }
        .count, 1024)
    XCTAssertEqual(try directoryEntries("\(root)/sys/class/net").count, 8 + 8 * 128 + 1)
    let pf = try XCTUnwrap(try lspciDevices(root, only: "02:00.0")["02:00.0"])
    XCTAssertTrue(pf.contains("Total VFs: 256, Number of VFs: 128"), pf)
    XCTAssertTrue(pf.contains("VF offset: 8, stride: 1, Device ID: 1889"), pf)
    try assertLinksResolveInside(root)
  }

  // MARK: The builder

  func testConfigSpaceChainsExtendedCapabilitiesToSRIOV() throws {
    let config = PCIConfigSpace(
      vendorID: 0x8086, deviceID: 0x1572, classCode: 0x020000, link: .init(generation: 3, width: 8),
      serialNumber: 1, ariNextFunction: 1,
      sriov: .init(totalVFs: 64, numVFs: 4, firstVFOffset: 16, vfStride: 1, vfDeviceID: 0x154c))
    let bytes = config.bytes
    XCTAssertEqual(bytes.count, 4096)
    func word(_ offset: Int) -> Int { Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 }
    XCTAssertEqual(word(0), 0x8086)
    XCTAssertEqual(word(6) & 0x10, 0x10, "capabilities list")
    XCTAssertEqual(Array(bytes[0x09...0x0b]), [0x00, 0x00, 0x02])
    XCTAssertEqual(bytes[Int(bytes[0x34])], 0x10, "the first capability is PCI Express")
    var offset = 0x100
    var ids: [Int] = []
    while offset != 0 {
      ids.append(word(offset))
      if word(offset) == 0x0010 {
        XCTAssertEqual(word(offset + 0x0e), 64)
        XCTAssertEqual(word(offset + 0x10), 4)
        XCTAssertEqual(word(offset + 0x14), 16)
        XCTAssertEqual(word(offset + 0x1a), 0x154c)
      }
      offset = word(offset + 2) >> 4
    }
    XCTAssertEqual(ids, [0x0003, 0x000e, 0x0010], "DSN, ARI, SR-IOV")
    let vf = try config.virtualFunction(2).bytes
    XCTAssertEqual(
      Array(vf[0..<4]), [0xff, 0xff, 0xff, 0xff], "a VF's IDs read 0xffff, as in hardware")
  }

  func testVFAddressesCarryIntoTheNextBus() throws {
    let sriov = PCIConfigSpace.SRIOVCapability(
      totalVFs: 256, firstVFOffset: 8, vfStride: 1, vfDeviceID: 0x1889)
    let pf = PCIAddress(domain: 0, bus: 0x02, device: 0, function: 0)!
    XCTAssertEqual(try sriov.virtualFunctionAddress(0, of: pf).description, "0000:02:01.0")
    XCTAssertEqual(try sriov.virtualFunctionAddress(255, of: pf).description, "0000:03:00.7")
    XCTAssertThrowsError(
      try sriov.virtualFunctionAddress(
        0, of: PCIAddress(domain: 0, bus: 0xff, device: 31, function: 7)!))
  }

  func testWriteRefusesANonEmptyDirectory() throws {
    let root = try temporaryDirectory()
    try Data("x".utf8).write(to: URL(fileURLWithPath: "\(root)/stray"))
    XCTAssertThrowsError(try FixtureHosts.noSRIOV(at: root)) { error in
      XCTAssertEqual(error as? FixtureError, .directoryNotEmpty(root))
    }
  }

  func testWriteRejectsAVFThePFDoesNotEnable() throws {
    var host = try FixtureHosts.x710()
    host.functions.removeAll { $0.address.description == "0000:3b:02.3" }
    XCTAssertThrowsError(try host.write(to: try temporaryDirectory())) { error in
      guard case .invalid(let reason)? = error as? FixtureError else { return XCTFail("\(error)") }
      XCTAssertTrue(reason.contains("enables 4 VFs but 3 are listed"), reason)
    }
  }

  // MARK: Helpers

  /// A new directory, removed after the test. Fixture trees are tens of thousands of tiny files,
  /// so tmpfs is preferred: on this VM's disk the large host takes anywhere from 2 to 40 s to
  /// write, depending on other I/O, and under a second on tmpfs.
  private func temporaryDirectory() throws -> String {
    let base = access("/dev/shm", W_OK) == 0 ? "/dev/shm/" : NSTemporaryDirectory()
    let path = base + "FixtureHostTests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
  }

  /// Runs a program and returns its standard output; standard error is dropped (lspci warns that
  /// it finds no kernel modules on this machine).
  private func run(_ path: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    XCTAssertEqual(process.terminationStatus, 0, "\(path) \(arguments.joined(separator: " "))")
    return String(decoding: data, as: UTF8.self)
  }

  /// `lspci -vvv -nn` of the tree, one block per function keyed by its short address (`3b:00.0`).
  private func lspciDevices(_ root: String, only address: String? = nil) throws -> [String: String]
  {
    guard FileManager.default.isExecutableFile(atPath: lspciPath) else {
      XCTFail("\(lspciPath) is missing: apt-get install pciutils")
      throw CocoaError(.fileNoSuchFile)
    }
    var arguments = ["-A", "linux-sysfs", "-O", "sysfs.path=\(root)/sys/bus/pci", "-vvv", "-nn"]
    if let address { arguments += ["-s", address] }
    let output = try run(lspciPath, arguments)
    var devices: [String: String] = [:]
    for block in output.components(separatedBy: "\n\n") where !block.isEmpty {
      let trimmed = block.trimmingCharacters(in: .newlines)
      devices[String(trimmed.prefix { $0 != " " })] = trimmed
    }
    return devices
  }

  private func text(_ path: String) throws -> String {
    try String(contentsOfFile: path, encoding: .utf8)
  }

  private func attribute(_ path: String) throws -> String? {
    try text(path).trimmingCharacters(in: .newlines)
  }

  private func link(_ path: String) throws -> String {
    try FileManager.default.destinationOfSymbolicLink(atPath: path)
  }

  private func directoryEntries(_ path: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: path).sorted()
  }

  /// Every symbolic link in the tree resolves, and to a path inside the tree.
  private func assertLinksResolveInside(
    _ root: String, file: StaticString = #filePath, line: UInt = #line
  )
    throws
  {
    guard let resolvedRoot = realpath(root, nil) else {
      return XCTFail("cannot resolve \(root)", file: file, line: line)
    }
    let realRoot = String(cString: resolvedRoot)
    free(resolvedRoot)
    var pending = [realRoot]
    var links = 0
    while let directory = pending.popLast() {
      guard let dir = opendir(directory) else { continue }
      defer { closedir(dir) }
      while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) {
          String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name == "." || name == ".." { continue }
        let path = directory + "/" + name
        switch Int32(entry.pointee.d_type) {
        case Int32(DT_DIR): pending.append(path)
        case Int32(DT_LNK):
          links += 1
          guard let resolved = realpath(path, nil) else {
            XCTFail("\(path) does not resolve", file: file, line: line)
            continue
          }
          let target = String(cString: resolved)
          free(resolved)
          XCTAssertTrue(
            target.hasPrefix(realRoot + "/"), "\(path) leaves the tree: \(target)", file: file,
            line: line)
        default: continue
        }
      }
    }
    XCTAssertGreaterThan(links, 0, file: file, line: line)
  }
}
