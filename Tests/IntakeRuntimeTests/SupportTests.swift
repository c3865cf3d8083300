import Foundation
import Logging
import Testing

@testable import IntakeRuntime

@Suite struct SupportTests {
    @Test func durationsParseSecondsAndUnits() {
        #expect(DurationText.parse("900") == .seconds(900))
        #expect(DurationText.parse("90s") == .seconds(90))
        #expect(DurationText.parse("15m") == .seconds(900))
        #expect(DurationText.parse("1h") == .seconds(3600))
        #expect(DurationText.parse("250ms") == .milliseconds(250))
        #expect(DurationText.parse(" 2d ") == .seconds(172_800))
        #expect(DurationText.parse("") == nil)
        #expect(DurationText.parse("m") == nil)
        #expect(DurationText.parse("15 minutes") == nil)
        #expect(DurationText.parse("-5s") == nil)
        #expect(DurationText.parse("1.5h") == nil)
    }

    @Test func jsonLogStringsAreEscaped() {
        var line = ""
        JSONLogHandler.appendString("quote\" back\\ new\nline \u{1}ctl é", to: &line)
        #expect(line == #""quote\" back\\ new\nline \u0001ctl é""#)
        let decoded = try? JSONSerialization.jsonObject(with: Data("[\(line)]".utf8)) as? [String]
        #expect(decoded == ["quote\" back\\ new\nline \u{1}ctl é"])
    }

    @Test func hexAndChecksums() {
        #expect(Hex.encode([0x00, 0x0f, 0xa0, 0xff]) == "000fa0ff")
        #expect(Hex.sha256("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func migrationChecksumFollowsTheScript() {
        let a = Migration(version: 1, name: "a", sql: "CREATE TABLE a ()")
        var b = a
        #expect(a.checksum == b.checksum)
        b.sql += " "
        #expect(a.checksum != b.checksum)
    }
}

@Suite struct UUIDv7Tests {
    @Test func carriesTheTimeAndTheVersionAndVariantBits() {
        let date = Date(timeIntervalSince1970: 1_795_801_200.123)
        let id = UUIDv7.make(at: date)
        #expect(UUIDv7.milliseconds(of: id) == 1_795_801_200_123)
        let text = id.uuidString.lowercased()
        #expect(Array(text)[14] == "7", "version 7")
        #expect("89ab".contains(Array(text)[19]), "RFC variant")
    }

    @Test func laterIdsSortAfterEarlierOnes() {
        let early = UUIDv7.make(at: Date(timeIntervalSince1970: 1000))
        let late = UUIDv7.make(at: Date(timeIntervalSince1970: 1000.002))
        #expect(early.uuidString < late.uuidString)
        #expect(Set((0..<1000).map { _ in UUIDv7.make() }).count == 1000)
    }

    /// RFC 3339 needs the offset: a bare local time would silently be read as UTC.
    @Test func timestampsNeedTheirOffset() throws {
        #expect(JSONText.parseTimestamp("2026-11-29T10:40:00Z") != nil)
        #expect(JSONText.parseTimestamp("2026-11-29T10:40:00.25+02:00") == JSONText.parseTimestamp("2026-11-29T08:40:00.25Z"))
        #expect(JSONText.parseTimestamp("2026-11-29T10:40:00-03:00") != nil)
        #expect(JSONText.parseTimestamp("2026-11-29T10:40:00") == nil)
        #expect(JSONText.parseTimestamp("2026-11-29 10:40:00") == nil)
        #expect(JSONText.parseTimestamp("2026-11-29") == nil)
        #expect(JSONText.parseTimestamp("garbage") == nil)
    }
}
