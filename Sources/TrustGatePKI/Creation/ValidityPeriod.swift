import Foundation

/// When a certificate is valid: `notBefore` to `notAfter`, both whole seconds in UTC.
public struct ValidityPeriod: Hashable, Sendable {
    public var notBefore: Date
    public var notAfter: Date

    public init(notBefore: Date, notAfter: Date) throws(PKIError) {
        guard notAfter > notBefore else {
            throw .invalidRequest("the validity ends (\(RFC3339.format(notAfter))) before it starts (\(RFC3339.format(notBefore)))")
        }
        self.notBefore = notBefore.wholeSeconds
        self.notAfter = notAfter.wholeSeconds
    }

    /// `days` days from a start a few minutes before `now`, so a certificate is usable at once on a host whose
    /// clock is slightly behind (as step-ca back-dates by a minute).
    public static func days(_ days: Int, from now: Date = Date()) throws(PKIError) -> ValidityPeriod {
        guard days > 0, days <= 36500 else { throw .invalidRequest("--days must be between 1 and 36500") }
        let start = now.addingTimeInterval(-300)
        return try ValidityPeriod(notBefore: start, notAfter: now.addingTimeInterval(TimeInterval(days) * 86400))
    }

    /// Reads a point in time: RFC 3339 (`2027-01-31T12:00:00Z`, `2027-01-31`), or a duration from `now` such as
    /// `90d`, `2y`, `12h`, `30m`, `-1d` (`y` is 365 days, `w` 7 days).
    public static func parseTime(_ text: String, now: Date = Date()) throws(PKIError) -> Date {
        if let date = RFC3339.parse(text) { return date }
        if let seconds = duration(text) { return now.addingTimeInterval(seconds) }
        throw .invalidRequest(
            "'\(text)' is neither an RFC 3339 time nor a duration",
            hint: "use e.g. 2027-01-31T00:00:00Z, 90d, 2y, -1d or 12h"
        )
    }

    private static func duration(_ text: String) -> TimeInterval? {
        var body = Substring(text.trimmingCharacters(in: .whitespaces))
        var sign = 1.0
        if body.hasPrefix("-") {
            sign = -1
            body = body.dropFirst()
        } else if body.hasPrefix("+") {
            body = body.dropFirst()
        }
        guard let unit = body.last, let amount = Int(body.dropLast()), amount >= 0, amount <= 1_000_000 else {
            return nil
        }
        let unitSeconds: Double
        switch unit {
        case "s": unitSeconds = 1
        case "m": unitSeconds = 60
        case "h": unitSeconds = 3600
        case "d": unitSeconds = 86400
        case "w": unitSeconds = 7 * 86400
        case "y": unitSeconds = 365 * 86400
        default: return nil
        }
        return sign * Double(amount) * unitSeconds
    }
}

/// RFC 3339 times in UTC, as every TrustGate output prints them.
public enum RFC3339 {
    /// `2027-01-31T12:00:00Z` (fractions of a second dropped). By arithmetic, not `ISO8601DateFormatter`:
    /// that one loads ICU, a fifth of what `cert create` costs in all.
    public static func format(_ date: Date) -> String {
        stamp(date, milliseconds: false)
    }

    /// `2027-01-31T12:00:00.123Z`, for logs: no formatter object, cheap enough to call per request.
    public static func formatMilliseconds(_ date: Date) -> String {
        stamp(date, milliseconds: true)
    }

    private static func stamp(_ date: Date, milliseconds: Bool) -> String {
        let raw = date.timeIntervalSince1970.isFinite ? date.timeIntervalSince1970 : 0
        let seconds = raw.rounded(.down)
        var time = time_t(exactly: seconds) ?? 0
        var parts = tm()
        gmtime_r(&time, &parts)
        var text = ""
        text.reserveCapacity(24)
        func append(_ value: Int32, digits: Int, then separator: String) {
            let decimal = String(value)
            text += String(repeating: "0", count: max(0, digits - decimal.count)) + decimal + separator
        }
        append(parts.tm_year + 1900, digits: 4, then: "-")
        append(parts.tm_mon + 1, digits: 2, then: "-")
        append(parts.tm_mday, digits: 2, then: "T")
        append(parts.tm_hour, digits: 2, then: ":")
        append(parts.tm_min, digits: 2, then: ":")
        if milliseconds {
            append(parts.tm_sec, digits: 2, then: ".")
            append(Int32(min(999, (raw - seconds) * 1000)), digits: 3, then: "Z")
        } else {
            append(parts.tm_sec, digits: 2, then: "Z")
        }
        return text
    }

    /// Reads `2027-01-31T12:00:00Z`, with an offset (`+02:00`), fractional seconds, or a bare date
    /// (midnight UTC).
    public static func parse(_ text: String) -> Date? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        for options: ISO8601DateFormatter.Options in [
            [.withInternetDateTime], [.withInternetDateTime, .withFractionalSeconds], [.withFullDate],
        ] {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = options
            formatter.timeZone = TimeZone(identifier: "UTC")
            if let date = formatter.date(from: trimmed) { return date }
        }
        return nil
    }
}

/// Civil time in UTC to `Date`, by arithmetic (Howard Hinnant's days-from-civil), not `Calendar`, which loads
/// ICU: certificates' validity times are read on every command that opens one.
public enum UTCDate {
    /// The instant of a proleptic Gregorian date and time in UTC. The caller has checked the ranges (month 1–12, a
    /// day the month has, a year of 0–9999, hour 0–23, minute 0–59); a second of 60 counts as the next minute's 0.
    public static func make(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) -> Date {
        let shifted = month <= 2 ? year - 1 : year
        let era = (shifted >= 0 ? shifted : shifted - 399) / 400
        let yearOfEra = shifted - era * 400
        let dayOfYear = (153 * ((month + 9) % 12) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return Date(timeIntervalSince1970: Double(days * 86_400 + hour * 3_600 + minute * 60 + second))
    }
}

extension Date {
    fileprivate var wholeSeconds: Date { Date(timeIntervalSince1970: timeIntervalSince1970.rounded(.down)) }
}
