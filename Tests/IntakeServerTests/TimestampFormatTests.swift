import Foundation
@testable import IntakeRuntime
@testable import IntakeServer
import Testing

@Suite("API timestamps")
struct TimestampFormatTests {
    static func instants() -> [Double] {
        var generator = SystemRandomNumberGenerator()
        var instants: [Double] = [
            0, 1_796_000_000, 1_796_000_000.999_999_6, 1_796_000_000.000_000_4, 1_796_000_000.123_499_9, 1_796_000_000.999_5,
            1_796_000_000.036, 1_796_000_000.035_999_9,
        ]
        for _ in 0..<20_000 { instants.append(Double.random(in: 0..<4_102_444_800, using: &generator)) }
        return instants
    }

    /// An order's times are kept in memory and stored (whole microseconds): the 201 and every
    /// later read — from memory or from the row — must show the same text.
    @Test func aTimeShowsTheSameBeforeAndAfterItIsStored() throws {
        for instant in Self.instants() {
            let kept = PostgresTimestamp.stored(Date(timeIntervalSince1970: instant))
            let readBack = try #require(PostgresTimestamp.parse(PostgresTimestamp.format(kept)))
            #expect(Timestamp.string(kept) == Timestamp.string(readBack), "\(instant)")
        }
    }

    /// RFC 3339 UTC with milliseconds, as Foundation's ISO 8601 style (the format every API
    /// timestamp has had) writes it wherever that style is not a float's hair from the next
    /// millisecond: it truncates the binary fraction, so it can write .035 for .036000.
    @Test func formatMatchesFoundationsISO8601() {
        let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)
        for instant in Self.instants() {
            let fraction = (instant * 1000).truncatingRemainder(dividingBy: 1)
            guard fraction > 0.001, fraction < 0.999 else { continue }
            let date = Date(timeIntervalSince1970: instant)
            #expect(Timestamp.string(date) == style.format(date), "\(instant)")
        }
        #expect(Timestamp.string(Date(timeIntervalSince1970: 1_796_000_000.036)) == "2026-11-30T00:53:20.036Z")
    }

    /// The API's text is Postgres's text of the same instant with `T`, three fraction digits
    /// and `Z`: written directly, it must agree with that derivation everywhere, before 1970
    /// and after 9999 included.
    @Test func rfc3339TextIsThePostgresTextCutToMilliseconds() {
        var instants = Self.instants()
        instants += [-1, -0.000_000_4, -86_400.5, -62_135_596_800, 253_402_300_799.999_999, 253_402_300_800, 1e12]
        for _ in 0..<2_000 { instants.append(Double.random(in: -62_135_596_800..<0)) }
        for instant in instants {
            let date = Date(timeIntervalSince1970: instant)
            let text = PostgresTimestamp.format(date)
            #expect(JSONText.timestamp(date) == text.prefix(10) + "T" + text.dropFirst(11).prefix(12) + "Z", "\(instant)")
        }
    }
}
