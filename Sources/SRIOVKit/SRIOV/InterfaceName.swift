/// A network interface name that the kernel would accept (`dev_valid_name()` in net/core/dev.c):
/// 1 to 15 bytes, not `.` or `..`, and no `/`, `:` or white space.
///
/// sriovctl is stricter than the kernel: only ASCII letters, digits and `. _ - @ +` are accepted,
/// the characters real interface names use, so that a name can be written into a udev rule, a unit
/// file or a kubectl argument with nothing to quote and nothing to inject.
public struct InterfaceName: Hashable, Comparable, Sendable, CustomStringConvertible {
  public let description: String

  /// The longest name the kernel accepts (IFNAMSIZ less the terminating NUL).
  public static let maximumLength = 15

  public init?(_ text: String) {
    guard !text.isEmpty, text.utf8.count <= InterfaceName.maximumLength, text != ".",
      text != "..",
      text.unicodeScalars.allSatisfy(InterfaceName.isAllowed)
    else { return nil }
    self.description = text
  }

  private static func isAllowed(_ c: Unicode.Scalar) -> Bool {
    switch c {
    case "a"..."z", "A"..."Z", "0"..."9", ".", "_", "-", "@", "+": return true
    default: return false
    }
  }

  public static func < (a: InterfaceName, b: InterfaceName) -> Bool {
    a.description < b.description
  }
}
