import Foundation
import SRIOVFixtures
import SRIOVKit
import XCTest

/// create-vfs without a kernel: request parsing and validation, planning with --dry-run on
/// fixture hosts, and the words for the kernel's errors. The real kernel is VM tests' job.
final class VFCreationTests: XCTestCase {
  private func x710() throws -> HostRoot {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("create-\(UUID().uuidString)").path
    addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
    try FixtureHosts.x710(at: directory)
    return try HostRoot(directory)
  }

  private func plan(_ request: VFRequest, _ root: HostRoot) throws -> VFCreationResult {
    try VFCreation.run(request, root: root, dryRun: true)
  }

  private let port0 = PFSelector("ens1f0")!
  private let port1 = PFSelector("0000:3b:00.1")!

  func testTheSameCountPlansNothing() throws {
    let result = try plan(VFRequest(pf: port0, count: 4), try x710())
    XCTAssertFalse(result.changed)
    XCTAssertEqual(result.actions, [])
    XCTAssertEqual(result.previous, 4)
    XCTAssertEqual(result.numVFs, 4)
    XCTAssertEqual(result.vfs.map(\.interface), ["ens1f0v0", "ens1f0v1", "ens1f0v2", "ens1f0v3"])
  }

  func testANewCountGoesThroughZero() throws {
    let result = try plan(VFRequest(pf: port0, count: 2), try x710())
    XCTAssertTrue(result.changed)
    XCTAssertTrue(result.dryRun)
    XCTAssertEqual(
      result.actions,
      ["remove the 4 VFs: write 0 to sriov_numvfs", "create 2 VFs: write 2 to sriov_numvfs"])
    XCTAssertEqual(try plan(VFRequest(pf: port0, count: 0), try x710()).actions, ["remove the 4 VFs: write 0 to sriov_numvfs"])
    XCTAssertEqual(try plan(VFRequest(pf: port1, count: 3), try x710()).actions, ["create 3 VFs: write 3 to sriov_numvfs"])
  }

  func testAboveTheTotalIsRefusedWithTheLimit() throws {
    XCTAssertThrowsError(try plan(VFRequest(pf: port0, count: 65), try x710())) { error in
      XCTAssertEqual(
        "\(error)", "0000:3b:00.0 allows at most 64 VFs (sriov_totalvfs); 65 were asked for. Nothing was changed")
    }
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cx5-\(UUID().uuidString)").path
    addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
    try FixtureHosts.connectX5SRIOVDisabled(at: directory)
    XCTAssertThrowsError(try plan(VFRequest(pf: PFSelector("ens2f0np0")!, count: 1), try HostRoot(directory))) { error in
      XCTAssertTrue("\(error)".hasPrefix("0000:af:00.0 offers no VFs (sriov_totalvfs is 0)"), "\(error)")
      XCTAssertTrue("\(error)".contains("mstconfig -d 0000:af:00.0 set SRIOV_EN=1"), "\(error)")
    }
  }

  func testAVFIsNotAPF() throws {
    XCTAssertThrowsError(try plan(VFRequest(pf: PFSelector("ens1f0v1")!, count: 1), try x710())) { error in
      XCTAssertTrue("\(error)".contains("is a virtual function of 0000:3b:00.0"), "\(error)")
    }
  }

  func testChangesUnderAnotherRootNeedDryRun() throws {
    let root = try x710()
    let before = try root.readAttribute("/sys/bus/pci/devices/0000:3b:00.0/sriov_numvfs")
    XCTAssertThrowsError(try VFCreation.run(VFRequest(pf: port0, count: 2), root: root, dryRun: false)) { error in
      XCTAssertEqual("\(error)", "create-vfs changes the running kernel; under --root \(root) only --dry-run is possible")
    }
    XCTAssertEqual(try root.readAttribute("/sys/bus/pci/devices/0000:3b:00.0/sriov_numvfs"), before)
    XCTAssertFalse(root.exists("/run/sriovctl.lock"), "not even the lock file")
  }

  func testSettingsDriverAndAutoprobeArePlannedPerVF() throws {
    var request = VFRequest(pf: port1, count: 2, drivers: PerVF(all: .named(DriverName("vfio-pci")!)), autoprobe: false)
    request[.vlan] = PerVF(all: .value(.vlan(100)), byIndex: [1: .value(.vlan(200))])
    request[.trust] = PerVF(byIndex: [0: .value(.trust(true))])
    request[.mac] = PerVF(byIndex: [1: .value(.mac(MACAddress("02:00:00:00:00:01")!))])
    let result = try plan(request, try x710())
    XCTAssertEqual(
      result.actions,
      [
        "set sriov_drivers_autoprobe to 0",
        "create 2 VFs: write 2 to sriov_numvfs",
        "bind VFs 0-1 to vfio-pci (driver_override)",
        "set VF 0 vlan 100", "set VF 0 trust on",
        "set VF 1 mac 02:00:00:00:00:01", "set VF 1 vlan 200",
      ])
  }

  func testDriversArePlannedPerRangeOfVFs() throws {
    var request = VFRequest(pf: port1, count: 4)
    request.drivers = PerVF(byIndex: [0: .named(DriverName("vfio-pci")!), 1: .named(DriverName("vfio-pci")!), 2: .kernel, 3: .kernel])
    XCTAssertEqual(
      try plan(request, try x710()).actions,
      [
        "create 4 VFs: write 4 to sriov_numvfs",
        "bind VFs 0-1 to vfio-pci (driver_override)",
        "bind VFs 2-3 to their own kernel driver",
      ])
    XCTAssertEqual(
      request.createArguments(),
      ["--count", "4", "--driver", "0=vfio-pci", "--driver", "1=vfio-pci", "--driver", "2=kernel", "--driver", "3=kernel"])
  }

  func testTheSettingTableParsesWhatItRenders() throws {
    let samples: [VFSetting: [String]] = [
      .mac: ["auto", "02:aa:bb:cc:dd:ee"], .vlan: ["0", "4094"], .trust: ["on", "off"], .spoofCheck: ["on", "off"],
      .linkState: ["auto", "enable", "disable"], .maxTxRate: ["0", "4294967295"],
    ]
    for setting in VFSetting.allCases {
      for text in samples[setting]! {
        let wanted = try XCTUnwrap(setting.parse(text), "\(setting) \(text)")
        XCTAssertEqual(wanted.text, text)
        XCTAssertTrue(wanted.isValid(for: setting))
        if case .value(let change) = wanted {
          XCTAssertEqual(change.setting, setting)
          XCTAssertEqual(change.description, "\(setting.ipLinkKeyword) \(text)")
        }
      }
    }
    for (setting, bad) in [(VFSetting.vlan, "4095"), (.vlan, "-1"), (.mac, "01:00:5e:00:00:01"), (.mac, "00:00:00:00:00:00"),
      (.trust, "yes"), (.linkState, "up"), (.maxTxRate, "4294967296")] {
      XCTAssertNil(setting.parse(bad), "\(setting) \(bad)")
    }
    XCTAssertEqual(VFSetting.allCases.map(\.option), ["--mac", "--vlan", "--trust", "--spoofchk", "--link-state", "--max-tx-rate"])
    XCTAssertEqual(VFSetting.allCases.filter { $0.persistMethods.contains(.link) }.compactMap(\.linkFileKey),
      ["MACAddress", "VLANId", "Trust", "MACSpoofCheck", "LinkState"])
    let change = VFLinkChange.vlan(100)
    let settings = VFLinkSettings(index: 0, mac: nil, vlan: 0, trust: nil, spoofCheck: true, linkState: nil, maxTxRate: nil)
    XCTAssertFalse(change.isSatisfied(by: settings))
    XCTAssertEqual(change.reported(in: settings), "vlan 0")
    XCTAssertEqual(VFLinkChange.trust(true).reported(in: settings), "no trust setting")
    XCTAssertTrue(VFLinkChange.spoofCheck(true).isSatisfied(by: settings))
  }

  func testRequestsAreValidatedBeforeAnythingIsRead() {
    func message(_ request: VFRequest) -> String {
      do {
        try request.validate()
        return "valid"
      } catch {
        return "\(error)"
      }
    }
    XCTAssertEqual(message(VFRequest(pf: port0, count: -1)), "--count '-1': expected a number of VFs, 0 or more")
    XCTAssertEqual(
      message(VFRequest(pf: port0, count: 2, settings: [.vlan: PerVF(byIndex: [2: .value(.vlan(5))])])),
      "--vlan names VF 2, but only VFs 0 to 1 will exist (--count 2)")
    XCTAssertEqual(
      message(VFRequest(pf: port0, count: 0, settings: [.trust: PerVF(byIndex: [0: .value(.trust(true))])])),
      "--trust names VF 0, but --count 0 removes every VF")
    XCTAssertEqual(
      message(VFRequest(pf: port0, count: 2, settings: [.vlan: PerVF(all: .value(.vlan(4095)))])),
      "--vlan '4095': expected a VLAN ID from 0 (none) to 4094")
    XCTAssertEqual(
      message(VFRequest(pf: port0, count: 2, settings: [.mac: PerVF(byIndex: [0: .value(.mac(MACAddress("01:00:5e:00:00:01")!))])])),
      "--mac '0=01:00:5e:00:00:01': expected auto or a unicast, non-zero MAC address (02:11:22:33:44:55)")
    XCTAssertEqual(
      message(VFRequest(pf: port0, count: 2, settings: [.vlan: PerVF(all: .value(.trust(true)))])),
      "--vlan 'on': expected a VLAN ID from 0 (none) to 4094", "a value of another setting")
    XCTAssertEqual(
      message(VFRequest(pf: port0, count: 2, drivers: PerVF(byIndex: [3: .kernel]))),
      "--driver names VF 3, but only VFs 0 to 1 will exist (--count 2)")
    XCTAssertEqual(
      message(VFRequest(pf: port0, count: 2, settings: [.mac: PerVF(byIndex: [0: .value(.mac(MACAddress("02:00:00:00:00:01")!)), 1: .value(.mac(MACAddress("02:00:00:00:00:01")!))])])),
      "--mac '(repeated)': expected a different address for each VF")
    XCTAssertEqual(message(VFRequest(pf: port0, count: 2, mtu: 20)), "--mtu '20': expected an MTU from 68 to 65535")
    XCTAssertEqual(message(VFRequest(pf: port0, count: 2, timeout: 0)), "--timeout '0.0': expected seconds, more than 0 and at most 3600")
    // Built without the command line, too: every number is bounded before it reaches the kernel.
    XCTAssertEqual(
      message(VFRequest(pf: port0, count: Int.max)), "--count '\(Int.max)': expected a number of VFs from 0 to 65535 (the PCIe limit)")
    XCTAssertEqual(
      message(VFRequest(pf: port0, count: 2, settings: [.maxTxRate: PerVF(byIndex: [1: .value(.maxTxRate(4_294_967_296))])])),
      "--max-tx-rate '1=4294967296': expected a rate in Mbps from 0 (none) to 4294967295")
    XCTAssertEqual(
      message(VFRequest(pf: port0, count: 2, settings: [.maxTxRate: PerVF(all: .value(.maxTxRate(-1)))])),
      "--max-tx-rate '-1': expected a rate in Mbps from 0 (none) to 4294967295")
    for timeout in [Double.nan, .infinity, -.infinity, 3600.5] {
      XCTAssertTrue(message(VFRequest(pf: port0, count: 2, timeout: timeout)).hasPrefix("--timeout"), "\(timeout)")
    }
  }

  func testPerVFOptionsParse() throws {
    let vlans = try PerVF<Int>.parse(["100", "3=200"], option: "--vlan", expected: "a VLAN ID") { Int($0) }
    XCTAssertEqual(vlans.value(for: 0), 100)
    XCTAssertEqual(vlans.value(for: 3), 200)
    XCTAssertThrowsError(try PerVF<Int>.parse(["x=1"], option: "--vlan", expected: "a VLAN ID") { Int($0) }) { error in
      XCTAssertEqual("\(error)", "--vlan 'x=1': expected INDEX=VALUE with a VF index from 0 to 65534")
    }
    XCTAssertThrowsError(try PerVF<Int>.parse(["1", "2"], option: "--vlan", expected: "a VLAN ID") { Int($0) }) { error in
      XCTAssertEqual("\(error)", "--vlan '2': expected one value for all VFs")
    }
    func macs(_ occurrences: [String]) throws -> PerVF<VFWanted> {
      let parsed = try PerVF<VFWanted>.parse(occurrences, option: "--mac", expected: VFSetting.mac.expected, VFSetting.mac.parse)
      try VFRequest(pf: port0, count: 4, settings: [.mac: parsed]).validate()
      return parsed
    }
    XCTAssertEqual(try macs([]), PerVF())
    XCTAssertEqual(try macs(["auto"]), PerVF(all: .derivedMAC))
    XCTAssertEqual(try macs(["1=02:AA:bb:cc:dd:ee"]), PerVF(byIndex: [1: .value(.mac(MACAddress("02:aa:bb:cc:dd:ee")!))]))
    XCTAssertEqual(try macs(["2=auto", "1=02:aa:bb:cc:dd:ee"]).value(for: 2), .derivedMAC, "auto per VF")
    XCTAssertThrowsError(try macs(["02:aa:bb:cc:dd:ee"]), "one address for every VF")
    XCTAssertThrowsError(try macs(["1=02:aa:bb:cc:dd"]))
  }

  func testAutoMACsAreStableLocallyAdministeredAndDistinct() {
    let pf = MACAddress("3c:fd:fe:a1:b2:c3")!
    let macs = (0..<256).map { MACAddress.derived(from: pf, index: $0) }
    XCTAssertEqual(Set(macs).count, 256)
    XCTAssertTrue(macs.allSatisfy { $0.isLocallyAdministered && !$0.isMulticast })
    XCTAssertEqual(MACAddress.derived(from: pf, index: 7), macs[7], "the same on every run")
    XCTAssertNotEqual(MACAddress.derived(from: MACAddress("3c:fd:fe:a1:b2:c4")!, index: 0), macs[0], "the other port")
  }

  func testKernelErrorsAreExplainedWithRemedies() throws {
    let root = try x710()
    let pf = try Inventory.discover(root: root).physicalFunctions[0]
    let cases: [(Int32, String, String)] = [
      (EBUSY, "VFs are already enabled (EBUSY)", "only accepted from 0"),
      (ERANGE, "more than the 64 VFs the PF allows (ERANGE)", "at most 64"),
      (ENOENT, "i40e has no SR-IOV support for this PF (ENOENT)", "supports SR-IOV"),
      (ENOMEM, "MMIO or bus resources for 8 VFs (ENOMEM)", "Above 4G Decoding"),
      (ENOSPC, "interrupt vectors (MSI-X)", "fewer VFs"),
      (EINVAL, "i40e rejected 8 VFs (EINVAL)", "kernel log"),
      (EPERM, "permission denied (EPERM)", "as root"),
      (EIO, "failed to create the VFs (EIO)", "firmware"),
    ]
    for (code, message, remedy) in cases {
      let (said, fix) = NumVFs.explain(code, count: 8, pf: pf)
      XCTAssertTrue(said.contains(message), "\(code): \(said)")
      XCTAssertTrue(fix.contains(remedy), "\(code): \(fix)")
    }
    // The kernel's ENOENT also means "no driver bound" (sriov_numvfs_store): told apart by the PF.
    var unbound = pf
    unbound.driver = nil
    let (said, fix) = NumVFs.explain(ENOENT, count: 8, pf: unbound)
    XCTAssertEqual(said, "no driver is bound to the PF, and the kernel creates VFs only through the PF's driver (ENOENT)")
    XCTAssertTrue(fix.hasPrefix("bind its driver first: 'modprobe DRIVER' or 'echo 0000:3b:00.0 > /sys/bus/pci/drivers/DRIVER/bind'"), fix)
  }

  func testAVFSettingTheDriverLacksIsExplained() throws {
    let error = VFCreationError.settingUnsupported(
      pf: try XCTUnwrap(PCIAddress("0000:01:00.0")), driver: "igb", vf: 0, .linkState(.disable))
    XCTAssertEqual(
      error.description,
      "0000:01:00.0: igb cannot set --link-state on its VFs (the kernel said EOPNOTSUPP for VF 0 state disable); "
        + "leave --link-state out for this NIC (the README lists which drivers support which VF settings)")
  }
}
