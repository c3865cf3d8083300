/// Exact money arithmetic for reconciliation: decimal text with at most two places as a
/// whole number of cents, and back. No binary floating point anywhere.
public enum Cents {
    /// `"123.45"`, `"-0.5"`, `"7"` → cents; nil for anything else (more than two decimals,
    /// letters, an empty string).
    public static func parse(_ text: String) -> Int64? {
        var digits = Substring(text.trimmingCharacters(in: [" "]))
        var negative = false
        if digits.first == "-" {
            negative = true
            digits = digits.dropFirst()
        }
        let parts = digits.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty, parts[0].allSatisfy(\.isASCIIDigit) else { return nil }
        let fraction = parts.count == 2 ? parts[1] : ""
        guard fraction.count <= 2, fraction.allSatisfy(\.isASCIIDigit), parts.count == 1 || !fraction.isEmpty else { return nil }
        guard let whole = Int64(parts[0]) else { return nil }
        let cents = Int64(fraction.padding(toLength: 2, withPad: "0", startingAt: 0)) ?? 0
        let (scaled, overflow) = whole.multipliedReportingOverflow(by: 100)
        guard !overflow else { return nil }
        return negative ? -(scaled + cents) : scaled + cents
    }

    /// Cents → `"123.45"` (two decimals always).
    public static func format(_ cents: Int64) -> String {
        let sign = cents < 0 ? "-" : ""
        let magnitude = cents.magnitude
        let fraction = magnitude % 100
        return "\(sign)\(magnitude / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
