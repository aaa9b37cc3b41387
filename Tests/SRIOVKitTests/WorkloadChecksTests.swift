import Foundation
import SRIOVFixtures
import SRIOVKit
import XCTest

/// The checks of what uses the VFs (`memory.hugepages`, `devices.vfio`, `devices.vhost-net`) and of
/// what else manages them (`host.conflicts`), pass and fail, on fixture hosts. Competing files are
/// written as NetworkManager, netplan, systemd and udev really write them.
final class WorkloadChecksTests: XCTestCase {
  // MARK: memory.hugepages

  func testHugepagesOnTheNICsNodePass() throws {
    let hugepages = try check(try report(try FixtureHosts.x710()), "memory.hugepages")
    XCTAssertEqual(hugepages.status, .pass)
    XCTAssertEqual(hugepages.summary, "1Gi: 8, 2Mi: 0")
    XCTAssertEqual(
      hugepages.details,
      ["1Gi: 8 reserved, 8 free; node 0: 8 (8 free), node 1: 0 (0 free)", "2Mi: 0 reserved, 0 free; node 0: 0 (0 free), node 1: 0 (0 free)"])
  }

  func testNoHugepagesWarnWithTheBootLoadersRemedy() throws {
    var host = try FixtureHosts.x710()
    host.hugepages = [:]
    let hugepages = try check(try report(host), "memory.hugepages")
    XCTAssertEqual(hugepages.status, .warn)
    XCTAssertEqual(hugepages.summary, "no huge pages reserved (1Gi: 0, 2Mi: 0): a DPDK pod that requests them cannot start")
    let remedy = try XCTUnwrap(hugepages.remedy)
    XCTAssertTrue(remedy.contains("default_hugepagesz=1G hugepagesz=1G hugepages=N"), remedy)
    XCTAssertTrue(remedy.contains("sysctl -w vm.nr_hugepages=N"), remedy)
  }

  func testHugepagesOnlyOnAnotherNodeWarnNamingThePF() throws {
    var host = try FixtureHosts.x710()
    host.hugepages = [2048: [0, 512]]
    let hugepages = try check(try report(host), "memory.hugepages")
    XCTAssertEqual(hugepages.status, .warn)
    XCTAssertEqual(hugepages.summary, "1Gi: 0, 2Mi: 512, but none on the NUMA node of 0000:3b:00.0 (ens1f0) on NUMA node 0")
    XCTAssertTrue(hugepages.remedy?.contains("/sys/devices/system/node/nodeX/") ?? false)
  }

  func testAMalformedPageCountIsNotACount() throws {
    let hugepages = try check(
      try report(try FixtureHosts.x710()) { root in
        try self.writeFixtureFile("lots\n", to: root + "/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages")
      }, "memory.hugepages")
    XCTAssertEqual(hugepages.status, .skip)
    XCTAssertEqual(hugepages.summary, "/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages holds 'lots', expected an integer")
  }

  // MARK: devices.vfio

  func testEachVFInAGroupOfItsOwnPasses() throws {
    let vfio = try check(try report(try FixtureHosts.x710()), "devices.vfio")
    XCTAssertEqual(vfio.status, .pass)
    XCTAssertEqual(vfio.summary, "/dev/vfio/vfio (10:196); each of 4 VFs in an IOMMU group of its own")
  }

  func testAVFSharingItsGroupWarnsNamingTheGroupAndItsMembers() throws {
    var host = try FixtureHosts.x710()
    for index in host.functions.indices where ["0000:3b:02.0", "0000:3b:02.1"].contains(host.functions[index].address.description) {
      host.functions[index].iommuGroup = 90
    }
    let vfio = try check(try report(host), "devices.vfio")
    XCTAssertEqual(vfio.status, .warn)
    XCTAssertEqual(
      vfio.summary,
      "VF 0 of 0000:3b:00.0 (ens1f0) (0000:3b:02.0) shares IOMMU group 90; VF 1 of 0000:3b:00.0 (ens1f0) (0000:3b:02.1) shares IOMMU group 90")
    XCTAssertEqual(vfio.details, ["group 90: 0000:3b:02.0 0000:3b:02.1", "group 90: 0000:3b:02.0 0000:3b:02.1"])
    XCTAssertTrue(vfio.remedy?.contains("ACS") ?? false)
  }

  func testNoVFIODeviceWarnsAndNoIOMMUSkips() throws {
    var host = try FixtureHosts.x710()
    host.miscDevices = [.vhostNet, .tun]
    let vfio = try check(try report(host), "devices.vfio")
    XCTAssertEqual(vfio.status, .warn)
    XCTAssertEqual(vfio.summary, "/dev/vfio/vfio is missing: the kernel has no vfio device (its module is not loaded)")
    XCTAssertEqual(vfio.remedy, "modprobe vfio-pci")

    var registered = try FixtureHosts.x710()
    registered.deviceNodes = false
    let node = try check(try report(registered), "devices.vfio")
    XCTAssertEqual(node.summary, "the kernel registered vfio (10:196) but /dev/vfio/vfio is not a character device")

    host.iommu = nil
    let skipped = try check(try report(host), "devices.vfio")
    XCTAssertEqual(skipped.status, .skip)
    XCTAssertEqual(skipped.summary, "no IOMMU is active (see kernel.iommu)")
  }

  // MARK: devices.vhost-net

  func testVhostNetAndTunPassWhenPresentOrLoadable() throws {
    let present = try check(try report(try FixtureHosts.x710()), "devices.vhost-net")
    XCTAssertEqual(present.status, .pass)
    XCTAssertEqual(present.summary, "/dev/vhost-net, /dev/net/tun")

    var loadable = try FixtureHosts.x710()
    loadable.miscDevices = [.vfio]
    loadable.kernelModules! += [.init("vhost_net", aliases: ["devname:vhost-net"]), .init("tun", aliases: ["devname:net/tun"])]
    let fromModules = try check(try report(loadable), "devices.vhost-net")
    XCTAssertEqual(fromModules.status, .pass)
    XCTAssertEqual(fromModules.summary, "/dev/vhost-net (vhost_net loadable), /dev/net/tun (tun loadable)")

    loadable.kernelModules = loadable.kernelModules!.filter { $0.name != "vhost_net" }
    let missing = try check(try report(loadable), "devices.vhost-net")
    XCTAssertEqual(missing.status, .warn)
    XCTAssertEqual(missing.summary, "/dev/vhost-net is missing: the kernel has no vhost-net device (its module is not loaded)")
    XCTAssertEqual(missing.remedy, "modprobe vhost_net (only resources with needVhostNet need it)")
  }

  // MARK: host.conflicts

  func testNothingElseSettingVFsPassesAndSriovctlsOwnFilesAreNotReported() throws {
    let report = try report(try FixtureHosts.x710()) { root in
      // sriovctl's own files, as persist --install writes them (through the library, as the CLI does).
      let request = VFRequest(pf: try XCTUnwrap(PFSelector("0000:3b:00.0")), count: 4)
      for method in [PersistMethod.udev, .link] {
        _ = try Persistence.install(request, method: method, root: try HostRoot(root))
      }
      XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/etc/udev/rules.d/70-sriovctl-0000-3b-00.0.rules"))
      XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/etc/systemd/network/10-sriovctl-0000-3b-00.0.link"))
    }
    let conflicts = try check(report, "host.conflicts")
    XCTAssertEqual(conflicts.status, .pass, conflicts.summary)
  }

  func testEachKindOfCompetingConfigurationIsNamedWithItsFileAndPF() throws {
    let report = try report(try FixtureHosts.x710()) { root in
      // NetworkManager's keyfile for an SR-IOV connection (nmcli connection add type ethernet
      // ifname ens1f0 sriov.total-vfs 8).
      try self.writeFixtureFile(
        """
        [connection]
        id=sriov-ens1f0
        uuid=4f1a2b3c-0d4e-4f5a-8b6c-7d8e9f0a1b2c
        type=ethernet
        interface-name=ens1f0

        [ethernet]

        [sriov]
        autoprobe-drivers=1
        total-vfs=8

        [ipv4]
        method=disabled

        [ipv6]
        addr-gen-mode=default
        method=disabled

        [proxy]

        """, to: root + "/etc/NetworkManager/system-connections/sriov-ens1f0.nmconnection")
      // netplan: a PF by its MAC with a VF count, and VFs linked to the second port.
      try self.writeFixtureFile(
        """
        network:
          version: 2
          renderer: networkd
          ethernets:
            sriov-pf:
              match:
                macaddress: "3c:fd:fe:9e:a0:00"
              virtual-function-count: 16
            ens1f1: {}
            vf0:
              link: ens1f1
        """, to: root + "/etc/netplan/60-sriov.yaml")
      // A hand-written .link file and udev rule, as the blog posts give them.
      try self.writeFixtureFile(
        """
        [Match]
        Path=pci-0000:3b:00.*

        [Link]
        NamePolicy=path
        SR-IOVVirtualFunctions=8

        """, to: root + "/etc/systemd/network/50-sriov.link")
      try self.writeFixtureFile(
        """
        # From the wiki
        ACTION=="add", SUBSYSTEM=="net", ENV{ID_NET_DRIVER}=="i40e", KERNEL=="ens1f0", ATTR{device/sriov_numvfs}="8"

        """, to: root + "/etc/udev/rules.d/99-sriov.rules")
      // driverctl set-override 0000:3b:02.0 vfio-pci
      try self.writeFixtureFile("vfio-pci\n", to: root + "/etc/driverctl.d/pci-0000:3b:02.0")
    }
    let conflicts = try check(report, "host.conflicts")
    XCTAssertEqual(conflicts.status, .warn)
    XCTAssertEqual(
      conflicts.details,
      [
        "/etc/NetworkManager/system-connections/sriov-ens1f0.nmconnection: 0000:3b:00.0 (ens1f0): sets [sriov] total-vfs=8 (NetworkManager)",
        "/etc/netplan/60-sriov.yaml: 0000:3b:00.1 (ens1f1): links VFs to 'ens1f1', so netplan creates them (netplan)",
        "/etc/netplan/60-sriov.yaml: 0000:3b:00.0 (ens1f0): sets virtual-function-count: 16 on 'sriov-pf' (netplan)",
        "/etc/systemd/network/50-sriov.link: 0000:3b:00.0 (ens1f0): sets SR-IOVVirtualFunctions=8 (systemd .link)",
        "/etc/udev/rules.d/99-sriov.rules: 0000:3b:00.0 (ens1f0): writes sriov_numvfs (udev rule)",
        "/etc/driverctl.d/pci-0000:3b:02.0: 0000:3b:00.0 (ens1f0): binds 0000:3b:02.0 to vfio-pci at boot (driverctl)",
      ])
    let remedy = try XCTUnwrap(conflicts.remedy)
    XCTAssertTrue(remedy.hasPrefix("keep one owner for each PF's VFs: remove the SR-IOV settings from /etc/NetworkManager/"), remedy)
  }
}
