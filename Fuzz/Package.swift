// swift-tools-version:6.0
// libFuzzer targets for every parser of outside text and the renderers' escaping. A package of
// its own, so the main build never needs the sanitizers or Yams. Built and run by `make fuzz`
// (a minute each) and `make fuzz-ci` (a few seconds each); see Fuzz/README.md.
import Foundation
import PackageDescription

// A path dependency's identity is its directory's name, which differs between clones.
let rootPackage = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .lastPathComponent.lowercased()

let targets = ["fuzz-selectors", "fuzz-vf-values", "fuzz-host-text", "fuzz-link-defaults", "fuzz-renderers", "fuzz-yaml"]

let package = Package(
  name: "sriovctl-fuzz",
  dependencies: [
    .package(path: ".."),
    .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
  ],
  targets: [
    .target(name: "FuzzSupport", dependencies: [.product(name: "SRIOVKit", package: rootPackage)])
  ]
    + targets.map { name in
      .executableTarget(
        name: name,
        dependencies: [
          "FuzzSupport", .product(name: "SRIOVKit", package: rootPackage),
          .product(name: "Yams", package: "Yams"),
        ],
        // libFuzzer supplies main(); the target only exports LLVMFuzzerTestOneInput.
        swiftSettings: [.unsafeFlags(["-parse-as-library"])])
    }
)
