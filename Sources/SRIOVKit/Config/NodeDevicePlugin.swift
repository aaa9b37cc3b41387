extension DevicePluginConfig {
  /// The device plugin's resources from the node file, so that the VFs `apply` makes and the
  /// resources the cluster sees come from one file: one resource per resourceName (the policy's
  /// name unless given), over every PF its policy took VFs of, each selected by its interface and
  /// VF range (`pfNames: ["ens1f0#0-3"]`), or by PCI address for a PF without an interface (then
  /// only with every VF); `deviceType: vfio-pci` becomes `drivers: ["vfio-pci"]`, netdevice the
  /// VFs' own kernel driver.
  ///
  /// - Throws: ``DevicePluginConfig/Failure`` for a name the device plugin refuses, a range on a
  ///   PF without an interface, or a PF whose VF device is unknown.
  public static func build(targets: NodeTargets, root: HostRoot, resourcePrefix: String) throws -> DevicePluginConfig {
    try checkNames(resourceName: nil, resourcePrefix: resourcePrefix)
    var resources: [Resource] = []
    for target in targets.pfs {
      let pf = target.pf
      guard let device = pf.vfDeviceID else { throw Failure.noVFDevice(pf.address) }
      for share in target.resources {
        guard isResourceName(share.resourceName) else { throw Failure.invalidName(share.resourceName) }
        var drivers: [String]
        switch share.deviceType {
        case .named(let name): drivers = [name.description]
        case .kernel: drivers = Array(VFCreation.vfDefaultDrivers(pf, root: root).prefix(1))
        }
        let whole = share.vfs == 0...(target.request.count - 1)
        var pfNames: [String] = []
        var rootDevices: [String] = []
        if let name = pf.interfaces.first {
          pfNames.append(whole ? name : "\(name)#\(share.vfs.lowerBound)-\(share.vfs.upperBound)")
        } else if whole {
          rootDevices.append(pf.address.description)
        } else {
          throw Failure.rangeWithoutInterface("\(share.policy): VFs \(share.vfs.lowerBound)-\(share.vfs.upperBound)", pf: pf.address)
        }
        if let index = resources.firstIndex(where: { $0.resourceName == share.resourceName }) {
          var merged = resources[index]
          merged.vendors = Array(Set(merged.vendors + [pf.vendorID.pciID])).sorted()
          merged.devices = Array(Set(merged.devices + [device.pciID])).sorted()
          merged.drivers = Array(Set(merged.drivers + drivers)).sorted()
          merged.pfNames += pfNames
          merged.rootDevices += rootDevices
          merged.needVhostNet = merged.needVhostNet || share.needVhostNet
          merged.excludeTopology = merged.excludeTopology || share.excludeTopology
          resources[index] = merged
        } else {
          resources.append(
            Resource(
              resourceName: share.resourceName, resourcePrefix: resourcePrefix, vendors: [pf.vendorID.pciID],
              devices: [device.pciID], drivers: drivers, pfNames: pfNames, rootDevices: rootDevices,
              needVhostNet: share.needVhostNet, excludeTopology: share.excludeTopology))
        }
      }
    }
    guard !resources.isEmpty else { throw Failure.nothingToOffer }
    return DevicePluginConfig(resources: resources)
  }
}
