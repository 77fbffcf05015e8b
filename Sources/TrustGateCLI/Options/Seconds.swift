import ArgumentParser
import Foundation

/// A number of seconds on the command line (`--timeout 2`, `--timeout 0.5`): finite, more than 0, at most a day,
/// as the configuration's durations. Anything else (`nan`, `inf`, `-1`, `1e300`) is a usage error, exit 64,
/// before any work starts: an out-of-range number would otherwise trap when converted to an integer.
enum Seconds {
    static let maximum: TimeInterval = 86_400

    /// The transform for `@Option(transform:)`.
    static func parse(_ text: String) throws -> TimeInterval {
        guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite, value > 0,
            value <= maximum
        else {
            throw ValidationError("expected a number of seconds more than 0 and at most \(Int(maximum)) (e.g. 2 or 0.5), not '\(text)'")
        }
        return value
    }
}
