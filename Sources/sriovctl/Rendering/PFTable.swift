import SRIOVKit

/// The text form of `list`: one row a PF, its VFs indented below it, in the manner of `lspci` and
/// `ip -br link`.
enum PFTable {
  /// - Parameter malformed: how many functions were left out as unreadable (said on stderr).
  static func render(_ pfs: [PhysicalFunction], malformed: Int = 0) -> String {
    guard !pfs.isEmpty else {
      return malformed > 0
        ? "No readable SR-IOV physical functions found.\n" : "No SR-IOV physical functions found.\n"
    }
    var rows: [[String]] = [["DEVICE", "INTERFACE", "DRIVER", "ID", "NUMA", "VFS", "NAME"]]
    for pf in pfs {
      let name = [pf.vendorName, pf.deviceName].compactMap { $0 }.joined(separator: " ")
      rows.append([
        pf.address.description,
        pf.interfaces.isEmpty ? "-" : pf.interfaces.joined(separator: ","),
        pf.driver ?? "-",
        "\(pf.vendorID.pciID):\(pf.deviceID.pciID)",
        pf.numaNode.map(String.init) ?? "-",
        "\(pf.numVFs)/\(pf.totalVFs)",
        name.isEmpty ? "-" : name,
      ])
      for vf in pf.vfs {
        rows.append([
          "  " + vf.address.description,
          vf.interface ?? "-",
          vf.driver ?? "-",
          pf.vfDeviceID.map { "\(pf.vendorID.pciID):\($0.pciID)" } ?? "-",
          "",
          "vf\(vf.index)",
          "",
        ])
      }
    }
    return Table.render(rows)
  }
}

/// Left-aligned columns separated by two spaces, without trailing blanks.
enum Table {
  static func render(_ rows: [[String]]) -> String {
    let columns = rows.map(\.count).max() ?? 0
    var widths = [Int](repeating: 0, count: columns)
    for row in rows {
      for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) }
    }
    var out = ""
    for row in rows {
      var line = ""
      for (i, cell) in row.enumerated() {
        line += cell
        if i < row.count - 1 { line += String(repeating: " ", count: widths[i] + 2 - cell.count) }
      }
      while line.last == " " { line.removeLast() }
      out += line + "\n"
    }
    return out
  }
}
