import NIOCore
import Testing

@testable import IntakeServer

/// The RFC 8259 gate in front of every decoder, without I/O.
@Suite("Strict JSON")
struct StrictJSONTests {
    private func outcome(_ text: String) -> StrictJSON.Failure? {
        do {
            try StrictJSON.validate(Array(text.utf8))
            return nil
        } catch {
            return error
        }
    }

    private func isMalformed(_ text: String) -> Bool {
        if case .malformed = outcome(text) { return true }
        return false
    }

    @Test func acceptsEveryFormOfStandardJSON() {
        for text in [
            "{}", "[]", "0", "-0", "1.5e-3", "1E+9", "true", "null", #""""#, #"{"a":[1,{"b":null}],"c":"\u00e9\n\/\"\\"}"#,
            #"["\ud83c\udf89"]"#, " \t\r\n{ \"a\" : 1 }\n", #"{"a":1,"A":2}"#, #"{"a":{"a":1}}"#,
        ] {
            #expect(outcome(text) == nil, "\(text)")
        }
    }

    @Test func refusesWhatLenientParsersAccept() {
        for text in [
            "", " ", "{,}", "[1,]", #"{"a":1,}"#, "[1,,2]", "{'a':1}", "{a:1}", "01", "1.", ".5", "+1", "1e", "NaN", "Infinity", "-",
            "tru", "nul", "[1] [2]", "{} x", #"{"a" 1}"#, #"{"a":1 "b":2}"#, "[", #"{"a":"#, #""abc"#, #""\x""#, #""\u12""#,
            #""\ud800""#, #""\udc00""#, #""\ud800\u0041""#, "\"raw\u{1}control\"", "// c\n{}", "/* c */ {}",
        ] {
            #expect(isMalformed(text), "\(text)")
        }
        #expect(isMalformed(#"{"a":1,"a":2}"#))
        #expect(isMalformed(#"{"a":1,"\u0061":2}"#), "a duplicate written with an escape is still a duplicate")
        let many = (0..<40).map { #""k\#($0)":1"# }.joined(separator: ",")
        #expect(outcome("{\(many)}") == nil)
        #expect(isMalformed("{\(many),\"k39\":2}"), "duplicates found past the small-object fast path")
        #expect(isMalformed(#"{"a":[{"b":1,"b":1}]}"#))
    }

    @Test func refusesBrokenUTF8AndAByteOrderMark() {
        let samples: [[UInt8]] = [[0x22, 0xC3, 0x28, 0x22], [0x22, 0xFF, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0xEF, 0xBB, 0xBF, 0x7B, 0x7D]]
        for bytes in samples {
            #expect(throws: StrictJSON.Failure.self) { try StrictJSON.validate(bytes) }
        }
    }

    @Test func nulIsARuleBrokenAtItsFieldAndSyntaxErrorsWin() {
        #expect(outcome(#"{"items":[{"name":"a\u0000b"}]}"#) == .invalid(path: "items[0].name", "must not contain the character U+0000"))
        #expect(outcome(#"["\u0000"]"#) == .invalid(path: "[0]", "must not contain the character U+0000"))
        #expect(isMalformed(#"{"name":"\u0000",}"#), "a syntax error after the NUL still makes the body malformed")
    }

    @Test func nestingIsBounded() {
        let limit = StrictJSON.maxDepth
        #expect(outcome(String(repeating: "[", count: limit) + String(repeating: "]", count: limit)) == nil)
        if case .invalid = outcome(String(repeating: "[", count: limit + 2) + String(repeating: "]", count: limit + 2)) {
        } else {
            Issue.record("nesting past the limit is refused")
        }
        // Far past it: refused, not a stack overflow.
        #expect(outcome(String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)) != nil)
        // Past the limit, a syntax error still wins: the body is malformed (400), not too deep
        // (review, session 9: an unterminated `[[[…` was a 422).
        let deep = limit + 8
        for body in [
            String(repeating: "[", count: 40), String(repeating: "[", count: 100_000), String(repeating: "[", count: 40) + "x",
            String(repeating: "[", count: deep) + String(repeating: "]", count: deep - 1),
            String(repeating: "[", count: deep) + "1,]" + String(repeating: "]", count: deep - 1),
            String(repeating: #"{"a":"#, count: deep) + "1" + String(repeating: "}", count: deep) + "}",
            String(repeating: #"{"a":"#, count: deep) + #"{"b":1,}"# + String(repeating: "}", count: deep),
            String(repeating: #"{"a":"#, count: deep) + #"{"b" 1}"# + String(repeating: "}", count: deep),
            String(repeating: "[", count: deep) + #""\x""# + String(repeating: "]", count: deep),
        ] {
            #expect(isMalformed(body), "\(body.prefix(80))…")
        }
        for body in [
            String(repeating: #"{"a":"#, count: deep) + #"[1,"x",{"b":null,"c":[true,false]},-2.5e3]"# + String(repeating: "}", count: deep),
            String(repeating: "[", count: deep) + #"{},[],"s",{"k":{}}"# + String(repeating: "]", count: deep),
        ] {
            if case .invalid(_, let reason) = outcome(body) {
                #expect(reason.contains("nested deeper"))
            } else {
                Issue.record("well-formed but too deep is a 422: \(body.prefix(80))…")
            }
        }
    }
}

@Suite("Strict JSON: naming the number a decoder refused")
struct StrictJSONNumberTests {
    @Test func theFirstNumberThatIsNoPlainIntegerIsNamed() throws {
        #expect(try StrictJSON.validate(Array(#"{"a":1,"b":[2,3.5],"c":1e3}"#.utf8)).firstNonIntegerNumber == "b[1]")
        #expect(try StrictJSON.validate(Array(#"{"n":12345678901234567890}"#.utf8)).firstNonIntegerNumber == "n")
        #expect(try StrictJSON.validate(Array(#"{"n":-123456789012345678,"s":"1.5"}"#.utf8)).firstNonIntegerNumber == nil)
    }

    /// A field decoded as a plain `Int` (not through `decodeInteger`) is named all the same.
    @Test func aPlainIntFieldsBadNumberIsNamedThroughTheScan() {
        struct Body: Decodable { var count: Int }
        do {
            _ = try JSONBody.decode(Body.self, from: ByteBuffer(string: #"{"count":2.5}"#))
            Issue.record("2.5 is no Int")
        } catch let problem as Problem {
            #expect(problem.status == .unprocessableContent)
            #expect(problem.detail.hasPrefix("count:"), "\(problem.detail)")
        } catch {
            Issue.record("\(error)")
        }
    }
}
