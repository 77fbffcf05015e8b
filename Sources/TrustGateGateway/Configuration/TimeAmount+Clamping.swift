import NIOCore

extension TimeAmount {
    /// `seconds` as a time amount, never trapping: NaN and negatives are 0, more than a year is a year.
    static func seconds(clamping seconds: Double) -> TimeAmount {
        guard seconds.isFinite, seconds > 0 else { return .zero }
        return .nanoseconds(Int64(min(seconds, 31_536_000) * 1_000_000_000))
    }
}

extension Duration {
    /// `seconds` as a duration, never trapping: NaN and negatives are 0, more than a year is a year.
    static func seconds(clamping seconds: Double) -> Duration {
        .nanoseconds(TimeAmount.seconds(clamping: seconds).nanoseconds)
    }
}
