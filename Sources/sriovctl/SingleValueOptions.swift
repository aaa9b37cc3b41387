import ArgumentParser
import FoundationEssentials

/// The options of a command that take one value, read from the command's own definition (the
/// `--experimental-dump-help` document), so that giving one twice is refused for every
/// subcommand without a list to keep in step.
///
/// ArgumentParser keeps the last of repeated values silently: `--count 2 --count 3` would create
/// 3 VFs, where the user may have meant either.
struct SingleValueOptions {
  /// One option: its spellings (`-o`, `--output`) and whether the next argument is always its
  /// value (`parsing: .unconditional`), even when it starts with `-`.
  private struct Option {
    var names: [String]
    var repeating: Bool
    var unconditional: Bool
  }

  private var options: [Option] = []

  init(of command: ParsableCommand.Type) {
    struct Document: Decodable {
      struct Command: Decodable { var arguments: [Argument]? }
      struct Argument: Decodable {
        struct Name: Decodable { var kind: String; var name: String }
        var kind: String
        var isRepeating: Bool
        var names: [Name]?
        var parsingStrategy: String?
      }
      var command: Command
    }
    guard let document = try? JSONDecoder().decode(Document.self, from: Data(command._dumpHelp().utf8)) else { return }
    for argument in document.command.arguments ?? [] where argument.kind == "option" {
      let names = (argument.names ?? []).map { ($0.kind == "short" ? "-" : "--") + $0.name }
      let strategy = argument.parsingStrategy ?? "default"
      options.append(Option(names: names, repeating: argument.isRepeating, unconditional: strategy.hasPrefix("unconditional")))
    }
  }

  /// Throws a usage error when an option that takes one value is given more than once.
  func refuseRepeats(in arguments: [String]) throws {
    var seen: [Int: Int] = [:]
    var index = 0
    while index < arguments.count {
      let argument = arguments[index]
      index += 1
      if argument == "--" { break }
      guard argument.hasPrefix("-"), argument.count > 1 else { continue }
      let name: String
      let attached: Bool
      if argument.hasPrefix("--") {
        let parts = argument.split(separator: "=", maxSplits: 1)
        name = String(parts.first ?? "")
        attached = argument.contains("=")
      } else {
        // -o json, -ojson, -o=json
        name = String(argument.prefix(2))
        attached = argument.count > 2
      }
      guard let position = options.firstIndex(where: { $0.names.contains(name) }) else { continue }
      let option = options[position]
      if !attached, index < arguments.count, option.unconditional || !arguments[index].hasPrefix("-") {
        index += 1  // its value
      }
      guard !option.repeating else { continue }
      seen[position, default: 0] += 1
      if seen[position]! > 1 {
        throw ValidationError("\(option.names.joined(separator: "/")) was given more than once; give it once")
      }
    }
  }
}
