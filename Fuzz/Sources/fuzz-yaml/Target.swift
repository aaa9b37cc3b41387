// device-plugin-config's YAML: interface names and resource names come from the host, so any
// text must come back out of a YAML parser (Yams) exactly as the JSON that went in.
import Foundation
import FuzzSupport
@testable import SRIOVKit
import Yams

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzYAML(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
  let fields = text(data, size).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
  let resource = DevicePluginConfig.Resource(
    resourceName: fields.first ?? "", resourcePrefix: fields.count > 1 ? fields[1] : "intel.com",
    vendors: ["8086"], devices: ["154c"], drivers: ["iavf"], pfNames: Array(fields.dropFirst(2)),
    rootDevices: [])
  let config = DevicePluginConfig(resources: [resource])
  let yaml = config.configMapYAML(namespace: "kube-system")
  let loaded: Any?
  do {
    loaded = try Yams.load(yaml: yaml)
  } catch {
    require(false, "the ConfigMap YAML does not parse (\(error)):\n\(yaml)")
    return 0
  }
  let document = loaded as? [String: Any]
  let embedded = (document?["data"] as? [String: Any])?["config.json"] as? String
  guard let embedded else {
    require(false, "no data.config.json string in the YAML:\n\(yaml)")
    return 0
  }
  let expected = try? JSONSerialization.jsonObject(with: Data(config.json.rendered().utf8))
  let actual = try? JSONSerialization.jsonObject(with: Data(embedded.utf8))
  require(expected != nil, "config.json is not JSON: \(config.json.rendered())")
  require(
    (actual as? NSDictionary) == (expected as? NSDictionary),
    "config.json out of the YAML differs from what went in:\n\(embedded)\nvs\n\(config.json.rendered())")
  return 0
}
