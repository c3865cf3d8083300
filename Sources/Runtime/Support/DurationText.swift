/// Parses configuration durations: seconds (`900`) or a number with a unit (`500ms`, `90s`,
/// `15m`, `1h`, `1d`).
public enum DurationText {
    public static func parse(_ text: String) -> Duration? {
        let trimmed = Substring(text.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
        let digits = trimmed.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, let value = Int64(digits) else { return nil }
        switch trimmed.dropFirst(digits.count) {
        case "", "s": return .seconds(value)
        case "ms": return .milliseconds(value)
        case "m": return .seconds(value * 60)
        case "h": return .seconds(value * 3600)
        case "d": return .seconds(value * 86_400)
        default: return nil
        }
    }
}
