import Foundation
import SRIOVKit
import XCTest

/// The Debian package and the release tarball, built from the release binary by the scripts
/// `make deb` and `make dist` run (packaging/), checked with Debian's own tools: what is in them,
/// Depends as dpkg-shlibdeps computes it, lintian, and the same bytes from two builds. Installing
/// the package on a real system is PackageVMTests' job.
final class PackageTests: XCTestCase {
  private var releaseBinary: URL { repositoryRoot.appendingPathComponent(".build/release/sriovctl") }

  private func script(_ name: String, _ arguments: [String]) throws -> Run {
    try runProgram(repositoryRoot.appendingPathComponent("packaging/\(name)"), arguments)
  }

  private struct Missing: Error, CustomStringConvertible { var description: String }

  private func requireReleaseBinary() throws {
    guard FileManager.default.isExecutableFile(atPath: releaseBinary.path) else {
      throw Missing(description: "\(releaseBinary.path) does not exist: build it with 'make release' (make test does)")
    }
  }

  private func build(into directory: URL) throws -> URL {
    let run = try script("make-deb.sh", [releaseBinary.path, directory.path])
    XCTAssertEqual(run.status, 0, run.stderr)
    return URL(fileURLWithPath: run.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
  }

  func testTheDebianPackageIsLaidOutAsDebianDoesAndBuildsTheSameTwice() throws {
    try requireReleaseBinary()
    let directory = try temporaryDirectory(self)
    let deb = try build(into: directory.appendingPathComponent("one"))
    XCTAssertEqual(deb.lastPathComponent, "sriovctl_\(SRIOVKit.version)_amd64.deb")
    let again = try build(into: directory.appendingPathComponent("two"))
    XCTAssertEqual(try Data(contentsOf: deb), try Data(contentsOf: again), "two builds differ")

    func field(_ name: String) throws -> String {
      let run = try runProgram(URL(fileURLWithPath: "/usr/bin/dpkg-deb"), ["-f", deb.path, name])
      XCTAssertEqual(run.status, 0, run.stderr)
      return run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
    XCTAssertEqual(try field("Package"), "sriovctl")
    XCTAssertEqual(try field("Version"), SRIOVKit.version)
    XCTAssertEqual(try field("Section"), "admin")
    XCTAssertEqual(try field("Recommends"), "pciutils")
    XCTAssertEqual(try field("Suggests"), "kubectl")
    // Depends is dpkg-shlibdeps' reading of the binary's NEEDED libraries: each of them, by the
    // package that ships it, with a version.
    let depends = try field("Depends").components(separatedBy: ", ").map { $0.split(separator: " ").first.map(String.init) ?? "" }
    XCTAssertEqual(
      Set(depends), ["libc6", "libgcc-s1", "libkmod2", "libnl-3-200", "libnl-route-3-200", "libpci3", "libstdc++6", "libsystemd0"])
    let dependsField = try field("Depends")
    XCTAssertTrue(dependsField.contains("libpci3 (>= "), dependsField)

    let list = try runProgram(URL(fileURLWithPath: "/usr/bin/dpkg-deb"), ["-c", deb.path])
    let files = list.stdout.split(separator: "\n").filter { $0.hasPrefix("-") }.map { line -> String in
      let path = String(line.split(separator: " ", omittingEmptySubsequences: true).last ?? "")
      return String(path.dropFirst())  // "./usr/..." -> "/usr/..."
    }
    XCTAssertEqual(files.sorted(), [
      "/usr/sbin/sriovctl",
      "/usr/share/bash-completion/completions/sriovctl",
      "/usr/share/doc/sriovctl/changelog.gz",
      "/usr/share/doc/sriovctl/copyright",
      "/usr/share/doc/sriovctl/examples/sriovctl.yaml",
      "/usr/share/fish/vendor_completions.d/sriovctl.fish",
      "/usr/share/lintian/overrides/sriovctl",
      "/usr/share/man/man8/sriovctl.8.gz",
      "/usr/share/zsh/vendor-completions/_sriovctl",
    ])
    XCTAssertTrue(list.stdout.contains("-rwxr-xr-x root/root"), list.stdout)

    // lintian: no error and no warning; the one error overridden (--show-overrides, which makes
    // lintian exit 2 whenever an override is shown) is the override file's, with its reason.
    let lintian = try runProgram(URL(fileURLWithPath: "/usr/bin/lintian"), ["--fail-on", "error,warning", deb.path])
    XCTAssertEqual(lintian.status, 0, lintian.stdout + lintian.stderr)
    XCTAssertEqual(lintian.stdout, "", lintian.stdout)
    let overrides = try runProgram(URL(fileURLWithPath: "/usr/bin/lintian"), ["--show-overrides", deb.path])
    let tags = overrides.stdout.split(separator: "\n").filter { !$0.hasPrefix("N:") }
    XCTAssertEqual(tags, ["O: sriovctl: embedded-library libyaml [usr/sbin/sriovctl]"], overrides.stdout)
  }

  func testABinaryOfAnotherVersionIsRefusedAndNothingIsWritten() throws {
    let directory = try temporaryDirectory(self)
    let fake = directory.appendingPathComponent("sriovctl")
    try "#!/bin/sh\necho 9.9.9\n".write(to: fake, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: fake.path)
    let out = directory.appendingPathComponent("out")
    for name in ["make-deb.sh", "make-dist.sh"] {
      let run = try script(name, [fake.path, out.path])
      XCTAssertEqual(run.status, 1, name)
      XCTAssertEqual(
        run.stderr,
        "\(name): \(fake.path) is version 9.9.9, the source is \(SRIOVKit.version): rebuild it with 'make release'\n")
      XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), name)
    }
    let usage = try script("make-deb.sh", [])
    XCTAssertEqual(usage.status, 2)
  }

  func testTheTarballHoldsWhatItSaysAndItsChecksum() throws {
    try requireReleaseBinary()
    let directory = try temporaryDirectory(self)
    let run = try script("make-dist.sh", [releaseBinary.path, directory.path])
    XCTAssertEqual(run.status, 0, run.stderr)
    let name = "sriovctl-\(SRIOVKit.version)-linux-x86_64"
    XCTAssertEqual(run.stdout, "\(directory.path)/\(name).tar.gz\n")
    let check = try runProgram(URL(fileURLWithPath: "/bin/sh"), ["-c", "cd '\(directory.path)' && sha256sum -c \(name).tar.gz.sha256"])
    XCTAssertEqual(check.stdout, "\(name).tar.gz: OK\n", check.stderr)
    let list = try runProgram(URL(fileURLWithPath: "/bin/tar"), ["-tzf", directory.appendingPathComponent("\(name).tar.gz").path])
    XCTAssertEqual(list.stdout.split(separator: "\n").filter { !$0.hasSuffix("/") }.sorted(), [
      "\(name)/LICENSE", "\(name)/README.md", "\(name)/completions/sriovctl.bash", "\(name)/completions/sriovctl.fish",
      "\(name)/completions/sriovctl.zsh", "\(name)/examples/sriovctl.yaml", "\(name)/man/sriovctl.8", "\(name)/sriovctl",
    ].map { Substring($0) })
    // The unpacked binary runs and is this version.
    let unpack = directory.appendingPathComponent("unpacked")
    try FileManager.default.createDirectory(at: unpack, withIntermediateDirectories: true)
    _ = try runProgram(URL(fileURLWithPath: "/bin/tar"), ["-xzf", directory.appendingPathComponent("\(name).tar.gz").path, "-C", unpack.path])
    let version = try runProgram(unpack.appendingPathComponent("\(name)/sriovctl"), ["--version"])
    XCTAssertEqual(version.stdout, "\(SRIOVKit.version)\n")
    let again = directory.appendingPathComponent("again")
    XCTAssertEqual(try script("make-dist.sh", [releaseBinary.path, again.path]).status, 0)
    XCTAssertEqual(
      try Data(contentsOf: directory.appendingPathComponent("\(name).tar.gz")),
      try Data(contentsOf: again.appendingPathComponent("\(name).tar.gz")), "two builds differ")
  }
}
