import FoundationEssentials

/// The cluster, reached through the real kubectl, run directly (never through a shell) with
/// `--kubeconfig` and `--context` when given. `label` writes through it; `check` only reads
/// (`kubectl get`).
public struct Kubectl: Sendable, Equatable {
  public var path: String
  public var kubeconfig: String?
  public var context: String?

  public init(path: String = "kubectl", kubeconfig: String? = nil, context: String? = nil) {
    self.path = path
    self.kubeconfig = kubeconfig
    self.context = context
  }

  /// A kubectl failure, in kubectl's own words with what it means.
  public enum Failure: Error, Equatable, CustomStringConvertible {
    case missing(String)
    case failed(command: [String], message: String, meaning: Meaning?)
    case unreadable(command: [String], output: String)

    /// What kubectl's error says, for an operator who does not know its phrasing.
    public enum Meaning: String, Sendable, Equatable {
      case notFound, forbidden, unauthorized, unreachable, noKubeconfig

      var text: String {
        switch self {
        case .notFound: return "not found"
        case .forbidden: return "the credentials may not read this (RBAC)"
        case .unauthorized: return "the cluster rejected the credentials"
        case .unreachable: return "the cluster cannot be reached"
        case .noKubeconfig: return "no kubeconfig: pass --kubeconfig or set KUBECONFIG"
        }
      }
    }

    public var description: String {
      switch self {
      case .missing(let path):
        return "kubectl was not found (\(path)): install it or name it with --kubectl PATH"
      case .failed(let command, let message, let meaning):
        return (meaning.map { "\($0.text): " } ?? "") + "\(command.joined(separator: " ")): \(message)"
      case .unreadable(let command, let output):
        return "\(command.joined(separator: " ")) printed what sriovctl cannot read: \(output.prefix(200))"
      }
    }

    /// Whether the cluster could not be consulted at all (as opposed to one object being absent
    /// or refused).
    public var isClusterWide: Bool {
      switch self {
      case .missing, .unreadable: return true
      case .failed(_, _, let meaning): return meaning != .notFound && meaning != .forbidden
      }
    }
  }

  /// `kubectl [--kubeconfig K] [--context C] ARGS...`
  public func command(_ arguments: [String]) -> [String] {
    var command = [path]
    if let kubeconfig { command += ["--kubeconfig", kubeconfig] }
    if let context { command += ["--context", context] }
    return command + arguments
  }

  /// Runs `kubectl ARGS...` and returns what it printed; a failure in kubectl's words.
  public func run(_ arguments: [String]) throws -> String {
    let command = command(arguments)
    let outcome: Subprocess.Outcome
    do {
      outcome = try Subprocess.capture(command)
    } catch let failure as Subprocess.Failure {
      if failure.message == "not found in PATH" || failure.message.contains("ENOENT") { throw Failure.missing(path) }
      // Not started at all (a kubectl that is not executable): said as kubectl's own failure.
      throw Failure.failed(command: command, message: failure.message, meaning: nil)
    }
    guard outcome.status == 0 else {
      let message = outcome.errors.split(separator: "\n").map(String.init).last { !$0.isEmpty }
        ?? "exit status \(outcome.status)"
      throw Failure.failed(command: command, message: message, meaning: Kubectl.meaning(of: message))
    }
    return outcome.output
  }

  /// `kubectl get ARGS... -o json --request-timeout 10s`, decoded: read-only, and bounded so that
  /// a cluster that accepts the connection and never answers cannot hang the caller.
  public func get<Object: Decodable>(_ type: Object.Type, _ arguments: [String]) throws -> Object {
    let arguments = ["get"] + arguments + ["-o", "json", "--request-timeout", "10s"]
    let output = try run(arguments)
    do {
      return try JSONDecoder().decode(Object.self, from: Data(output.utf8))
    } catch {
      throw Failure.unreadable(command: command(arguments), output: output)
    }
  }

  /// What kubectl's error message means.
  static func meaning(of message: String) -> Failure.Meaning? {
    if message.contains("(NotFound)") { return .notFound }
    if message.contains("(Forbidden)") { return .forbidden }
    if message.contains("(Unauthorized)") { return .unauthorized }
    if message.contains("connection refused") || message.contains("was refused") || message.contains("no such host") || message.contains("i/o timeout")
      || message.contains("Unable to connect") || message.contains("Client.Timeout")
      || message.contains("context deadline exceeded")
    {
      return .unreachable
    }
    if message.contains("localhost:8080") || message.contains("kubeconfig") || message.contains("no configuration") {
      return .noKubeconfig
    }
    return nil
  }
}
