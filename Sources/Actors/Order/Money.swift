import Foundation

/// An amount of money in hundredths (cents), exact.
///
/// Parsed from the API's decimal strings (`"19.99"`, `"12.5"`, `"7"`: zero to two decimals)
/// and printed with exactly two (`"12.50"`). Never a binary float.
public struct Money: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var cents: Int64

    public init(cents: Int64) {
        self.cents = cents
    }

    public static let zero = Money(cents: 0)
    /// The largest amount a `numeric(12,2)` column holds.
    public static let maximumStored = Money(cents: 999_999_999_999)

    /// The exact decimal value, for `numeric` columns.
    public var decimal: Decimal { Decimal(cents) / 100 }

    /// Parses a decimal string with 0..2 fraction digits; nil for anything else (signs other
    /// than a leading `-`, exponents, spaces, three decimals, overflow).
    public init?(_ text: some StringProtocol) {
        var utf8 = Substring(text).utf8[...]
        var negative = false
        if utf8.first == UInt8(ascii: "-") {
            negative = true
            utf8 = utf8.dropFirst()
        }
        guard !utf8.isEmpty else { return nil }
        var whole: Int64 = 0
        var fraction: Int64 = 0
        var fractionDigits = 0
        var seenPoint = false
        var wholeDigits = 0
        for byte in utf8 {
            if byte == UInt8(ascii: ".") {
                guard !seenPoint else { return nil }
                seenPoint = true
                continue
            }
            guard byte >= 48, byte <= 57 else { return nil }
            let digit = Int64(byte - 48)
            if seenPoint {
                fractionDigits += 1
                guard fractionDigits <= 2 else { return nil }
                fraction = fraction * 10 + digit
            } else {
                wholeDigits += 1
                let (times10, overflow1) = whole.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times10.addingReportingOverflow(digit)
                guard !overflow1, !overflow2 else { return nil }
                whole = sum
            }
        }
        guard wholeDigits > 0, !seenPoint || fractionDigits > 0 else { return nil }
        if fractionDigits == 1 { fraction *= 10 }
        let (scaled, overflow1) = whole.multipliedReportingOverflow(by: 100)
        let (total, overflow2) = scaled.addingReportingOverflow(fraction)
        guard !overflow1, !overflow2 else { return nil }
        cents = negative ? -total : total
    }

    /// Two decimals, always: `"12.50"`, `"-0.05"`.
    public var description: String {
        let magnitude = cents.magnitude
        let fraction = magnitude % 100
        return (cents < 0 ? "-" : "") + "\(magnitude / 100)." + (fraction < 10 ? "0" : "") + "\(fraction)"
    }

    public static func < (lhs: Money, rhs: Money) -> Bool { lhs.cents < rhs.cents }

    /// Sum, or nil on overflow.
    public func adding(_ other: Money) -> Money? {
        let (sum, overflow) = cents.addingReportingOverflow(other.cents)
        return overflow ? nil : Money(cents: sum)
    }

    /// This amount times `quantity`, or nil on overflow.
    public func multiplied(by quantity: Int) -> Money? {
        let (product, overflow) = cents.multipliedReportingOverflow(by: Int64(quantity))
        return overflow ? nil : Money(cents: product)
    }
}
