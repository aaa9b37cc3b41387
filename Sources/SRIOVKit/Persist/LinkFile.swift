/// The systemd `.link` file (`persist --method link`, systemd 251 or newer): udev's
/// `SR-IOVVirtualFunctions=` and `[SR-IOV]` sections, keeping 99-default.link's naming.
struct LinkFile: BootFile {
  var request: VFRequest
  var pf: PCIAddress

  var path: String { PersistMethod.link.path(for: pf) }
  var reader: BootFileReader { .udev }

  func render(root: HostRoot, for purpose: BootFilePurpose) throws -> String {
    if let version = SystemdVersion.of(root), version < 251 { throw PersistError.oldSystemd(version) }
    try Persistence.checkCarried(request, by: .link)
    // A matching .link file replaces 99-default.link for the interface: keep its naming.
    var text = perPFHeader(request, pf: pf, method: .link) + "[Match]\nPath=pci-\(pf)\n\n[Link]\n"
    text += LinkFile.defaultLinkSettings(root).map { "\($0)\n" }.joined()
    text += "SR-IOVVirtualFunctions=\(request.count)\n"
    for index in 0..<request.count {
      var lines: [String] = []
      for setting in VFSetting.allCases {
        guard let key = setting.linkFileKey, case .value(let change)? = request[setting].value(for: index) else { continue }
        lines.append("\(key)=\(change.linkFileValue)")
      }
      guard !lines.isEmpty else { continue }
      text += "\n[SR-IOV]\nVirtualFunction=\(index)\n" + lines.map { "\($0)\n" }.joined()
    }
    return text
  }

  /// The [Link] settings of 99-default.link that decide names and MACs, carried into our .link
  /// file because the first matching .link file wins (systemd.link(5)).
  static let namingKeys: Set<String> = [
    "NamePolicy", "Name", "AlternativeNamesPolicy", "AlternativeName", "MACAddressPolicy",
  ]

  /// The naming settings of the root's 99-default.link, or systemd's defaults. Only `Key=Value`
  /// lines of ``namingKeys`` with plain printable values are kept: the file is another package's,
  /// and whatever it holds must not break or inject into the file sriovctl writes.
  static func defaultLinkSettings(_ root: HostRoot) -> [String] {
    for path in ["/etc/systemd/network/99-default.link", "/usr/lib/systemd/network/99-default.link", "/lib/systemd/network/99-default.link"] {
      guard let bytes = try? root.readBytes(path, limit: 64 * 1024) else { continue }
      return KeyFile.entries(String(decoding: bytes, as: UTF8.self)).compactMap { entry in
        let plain = entry.value.unicodeScalars.allSatisfy {
          $0.value >= 0x20 && $0.value < 0x7f && !"\"'%$\\".unicodeScalars.contains($0)
        }
        guard entry.section == "Link", namingKeys.contains(entry.key), !entry.value.isEmpty, plain else { return nil }
        return "\(entry.key)=\(entry.value)"
      }
    }
    return [
      "NamePolicy=keep kernel database onboard slot path",
      "AlternativeNamesPolicy=database onboard slot path",
      "MACAddressPolicy=persistent",
    ]
  }
}
