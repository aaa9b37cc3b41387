import Foundation
import XCTest

/// The stand-in API server (Tests/kubernetes/fake-apiserver.py) with Debian's real kubectl and a
/// kubeconfig pointing at it. Stopped when the test ends.
final class FakeAPIServer {
  /// One recorded request.
  struct Request {
    var method: String
    var path: String
    var query: String
    var body: String?
  }

  let kubeconfig: String
  let kubectl: String
  let log: String
  private let process: Process
  private let input: Pipe

  /// - Parameters: see fake-apiserver.py: the node and its labels and status, the ConfigMaps and
  ///   Pods it serves (as JSON objects), and the mode (normal, forbidden, forbidden-configmaps,
  ///   forbidden-pods, unauthorized).
  init(
    _ test: XCTestCase, node: String = "x710-host", labels: [String: String] = ["kubernetes.io/hostname": "x710-host"],
    nodeStatus: [String: Any]? = nil, configMaps: [[String: Any]] = [], pods: [[String: Any]] = [],
    mode: String = "normal"
  ) throws {
    let directory = try temporaryDirectory(test).path
    let fetch = try runProgram(repositoryRoot.appendingPathComponent("Tests/kubernetes/kubectl.sh"), [])
    XCTAssertEqual(fetch.status, 0, "Debian's kubectl: \(fetch.stderr)")
    kubectl = fetch.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    log = directory + "/requests.jsonl"
    func json(_ object: Any) throws -> String {
      String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }
    process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
    var arguments = [
      repositoryRoot.appendingPathComponent("Tests/kubernetes/fake-apiserver.py").path,
      "--node", node, "--labels", try json(labels), "--mode", mode, "--log", log,
      "--configmaps", try json(configMaps), "--pods", try json(pods),
    ]
    if let nodeStatus { arguments += ["--node-status", try json(nodeStatus)] }
    process.arguments = arguments
    let output = Pipe()
    input = Pipe()
    process.standardOutput = output
    process.standardInput = input
    try process.run()
    test.addTeardownBlock { [process, input] in
      try? input.fileHandleForWriting.close()
      process.terminate()
      process.waitUntilExit()
    }
    var portText = ""
    while !portText.hasSuffix("\n") {
      let byte = output.fileHandleForReading.readData(ofLength: 1)
      guard !byte.isEmpty else { break }
      portText += String(decoding: byte, as: UTF8.self)
    }
    let port = try XCTUnwrap(Int(portText.trimmingCharacters(in: .whitespacesAndNewlines)), "the API server's port")
    kubeconfig = directory + "/kubeconfig"
    try FakeAPIServer.kubeconfig(server: "http://127.0.0.1:\(port)").write(toFile: kubeconfig, atomically: true, encoding: .utf8)
  }

  /// A kubeconfig for one cluster with a token.
  static func kubeconfig(server: String) -> String {
    """
    apiVersion: v1
    kind: Config
    clusters:
    - name: test
      cluster: {server: "\(server)"}
    users:
    - name: test
      user: {token: "test-token"}
    contexts:
    - name: test
      context: {cluster: test, user: test}
    current-context: test

    """
  }

  /// Stops the server early (a test that starts another).
  func stop() {
    try? input.fileHandleForWriting.close()
    process.terminate()
    process.waitUntilExit()
  }

  /// The recorded requests. The server creates its log before it announces its port, so a
  /// missing log is an error here, never "no requests".
  func requests() throws -> [Request] {
    let text = try String(contentsOfFile: log, encoding: .utf8)
    return try text.split(separator: "\n").map { line in
      let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
      let full = object["path"] as? String ?? ""
      let parts = full.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
      return Request(
        method: object["method"] as? String ?? "", path: String(parts[0]),
        query: parts.count > 1 ? (String(parts[1]).removingPercentEncoding ?? String(parts[1])) : "",
        body: object["body"] as? String)
    }
  }

  /// The JSON merge patches sent.
  func patches() throws -> [[String: Any]] {
    try requests().filter { $0.method == "PATCH" }.map {
      try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(($0.body ?? "").utf8)) as? [String: Any])
    }
  }
}
