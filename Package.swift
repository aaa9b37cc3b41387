// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "sriovctl",
  platforms: [.macOS(.v13)],
  products: [
    .executable(name: "sriovctl", targets: ["sriovctl"]),
    .library(name: "SRIOVKit", targets: ["SRIOVKit"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
  ],
  targets: [
    // The command-line front end: argument parsing and rendering only.
    .executableTarget(
      name: "sriovctl",
      dependencies: [
        "SRIOVKit",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    // The host model and every operation.
    .target(
      name: "SRIOVKit",
      dependencies: [
        "CLibPCI", "CSystemd", "CKmod", "CNetlinkRoute", "CLinux",
        .product(name: "Yams", package: "Yams"),
      ]
    ),
    // Fixture hosts: sysfs/procfs trees that look like real machines, for tests and the benchmark.
    .target(
      name: "SRIOVFixtures",
      dependencies: ["SRIOVKit"]
    ),
    .executableTarget(
      name: "sriovctl-fixture",
      dependencies: ["SRIOVFixtures"]
    ),
    // C libraries, each behind a small shim header.
    .systemLibrary(
      name: "CLibPCI",
      pkgConfig: "libpci",
      providers: [.apt(["libpci-dev"])]
    ),
    .systemLibrary(
      name: "CSystemd",
      pkgConfig: "libsystemd",
      providers: [.apt(["libsystemd-dev"])]
    ),
    .systemLibrary(
      name: "CKmod",
      pkgConfig: "libkmod",
      providers: [.apt(["libkmod-dev"])]
    ),
    .systemLibrary(
      name: "CNetlinkRoute",
      pkgConfig: "libnl-route-3.0",
      providers: [.apt(["libnl-route-3-dev"])]
    ),
    // Kernel UAPI headers (no library): the uevent netlink socket.
    .systemLibrary(name: "CLinux"),
    .testTarget(
      name: "SRIOVKitTests",
      dependencies: ["SRIOVKit", "SRIOVFixtures"]
    ),
    // Runs the built binary the way a user, a script or Ansible would.
    .testTarget(
      name: "sriovctlTests",
      dependencies: ["sriovctl", "SRIOVKit", "SRIOVFixtures"]
    ),
  ]
)
