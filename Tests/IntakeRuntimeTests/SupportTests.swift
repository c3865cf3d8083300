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

    /// A unit that multiplies past `Int64` seconds used to trap (hostile review, session 12:
    /// `--payment-ttl 2562047788015216h` killed `intake serve` with SIGILL); it saturates, so
    /// the caller's bound rejects it with its own message.
    @Test func hugeDurationsSaturateInsteadOfTrapping() {
        #expect(DurationText.parse("2562047788015216h") == .seconds(Int64.max))
        #expect(DurationText.parse("153722867280912931m") == .seconds(Int64.max))
        #expect(DurationText.parse("106751991167301d") == .seconds(Int64.max))
        #expect(DurationText.parse("\(Int64.max)s") == .seconds(Int64.max))
        #expect(DurationText.parse("99999999999999999999s") == nil)
    }

    @Test func jsonLogStringsAreEscaped() {
        var line = ""
        JSONLogHandler.appendString("quote\" back\\ new\nline \u{1}ctl é", to: &line)
        #expect(line == #""quote\" back\\ new\nline \u0001ctl é""#)
        let decoded = try? JSONSerialization.jsonObject(with: Data("[\(line)]".utf8)) as? [String]
        #expect(decoded == ["quote\" back\\ new\nline \u{1}ctl é"])
    }

    @Test func jsonStringsNeedingNoEscapeAreAppendedWhole() {
        for text in ["", "plain ascii", "é 東京 🚀", "\u{7F}", "order-0191", "tab\there", "q\"", "b\\", "\u{1F}"] {
            let literal = JSONText.string(text)
            let decoded = try? JSONSerialization.jsonObject(with: Data("[\(literal)]".utf8)) as? [String]
            #expect(decoded == [text], "\(literal)")
        }
        #expect(JSONText.string("a/b é") == #""a/b é""#)
    }

    /// Unique, version-4 UUIDs from the fast generator (request and event ids), distinct
    /// across threads.
    @Test func uniqueIDsAreDistinctVersion4UUIDs() async {
        let ids = await withTaskGroup(of: [UUID].self) { group in
            for _ in 0..<4 { group.addTask { (0..<25_000).map { _ in UniqueID.uuid() } } }
            return await group.reduce(into: [UUID]()) { $0 += $1 }
        }
        #expect(Set(ids).count == 100_000)
        for id in ids.prefix(1000) {
            #expect(id.uuid.6 >> 4 == 4, "version 4")
            #expect(id.uuid.8 >> 6 == 0b10, "RFC 9562 variant")
        }
        // Bits look random: each of the 122 random bits is set in about half of the ids.
        var ones = [Int](repeating: 0, count: 128)
        for id in ids.prefix(10_000) {
            withUnsafeBytes(of: id.uuid) { raw in
                for bit in 0..<128 where raw[bit / 8] & (0x80 >> (bit % 8)) != 0 { ones[bit] += 1 }
            }
        }
        let fixed: Set<Int> = [48, 49, 50, 51, 64, 65]
        for bit in 0..<128 where !fixed.contains(bit) { #expect((4_500...5_500).contains(ones[bit]), "bit \(bit): \(ones[bit])") }
        let v7 = UUIDv7.make()
        #expect(v7.uuid.6 >> 4 == 7)
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

    /// Within one millisecond too: the sub-millisecond part fills the 12 bits after the
    /// version, and the time comes back from the id to within 1/4096 ms.
    @Test func idsMadeWithinOneMillisecondSortInTimeOrderAndGiveTheirTimeBack() throws {
        let base = 1_795_801_200.123
        let dates = (0..<400).map { Date(timeIntervalSince1970: base + Double($0) * 0.000_002_5) }  // 2.5 µs apart
        let ids = dates.map { UUIDv7.make(at: $0) }
        #expect(ids.map(\.uuidString) == ids.map(\.uuidString).sorted())
        for (id, date) in zip(ids, dates) {
            let back = try #require(UUIDv7.date(of: id))
            #expect(abs(date.timeIntervalSince(back)) < 0.000_000_3, "\(date.timeIntervalSince(back))")
        }
        let stored = ids.compactMap(UUIDv7.date(of:)).map(PostgresTimestamp.stored)
        #expect(stored == stored.sorted(), "timestamps rounded to microseconds keep the ids' order")
        #expect(UUIDv7.date(of: UUID()) == nil, "a random (version 4) id carries no time")
    }

    @Test func laterIdsSortAfterEarlierOnes() {
        let early = UUIDv7.make(at: Date(timeIntervalSince1970: 1000))
        let late = UUIDv7.make(at: Date(timeIntervalSince1970: 1000.002))
        #expect(early.uuidString < late.uuidString)
        #expect(Set((0..<1000).map { _ in UUIDv7.make() }).count == 1000)
    }

    /// A Redis URL whose port no socket can have is a configuration error at once, as a
    /// Postgres URL's is, not a server that starts and retries a connection forever (hostile
    /// review, session 12).
    @Test func redisURLsNeedAPortInRange() throws {
        for url in ["redis://127.0.0.1:99999/0", "redis://127.0.0.1:0/0"] {
            #expect(throws: RedisError.self, "\(url)") { try RedisConfiguration(url: url) }
        }
        #expect(try RedisConfiguration(url: "redis://127.0.0.1:65535/2").port == 65_535)
        #expect(try RedisConfiguration(url: "redis://cache").port == 6379)
    }

    /// An error reply of a passing server state (still loading after a restart, out of
    /// memory, a read-only replica) is an outage, answered 503 like a refused connection; a
    /// command's own error is not (hostile review, session 15: `-LOADING` answered 500).
    @Test func errorRepliesOfAPassingServerStateAreOutages() {
        for reply in [
            "LOADING Redis is loading the dataset in memory", "OOM command not allowed when used memory > 'maxmemory'.",
            "READONLY You can't write against a read only replica.", "MASTERDOWN Link with MASTER is down",
            "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk.",
            "BUSY Redis is busy running a script.", "TRYAGAIN Multiple keys request during rehashing of slot",
        ] {
            #expect(RedisError(code: .errorReply, message: reply).isUnavailable, "\(reply)")
        }
        for reply in ["ERR unknown command 'FOO'", "WRONGTYPE Operation against a key holding the wrong kind of value", "BUSYKEY Target key name already exists.", "NOSCRIPT No matching script"] {
            #expect(!RedisError(code: .errorReply, message: reply).isUnavailable, "\(reply)")
        }
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

    /// Fields out of range are errors, never rolled over into the next day or minute (hostile
    /// review, session 12: `intake restore --target-time 2026-02-30T00:00:00Z` restored to
    /// March 2nd).
    @Test func timestampsOutOfRangeAreErrors() {
        for text in [
            "2026-02-30T00:00:00Z", "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z",
            "2026-01-00T00:00:00Z", "2026-11-29T24:00:00Z", "2026-11-29T11:60:00Z", "2026-11-29T11:37:60Z", "2026-11-29T11:37:00+25:00",
            "2026-11-29T11:37:00+05:60",
        ] {
            #expect(JSONText.parseTimestamp(text) == nil, "\(text)")
        }
        #expect(JSONText.parseTimestamp("2028-02-29T23:59:59.999Z") != nil)
        #expect(JSONText.parseTimestamp("2026-12-31T23:59:59+23:59") != nil)
        #expect(PostgresTimestamp.parse("2026-11-29 10:40:00.123456+00") != nil)
        // RFC 3339 §5.6: `T` and `Z` may be lower case.
        #expect(JSONText.parseTimestamp("2026-11-29t10:40:00.5z") == JSONText.parseTimestamp("2026-11-29T10:40:00.5Z"))
        #expect(JSONText.parseTimestamp("2026-11-29t10:40:00.5z") != nil)
    }
}

@Suite struct BufferedSystemRandomTests {
    /// Across many refills of its 4 KiB buffer and from concurrent callers, no value comes
    /// out twice (a buffer handed out again, or a race on its position, would repeat some)
    /// and the bits are balanced.
    @Test func valuesAreNeverRepeatedAcrossRefillsAndCallers() async {
        let values = await withTaskGroup(of: [UInt64].self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var random = BufferedSystemRandom()
                    return (0..<20_000).map { _ in random.next() }
                }
            }
            return await group.reduce(into: [UInt64]()) { $0 += $1 }
        }
        #expect(Set(values).count == values.count)
        let ones = values.reduce(0) { $0 + $1.nonzeroBitCount }
        let share = Double(ones) / Double(values.count * 64)
        #expect(abs(share - 0.5) < 0.005, "share of one bits \(share)")
    }
}
