/// Parses configuration durations: seconds (`900`) or a number with a unit (`500ms`, `90s`,
/// `15m`, `1h`, `1d`). A value past `Int64.max` seconds reads as `Int64.max` seconds, so
/// that the caller's own bound names it (no overflow trap).
public enum DurationText {
    public static func parse(_ text: String) -> Duration? {
        let trimmed = Substring(text.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
        let digits = trimmed.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, let value = Int64(digits) else { return nil }
        switch trimmed.dropFirst(digits.count) {
        case "", "s": return .seconds(value)
        case "ms": return .milliseconds(value)
        case "m": return .seconds(saturating(value, times: 60))
        case "h": return .seconds(saturating(value, times: 3600))
        case "d": return .seconds(saturating(value, times: 86_400))
        default: return nil
        }
    }

    private static func saturating(_ value: Int64, times unit: Int64) -> Int64 {
        let (product, overflow) = value.multipliedReportingOverflow(by: unit)
        return overflow ? .max : product
    }
}
