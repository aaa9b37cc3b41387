import Foundation
import SRIOVKit

/// The fuzzer's input as text (invalid UTF-8 replaced, as every reader of host text does).
public func text(_ data: UnsafeRawPointer, _ size: Int) -> String {
  String(decoding: UnsafeRawBufferPointer(start: data, count: size), as: UTF8.self)
}

/// Stops the run with a reproducible crash when a property does not hold: libFuzzer saves the
/// input that led here as `crash-*`.
public func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
  if !condition() {
    FileHandle.standardError.write(Data("property violated: \(message())\n".utf8))
    abort()
  }
}

/// A fixture host written by `sriovctl-fixture x710` (the Makefile passes its path in
/// FUZZ_HOST_ROOT), for parsers that read through a HostRoot and renderers that need a PF.
public let fixtureRoot: HostRoot = {
  guard let path = ProcessInfo.processInfo.environment["FUZZ_HOST_ROOT"], let root = try? HostRoot(path) else {
    FileHandle.standardError.write(Data("set FUZZ_HOST_ROOT to a tree from 'sriovctl-fixture x710 DIR'\n".utf8))
    exit(2)
  }
  return root
}()

/// An empty scratch root whose files a target rewrites on every input.
public let scratchRoot: (root: HostRoot, path: String) = {
  let path = NSTemporaryDirectory() + "sriovctl-fuzz-\(getpid())"
  for directory in ["/proc", "/dev", "/etc/systemd/network"] {
    try? FileManager.default.createDirectory(atPath: path + directory, withIntermediateDirectories: true)
  }
  return (try! HostRoot(path), path)
}()

/// Replaces a file of the scratch root.
public func writeScratch(_ hostPath: String, _ bytes: UnsafeRawBufferPointer) {
  _ = FileManager.default.createFile(atPath: scratchRoot.path + hostPath, contents: Data(bytes))
}

/// Parses option lines (`vlan 2=100`, `count 4`) the way `sriovctl create-vfs` does (Sources/sriovctl/VFOptions.swift).
public func request(_ lines: [Substring], pf: PFSelector = .address(PCIAddress("0000:3b:00.0")!)) throws -> VFRequest? {
  var options: [String: [String]] = [:]
  for line in lines {
    let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
    guard parts.count == 2 else { continue }
    options[String(parts[0]), default: []].append(String(parts[1]))
  }
  let count = options["count"]?.last.flatMap { Int($0) } ?? 4
  var settings: [VFSetting: PerVF<VFWanted>] = [:]
  for setting in VFSetting.allCases {
    settings[setting] = try .parse(
      options[String(setting.option.dropFirst(2))] ?? [], option: setting.option, expected: setting.expected, setting.parse)
  }
  var request = VFRequest(
    pf: pf, count: count,
    drivers: try .parse(options["driver"] ?? [], option: "--driver", expected: VFDriver.expected, VFDriver.init),
    settings: settings, mtu: options["mtu"]?.last.flatMap { Int($0) })
  request.autoprobe = options["autoprobe"]?.last.flatMap(parseOnOff)
  try request.validate()
  return request
}

/// The option lines that reproduce createArguments() (`--vlan 2=100` -> `vlan 2=100`).
public func lines(_ arguments: [String]) -> [Substring] {
  stride(from: 0, to: arguments.count - 1, by: 2).map { Substring(arguments[$0].dropFirst(2) + " " + arguments[$0 + 1]) }
}

