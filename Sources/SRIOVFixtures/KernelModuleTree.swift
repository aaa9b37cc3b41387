import Foundation

extension FixtureHost {
  /// A kernel module of the fixture's `/lib/modules/RELEASE`.
  public struct KernelModule: Sendable, Equatable {
    /// The module name (`vfio-pci` is written as the file `vfio-pci.ko`, named `vfio_pci`).
    public var name: String
    /// Its `alias=` lines: `pci:v00008086d0000154Csv*sd*bc*sc*i*`.
    public var aliases: [String]
    /// Built into the kernel (listed in modules.builtin) rather than a `.ko` file.
    public var builtIn: Bool

    public init(_ name: String, aliases: [String] = [], builtIn: Bool = false) {
      self.name = name
      self.aliases = aliases
      self.builtIn = builtIn
    }
  }

  /// Writes `/lib/modules/RELEASE` the way a kernel package installs it, so libkmod reads it as
  /// modprobe would: each module is a real ELF object carrying only its `.modinfo` section, built
  /// with the C compiler, and the indexes (modules.dep.bin, modules.alias.bin, ...) are made by
  /// the real `depmod -b`.
  func writeKernelModules(into directory: String) throws {
    guard let modules = kernelModules else { return }
    let release = kernelRelease
    let tree = directory + "/lib/modules/" + release
    let kernel = tree + "/kernel/drivers"
    try FileManager.default.createDirectory(atPath: kernel, withIntermediateDirectories: true)
    var builtin = ""
    for module in modules {
      let file = module.name.replacingOccurrences(of: "_", with: "-")
      if module.builtIn {
        builtin += "kernel/drivers/\(file).ko\n"
        continue
      }
      let fields =
        module.aliases.map { "alias=\($0)" } + [
          "depends=", "name=\(module.name.replacingOccurrences(of: "-", with: "_"))",
          "vermagic=\(release) SMP preempt mod_unload modversions ",
        ]
      let source = fields.enumerated().map { index, field in
        "__attribute__((section(\".modinfo\"), used)) static const char f\(index)[] = \"\(field)\";"
      }.joined(separator: "\n")
      let sourcePath = tree + "/\(file).c"
      try source.write(toFile: sourcePath, atomically: true, encoding: .utf8)
      try FixtureHost.run("/usr/bin/cc", ["-c", sourcePath, "-o", kernel + "/\(file).ko"])
      try FileManager.default.removeItem(atPath: sourcePath)
    }
    try builtin.write(toFile: tree + "/modules.builtin", atomically: true, encoding: .utf8)
    try (modules.filter { !$0.builtIn }.map { "kernel/drivers/\($0.name.replacingOccurrences(of: "_", with: "-")).ko" }
      .joined(separator: "\n") + "\n").write(toFile: tree + "/modules.order", atomically: true, encoding: .utf8)
    // depmod warns without it; built-in modules' aliases would live here.
    FileManager.default.createFile(atPath: tree + "/modules.builtin.modinfo", contents: Data())
    try FixtureHost.run("/sbin/depmod", ["-b", directory, release])
  }

  private static func run(_ tool: String, _ arguments: [String]) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tool)
    process.arguments = arguments
    let errors = Pipe()
    process.standardError = errors
    do {
      try process.run()
    } catch {
      throw FixtureError.invalid("cannot run \(tool) (install gcc and kmod): \(error)")
    }
    let message = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      throw FixtureError.invalid(
        "\(tool) \(arguments.joined(separator: " ")) failed: \(String(decoding: message, as: UTF8.self))")
    }
  }
}
