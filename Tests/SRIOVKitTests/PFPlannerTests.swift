import Foundation
import SRIOVKit
import XCTest

/// create-vfs's decisions on hand-built PF states: no kernel, no fixture tree.
final class PFPlannerTests: XCTestCase {
  private let pf = PCIAddress("0000:3b:00.0")!
  private func vf(_ index: Int, _ driver: String?, override: String? = nil, group: Int? = 40, settings: VFLinkSettings? = nil) -> PFState.VF {
    PFState.VF(
      index: index, address: PCIAddress("0000:3b:02.\(index)")!, driver: driver, driverOverride: override, iommuGroup: group,
      settings: settings ?? VFLinkSettings(index: index))
  }
  private func state(numVFs: Int, vfs: [PFState.VF]? = nil) -> PFState {
    PFState(
      address: pf, interface: "ens1f0", numVFs: numVFs, totalVFs: 64,
      vfs: vfs ?? (0..<numVFs).map { vf($0, "iavf") }, vfDrivers: ["iavf"],
      modules: ["iavf": .loaded, "vfio-pci": .loadable(path: "kernel/drivers/vfio/pci/vfio-pci.ko")])
  }
  private func request(_ count: Int, _ changes: (inout VFRequest) -> Void = { _ in }) -> VFRequest {
    var request = VFRequest(pf: .address(pf), count: count)
    changes(&request)
    return request
  }
  private let vfio = VFDriver.named(DriverName("vfio-pci")!)

  func testNothingIsPlannedWhenThePFIsAlreadyAsAsked() throws {
    XCTAssertEqual(try PFPlanner.plan(request(4), state(numVFs: 4)), [])
    XCTAssertEqual(try PFPlanner.plan(request(0), state(numVFs: 0)), [])
  }

  func testACountChangeGoesThroughZeroAndWaitsForTheVFsOwnDriver() throws {
    XCTAssertEqual(
      try PFPlanner.plan(request(2), state(numVFs: 4)),
      [.removeVFs(count: 4, inUse: 0), .createVFs(count: 2, suspendProbe: false, expectedDriver: "iavf")])
    XCTAssertEqual(try PFPlanner.plan(request(0), state(numVFs: 4)), [.removeVFs(count: 4, inUse: 0)])
    var down = state(numVFs: 0)
    down.isUp = false
    down.udevRunning = false
    down.modules["iavf"] = .loadable(path: "kernel/drivers/net/ethernet/intel/iavf/iavf.ko")
    XCTAssertEqual(
      try PFPlanner.plan(request(3) { $0.autoprobe = false; $0.mtu = 9000 }, down),
      [.setAutoprobe(false), .setMTU(interface: "ens1f0", mtu: 9000), .bringUp(interface: "ens1f0"),
       .createVFs(count: 3, suspendProbe: false, expectedDriver: nil)], "autoprobe off: no driver to wait for")
    XCTAssertEqual(
      try PFPlanner.plan(request(3), down),
      [.bringUp(interface: "ens1f0"), .loadVFDriver("iavf"), .createVFs(count: 3, suspendProbe: false, expectedDriver: "iavf")],
      "without udevd sriovctl loads the VF driver itself")
  }

  func testVFsInUseAreNotDestroyedWithoutForce() throws {
    var busy = state(numVFs: 4)
    busy.inUse = ["VF 1 (0000:3b:02.1) is bound to vfio-pci"]
    XCTAssertThrowsError(try PFPlanner.plan(request(2), busy)) { error in
      XCTAssertEqual(error as? VFCreationError, .inUse(pf: pf, ["VF 1 (0000:3b:02.1) is bound to vfio-pci"]))
    }
    XCTAssertEqual(try PFPlanner.plan(request(2) { $0.force = true }, busy).first, .removeVFs(count: 4, inUse: 1))
    XCTAssertEqual(try PFPlanner.plan(request(4), busy), [], "the count stays: nothing is destroyed")
  }

  func testDriversPerRangeOfExistingVFs() throws {
    let current = state(numVFs: 4, vfs: [vf(0, "vfio-pci", override: "vfio-pci"), vf(1, "iavf"), vf(2, "iavf"), vf(3, "iavf")])
    let plan = try PFPlanner.plan(request(4) { $0.drivers = PerVF(byIndex: [0: .kernel, 1: vfio, 2: .kernel]) }, current)
    XCTAssertEqual(
      plan,
      [
        .loadModule("vfio-pci"),
        .bind(vf: 1, address: PCIAddress("0000:3b:02.1")!, driver: vfio, was: "iavf"),
        .bind(vf: 0, address: PCIAddress("0000:3b:02.0")!, driver: .kernel, was: "vfio-pci"),
      ], "named first, then back to the VF's own driver; VF 2 already has it")
    XCTAssertEqual(plan.map(\.description).last, "bind VF 0 (0000:3b:02.0) to its own kernel driver (was vfio-pci)")
    var noGroup = current
    noGroup.vfs[1].iommuGroup = nil
    XCTAssertThrowsError(try PFPlanner.plan(request(4) { $0.drivers = PerVF(byIndex: [1: vfio]) }, noGroup)) { error in
      XCTAssertEqual(error as? VFCreationError, .noIOMMUGroup(vf: PCIAddress("0000:3b:02.1")!, driver: "vfio-pci"))
    }
  }

  func testNewVFsForANamedDriverAreCreatedUnprobed() throws {
    let plan = try PFPlanner.plan(request(4) { $0.drivers = PerVF(byIndex: [0: vfio, 1: vfio]) }, state(numVFs: 0))
    XCTAssertEqual(
      plan,
      [.createVFs(count: 4, suspendProbe: true, expectedDriver: nil), .bindNew(vfs: 0...1, driver: vfio), .bindNew(vfs: 2...3, driver: .kernel)])
    XCTAssertEqual(plan.map(\.description).suffix(2), ["bind VFs 0-1 to vfio-pci (driver_override)", "bind VFs 2-3 to their own kernel driver"])
    XCTAssertEqual(
      try PFPlanner.plan(request(2) { $0.drivers = PerVF(all: .kernel) }, state(numVFs: 0)),
      [.createVFs(count: 2, suspendProbe: false, expectedDriver: "iavf")], "probed automatically: nothing to bind")
  }

  func testLinkChangesOnlyWhereTheVFDiffers() throws {
    let current = state(numVFs: 2, vfs: [vf(0, "iavf", settings: VFLinkSettings(index: 0, vlan: 100, trust: false)), vf(1, "iavf")])
    let plan = try PFPlanner.plan(request(2) { $0[.vlan] = PerVF(all: .value(.vlan(100))); $0[.trust] = PerVF(byIndex: [0: .value(.trust(true))]) }, current)
    XCTAssertEqual(plan, [.setLink(vf: 0, .trust(true)), .setLink(vf: 1, .vlan(100))])
  }

  func testMACAutoNeedsTheBaseBeforeAnyChange() throws {
    var current = state(numVFs: 0)
    let wanted = request(1) { $0[.mac] = PerVF(all: .derivedMAC) }
    current.macBase = .failure(.noMACBase(pf: pf, path: "/sys/class/net/ens1f0/address"))
    XCTAssertThrowsError(try PFPlanner.plan(wanted, current)) { error in
      XCTAssertEqual(error as? VFCreationError, .noMACBase(pf: pf, path: "/sys/class/net/ens1f0/address"))
    }
    let base = MACAddress("3c:fd:fe:a1:b2:c3")!
    current.macBase = .success(base)
    XCTAssertEqual(try PFPlanner.plan(wanted, current).last, .setLink(vf: 0, .mac(MACAddress.derived(from: base, index: 0))))
  }

  func testWhatThePFCannotTakeIsRefused() throws {
    var off = state(numVFs: 0)
    off.totalVFs = 0
    off.firmwareRemedy = "enable SR-IOV in the firmware"
    XCTAssertThrowsError(try PFPlanner.plan(request(2), off)) { error in
      XCTAssertEqual(error as? VFCreationError, .countAboveTotal(pf: pf, count: 2, total: 0, remedy: "enable SR-IOV in the firmware"))
    }
    var noInterface = state(numVFs: 0)
    noInterface.interface = nil
    XCTAssertThrowsError(try PFPlanner.plan(request(2) { $0[.vlan] = PerVF(all: .value(.vlan(5))) }, noInterface)) { error in
      XCTAssertEqual(error as? VFCreationError, .noInterface(pf: pf))
    }
  }
}
