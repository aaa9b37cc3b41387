import Glibc

/// Runs another program directly (never through a shell), with its output captured.
public enum Subprocess {
  /// What a program printed and how it ended.
  public struct Outcome: Sendable, Equatable {
    public var status: Int32
    public var output: String
    public var errors: String
  }

  /// A program that could not be run or failed.
  public struct Failure: Error, Equatable, CustomStringConvertible {
    public var command: [String]
    public var message: String
    public var description: String { "\(command.joined(separator: " ")): \(message)" }
  }

  /// Runs `arguments[0]` (searched in PATH) with the rest as its arguments and waits for it.
  public static func capture(_ arguments: [String], environment: [String]? = nil) throws -> Outcome {
    var output: [Int32] = [0, 0]
    var errors: [Int32] = [0, 0]
    guard pipe(&output) == 0, pipe(&errors) == 0 else {
      throw Failure(command: arguments, message: Errno.describe(errno))
    }
    // Not inherited by anything else this process might start.
    for fd in output + errors { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, output[1], 1)
    posix_spawn_file_actions_adddup2(&actions, errors[1], 2)
    var argv = arguments.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var envp = (environment ?? currentEnvironment()).map { strdup($0) } + [nil]
    defer { envp.forEach { free($0) } }
    var pid = pid_t()
    let spawned = posix_spawnp(&pid, arguments[0], &actions, nil, &argv, &envp)
    close(output[1])
    close(errors[1])
    guard spawned == 0 else {
      close(output[0])
      close(errors[0])
      let message = spawned == ENOENT ? "not found in PATH" : Errno.describe(spawned)
      throw Failure(command: arguments, message: message)
    }
    // Both pipes are drained together so that neither can fill up and block the child.
    var out: [UInt8] = []
    var err: [UInt8] = []
    var fds = [pollfd(fd: output[0], events: Int16(POLLIN), revents: 0), pollfd(fd: errors[0], events: Int16(POLLIN), revents: 0)]
    var open = 2
    var buffer = [UInt8](repeating: 0, count: 65536)
    while open > 0 {
      guard poll(&fds, 2, -1) >= 0 || errno == EINTR else { break }
      for i in 0..<2 where fds[i].fd >= 0 && fds[i].revents != 0 {
        let n = buffer.withUnsafeMutableBytes { read(fds[i].fd, $0.baseAddress, $0.count) }
        if n > 0 {
          if i == 0 { out += buffer[0..<n] } else { err += buffer[0..<n] }
        } else if n == 0 || errno != EINTR {
          close(fds[i].fd)
          fds[i].fd = -1
          open -= 1
        }
      }
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return Outcome(
      status: exit, output: String(decoding: out, as: UTF8.self), errors: String(decoding: err, as: UTF8.self))
  }

  /// Runs a program and throws when it fails, with its own last words.
  public static func run(_ arguments: [String]) throws {
    let outcome = try capture(arguments)
    guard outcome.status == 0 else {
      let said = outcome.errors.split(separator: "\n").last.map(String.init) ?? "exit status \(outcome.status)"
      throw Failure(command: arguments, message: said)
    }
  }

  private static func currentEnvironment() -> [String] {
    var result: [String] = []
    var entry = environ
    while let pointer = entry.pointee {
      result.append(String(cString: pointer))
      entry += 1
    }
    return result
  }
}
