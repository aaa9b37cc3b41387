// sriovctl-fixture NAME DIR [--pfs N] [--vfs M] [--corrupt MUTATION] [--config-bytes 64]
//
// Writes a named fixture host into DIR for trying sriovctl by hand (`sriovctl --root DIR ...`) and
// for the benchmark. A developer tool: plain argument handling, no ArgumentParser.
import Foundation
import SRIOVFixtures

let usage = """
  usage: sriovctl-fixture NAME DIR [--pfs N] [--vfs M] [--corrupt MUTATION] [--config-bytes 64]
    NAME: \(FixtureHosts.names.joined(separator: ", ")); --pfs and --vfs size 'large' (default 8 x 128)
    --corrupt damages the written tree with one of FixtureCorruption's mutations (the corrupted-tree
    corpus test's), escaping links pointing at DIR.sentinel; --corrupt list prints their names.
    --config-bytes 64 writes only the first 64 bytes of each function's config, as the kernel
    shows them to a user who is not root (no capabilities: SR-IOV cannot be seen there).
  """

func fail(_ message: String) -> Never {
  FileHandle.standardError.write(Data("sriovctl-fixture: \(message)\n".utf8))
  exit(1)
}

var positional: [String] = []
var counts = ["--pfs": 8, "--vfs": 128]
var corruption: String?
var configBytes: Int?
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
  if argument == "-h" || argument == "--help" {
    print(usage)
    exit(0)
  } else if counts[argument] != nil {
    guard let value = arguments.popFirst().flatMap({ Int($0) }) else {
      fail("\(argument) needs a number")
    }
    counts[argument] = value
  } else if argument == "--config-bytes" {
    guard let value = arguments.popFirst().flatMap({ Int($0) }), (0...4096).contains(value) else {
      fail("--config-bytes needs a number of bytes from 0 to 4096")
    }
    configBytes = value
  } else if argument == "--corrupt" {
    guard let value = arguments.popFirst() else { fail("--corrupt needs a mutation name or 'list'") }
    corruption = value
  } else if argument.hasPrefix("-") {
    fail("unknown option \(argument)\n\(usage)")
  } else {
    positional.append(argument)
  }
}
guard positional.count == 2 else { fail("expected NAME and DIR\n\(usage)") }
let (name, directory) = (positional[0], positional[1])
if name != "large" && (counts["--pfs"] != 8 || counts["--vfs"] != 128) {
  fail("--pfs and --vfs apply to 'large' only")
}

do {
  guard
    var host = try FixtureHosts.host(
      named: name, pfs: counts["--pfs"] ?? 8, vfsPerPF: counts["--vfs"] ?? 128)
  else {
    fail("unknown host '\(name)'; choose one of \(FixtureHosts.names.joined(separator: ", "))")
  }
  host.readableConfigBytes = configBytes
  let start = Date()
  try host.write(to: directory)
  let seconds = String(format: "%.2f", Date().timeIntervalSince(start))
  let vfs = host.functions.filter { $0.physicalFunction != nil }.count
  print("wrote \(name) (\(vfs) VFs) to \(directory) in \(seconds) s")
  if let corruption {
    let mutations = try FixtureCorruption.mutations(forTreeAt: directory)
    if corruption == "list" {
      mutations.forEach { print($0.name) }
    } else {
      guard let mutation = mutations.first(where: { $0.name == corruption }) else {
        fail("no mutation '\(corruption)' applies to \(name); '--corrupt list' names them")
      }
      let sentinel = directory.hasSuffix("/") ? String(directory.dropLast()) + ".sentinel" : directory + ".sentinel"
      try FixtureCorruption.writeSentinel(at: sentinel)
      try mutation.apply(root: directory, sentinel: sentinel)
      print("applied \(corruption); escaping links point at \(sentinel)")
    }
  }
} catch {
  fail("\(error)")
}
