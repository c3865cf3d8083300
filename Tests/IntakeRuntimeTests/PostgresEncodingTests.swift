import Foundation
import Testing

@testable import IntakeRuntime

@Suite struct PostgresEncodingTests {
    @Test func timestampsFormatInUTCWithMicroseconds() {
        #expect(PostgresTimestamp.format(Date(timeIntervalSince1970: 0)) == "1970-01-01 00:00:00.000000+00")
        #expect(PostgresTimestamp.format(Date(timeIntervalSince1970: 1_795_801_200.123456)) == "2026-11-27 17:40:00.123456+00")
        #expect(PostgresTimestamp.format(Date(timeIntervalSince1970: -0.5)) == "1969-12-31 23:59:59.500000+00")
        #expect(PostgresTimestamp.format(Date(timeIntervalSince1970: 951_782_400)) == "2000-02-29 00:00:00.000000+00")
    }

    @Test func timestampsParseEveryFormThePostgresServerSends() throws {
        let expected = Date(timeIntervalSince1970: 1_795_801_200)
        #expect(PostgresTimestamp.parse("2026-11-27 17:40:00+00") == expected)
        #expect(PostgresTimestamp.parse("2026-11-27T17:40:00Z") == expected)
        #expect(PostgresTimestamp.parse("2026-11-27 19:40:00+02") == expected)
        #expect(PostgresTimestamp.parse("2026-11-27 12:10:00-05:30") == expected)
        let fractional = try #require(PostgresTimestamp.parse("2026-11-27 17:40:00.5+00"))
        #expect(fractional.timeIntervalSince1970 == 1_795_801_200.5)
        #expect(PostgresTimestamp.parse("2026-13-01 00:00:00+00") == nil)
        #expect(PostgresTimestamp.parse("infinity") == nil)
        #expect(PostgresTimestamp.parse("2026-11-27 17:40:00+00 trailing") == nil)
    }

    @Test func formattedTimestampsParseBack() {
        for seconds in stride(from: -2_000_000_000.0, through: 4_000_000_000.0, by: 123_456_789.123_456) {
            let date = Date(timeIntervalSince1970: seconds)
            let parsed = PostgresTimestamp.parse(PostgresTimestamp.format(date))
            #expect(parsed.map { abs($0.timeIntervalSince(date)) < 0.000_001 } == true, "\(seconds)")
        }
    }

    @Test func textArraysQuoteEverythingThatWouldBreakThem() {
        let tricky = ["plain", "", "with,comma", "NULL", "quo\"te", "back\\slash", "{braces}", " spaced "]
        let literal = PostgresValue.arrayLiteral(tricky, quoted: true)
        #expect(literal == #"{"plain","","with,comma","NULL","quo\"te","back\\slash","{braces}"," spaced "}"#)
        #expect(PostgresArrayParser.parse(literal) == tricky.map { Optional($0) })
    }

    @Test func arrayParserReadsServerOutput() {
        #expect(PostgresArrayParser.parse("{}") == [])
        #expect(PostgresArrayParser.parse("{1,2,3}") == ["1", "2", "3"])
        #expect(PostgresArrayParser.parse(#"{a,NULL,"NULL"}"#) == ["a", nil, "NULL"])
        #expect(PostgresArrayParser.parse("{unterminated") == nil)
        #expect(PostgresArrayParser.parse(#"{"open}"#) == nil)
    }

    @Test func uuidsEncodeLowercaseCanonical() throws {
        let id = try #require(UUID(uuidString: "0192F0A1-7B3C-7D4E-8F90-ABCDEF012345"))
        #expect(id.lowercasedString == "0192f0a1-7b3c-7d4e-8f90-abcdef012345")
        for _ in 0..<100 {
            let random = UUID()
            #expect(random.lowercasedString == random.uuidString.lowercased())
        }
    }

    @Test func parametersEncodeAsTextExceptByteaAndArrays() throws {
        #expect(try PostgresValue.null.encoded() == nil)
        #expect(try PostgresValue.bytea([0, 1]).encoded()?.isBinary == true)
        #expect(try PostgresValue.uuid(UUID()).encoded()?.isBinary == false)
        #expect(try PostgresValue.textArray(["a"]).encoded()?.isBinary == true)
        #expect(try PostgresValue.numericArray([1]).encoded()?.isBinary == false)
        #expect(PostgresValue.bool(true).textEncoding() == "t")
        #expect(PostgresValue.numeric(Decimal(string: "-12.50")!).textEncoding() == "-12.5")
        #expect(PostgresValue.int32Array([1, -2]).textEncoding() == "{1,-2}")
        #expect(PostgresValue("text") == .text("text"))
        #expect(PostgresValue(integerLiteral: 7) == .int64(7))
    }

    /// `array_recv`'s layout: dimensions, has-NULLs flag, element type, length and lower bound,
    /// then each element behind its length (-1: NULL).
    @Test func arraysEncodeInPostgresBinaryLayout() throws {
        #expect(try PostgresValue.int32Array([1, -2]).binaryArray() == [
            0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 23, 0, 0, 0, 2, 0, 0, 0, 1,
            0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 4, 0xFF, 0xFF, 0xFF, 0xFE,
        ])
        #expect(try PostgresValue.array([.text("hé"), .null]).binaryArray() == [
            0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 25, 0, 0, 0, 2, 0, 0, 0, 1,
            0, 0, 0, 3, 0x68, 0xC3, 0xA9, 0xFF, 0xFF, 0xFF, 0xFF,
        ])
        // An empty array has no dimensions.
        #expect(try PostgresValue.int64Array([]).binaryArray() == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 20])
        // 2000-01-01 00:00:00.000001 UTC is one microsecond after Postgres's epoch.
        let bytes = try PostgresValue.timestamptzArray([Date(timeIntervalSince1970: 946_684_800.000_001)]).binaryArray()
        #expect(Array(bytes[20...]) == [0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1])
        #expect(throws: PostgresValue.NULInText.self) { try PostgresValue.array([.text("a\u{0}b")]).binaryArray() }
    }

    /// An untyped array is typed by its elements when they are of one kind, and otherwise left
    /// as text for the statement's cast to type.
    @Test func untypedArraysAreTypedByTheirElements() {
        #expect(PostgresValue.array([.null, .uuid(UUID())]).typeOID == PostgresType.uuidArray.rawValue)
        #expect(PostgresValue.array([.bytea([1]), .null]).typeOID == PostgresType.byteaArray.rawValue)
        #expect(PostgresValue.array([.null, .null]).typeOID == 0)
        #expect(PostgresValue.array([.text("1"), .int32(1)]).typeOID == 0)
        #expect(PostgresValue.array([.numeric(1)]).typeOID == 0)
    }

    @Test func sqlStatesMapToActionableCodes() {
        #expect(PostgresError.code(forSQLState: "23505") == .uniqueViolation)
        #expect(PostgresError.code(forSQLState: "40001") == .serializationFailure)
        #expect(PostgresError.code(forSQLState: "40P01") == .deadlockDetected)
        #expect(PostgresError.code(forSQLState: "08006") == .connectionLost)
        #expect(PostgresError.code(forSQLState: "57P01") == .connectionLost)
        #expect(PostgresError.code(forSQLState: "42P01") == .sqlError)
    }

    @Test func passwordsAreRedactedFromURLs() {
        #expect(URLRedaction.redact("postgres://intake:s3cret@127.0.0.1:5432/intake") == "postgres://intake:***@127.0.0.1:5432/intake")
        #expect(URLRedaction.redact("postgres://intake@host/db") == "postgres://intake@host/db")
        #expect(URLRedaction.redact("redis://:pw@host:6379/0") == "redis://:***@host:6379/0")
        // libpq's other spellings of a password: a URI parameter, a key=value conninfo.
        #expect(URLRedaction.redact("postgresql://u@h/db?sslmode=disable&password=s3cret&x=1") == "postgresql://u@h/db?sslmode=disable&password=***&x=1")
        #expect(URLRedaction.redact("host=127.0.0.1 port=1 password=SECRETKV user=u") == "host=127.0.0.1 port=1 password=*** user=u")
        #expect(URLRedaction.redact("host=h password = 'a b\\' c' user=u") == "host=h password=*** user=u")
        #expect(URLRedaction.redact("PASSWORD=x") == "PASSWORD=***")
        #expect(URLRedaction.redact("host=h mypassword=kept passwordless=kept") == "host=h mypassword=kept passwordless=kept")
        // libpq's own parse errors quote the URL or the token it choked on.
        for url in ["postgres://sec:PWx9Zq@[::1:55433/misc", "postgres://sec:PW%zzx9Zq@h/db", "host=h password='PWx9Zq port=1"] {
            do {
                _ = try PostgresConfiguration(url: url)
                Issue.record("\(url) parsed")
            } catch {
                #expect(!"\(error)".contains("x9Zq"), "\(error)")
            }
        }
    }
}
