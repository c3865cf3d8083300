import Foundation
import Testing

@testable import IntakeServer

/// The fast canonical form must be byte for byte `JSONSerialization`'s: request hashes stored
/// with keyed orders before it came must still match their retries.
@Suite struct CanonicalJSONTests {
    /// A random JSON value of the subset `CanonicalJSON` handles, written with random
    /// whitespace, member order and escapes.
    struct Generator {
        var random: SystemRandomNumberGenerator
        /// Letters of the keys; the fast path takes lowercase letters and `_` only.
        var keyAlphabet = "abcdefghijklmnopqrstuvwxyz_"

        mutating func value(depth: Int) -> String {
            switch Int.random(in: 0..<(depth > 3 ? 4 : 6), using: &random) {
            case 0: return string()
            case 1: return String(Int64.random(in: -9_999_999_999...9_999_999_999, using: &random) / Int64([1, 1000, 1_000_000].randomElement()!))
            case 2: return ["true", "false", "null"].randomElement()!
            case 3: return String(Int.random(in: 0...3, using: &random))
            case 4:
                let count = Int.random(in: 0...4, using: &random)
                return "[" + (0..<count).map { _ in space() + value(depth: depth + 1) + space() }.joined(separator: ",") + "]"
            default:
                let keys = Set((0..<Int.random(in: 0...5, using: &random)).map { _ in key() })
                return "{" + keys.shuffled().map { space() + quoted($0) + space() + ":" + value(depth: depth + 1) + space() }.joined(separator: ",") + "}"
            }
        }

        mutating func space() -> String {
            String((0..<Int.random(in: 0...2, using: &random)).map { _ in [" ", "\n", "\t", "\r"].randomElement()! })
        }

        mutating func key() -> String {
            let alphabet = Array(keyAlphabet)
            return String((0..<Int.random(in: 0...8, using: &random)).map { _ in alphabet.randomElement()! })
        }

        mutating func string() -> String {
            let pieces: [String] = ["a", "Z", "0", " ", "/", "\"", "\\", "\u{8}", "\u{c}", "\n", "\r", "\t", "\u{1}", "\u{1f}", "\u{7f}",
                                    "é", "東京", "🚀", "\u{2028}", "\u{fffd}", "NULL", "{}", "[,]"]
            return quoted((0..<Int.random(in: 0...6, using: &random)).map { _ in pieces.randomElement()! }.joined())
        }

        /// `text` as a JSON string literal, each character escaped one of the ways JSON allows.
        mutating func quoted(_ text: String) -> String {
            var out = "\""
            for scalar in text.unicodeScalars {
                let mustEscape = scalar == "\"" || scalar == "\\" || scalar.value < 0x20
                switch (mustEscape, Int.random(in: 0..<3, using: &random)) {
                case (false, 0), (false, 1): out.unicodeScalars.append(scalar)
                case (true, 0) where scalar == "\"": out += "\\\""
                case (true, 0) where scalar == "\\": out += "\\\\"
                case (true, 0) where scalar == "\n": out += "\\n"
                default:
                    for unit in String(scalar).utf16 { out += String(format: Bool.random() ? "\\u%04x" : "\\u%04X", unit) }
                }
            }
            return out + "\""
        }
    }

    @Test func matchesJSONSerializationOnRandomBodies() throws {
        var generator = Generator(random: SystemRandomNumberGenerator())
        for _ in 0..<3000 {
            let body = Array((generator.space() + generator.value(depth: 0) + generator.space()).utf8)
            let expected = IdempotencyKey.serializationCanonical(body)
            // Whatever the fast path takes, it must write exactly what JSONSerialization does.
            if let fast = CanonicalJSON.canonical(body) {
                #expect(fast == expected, "\(String(decoding: body, as: UTF8.self))")
            }
            #expect(IdempotencyKey.canonical(body) == expected)
        }
    }

    /// Keys the fast path leaves alone (JSONSerialization orders them its own way: case-
    /// insensitively, digit runs as numbers) still hash as before.
    @Test func otherKeysStillHashAsJSONSerializationDoes() {
        var generator = Generator(random: SystemRandomNumberGenerator(), keyAlphabet: "aAbBzZ019_-/. \"\\\t")
        for _ in 0..<1000 {
            let body = Array(generator.value(depth: 0).utf8)
            let expected = IdempotencyKey.serializationCanonical(body)
            if let fast = CanonicalJSON.canonical(body) {
                #expect(fast == expected, "\(String(decoding: body, as: UTF8.self))")
            }
            #expect(IdempotencyKey.canonical(body) == expected)
        }
    }

    @Test func ordinaryOrderBodiesTakeTheFastPath() throws {
        let body = Array(#" { "region" : "br", "items": [ {"quantity": 2, "product_id": "0192F0A1-7B3C-7D4E-8F90-ABCDEF012345"} ] } "#.utf8)
        let fast = try #require(CanonicalJSON.canonical(body))
        #expect(String(decoding: fast, as: UTF8.self) == #"{"items":[{"product_id":"0192F0A1-7B3C-7D4E-8F90-ABCDEF012345","quantity":2}],"region":"br"}"#)
        #expect(fast == IdempotencyKey.serializationCanonical(body))
    }

    /// Outside the subset the fast path declines, and the hash is JSONSerialization's as before.
    @Test func whatItDoesNotHandleIsLeftToJSONSerialization() {
        for text in [#"{"A":1}"#, #"{"a1":1}"#, #"{"a-b":1}"#, #"{"a":1.5}"#, #"{"a":1e3}"#, #"{"a":-0}"#, #"{"a":12345678901234567890}"#, #"{"é":1}"#, #"{"a":1,"a":2}"#,
                     #"{"a":"\ud800"}"#, "{\"a\":\"\u{1}\"}", #"{"a":1"#, #"{"a":1} x"#, #"[01]"#, String(repeating: "[", count: 300) + String(repeating: "]", count: 300)] {
            #expect(CanonicalJSON.canonical(Array(text.utf8)) == nil, "\(text)")
        }
        #expect(CanonicalJSON.canonical([0x22, 0xC3, 0x28, 0x22]) == nil)  // broken UTF-8
    }

    /// A large body of members outside the subset (a self-registered user's 1 MiB of `"k0":0`)
    /// is canonicalized in one pass, not through `JSONSerialization`'s locale-aware key sort
    /// (2.7 s of a shared thread per request; hostile review, session 15), and the same value
    /// written another way still hashes alike.
    @Test func aLargeBodyOfOtherKeysIsCanonicalizedInOnePassAndStillByValue() throws {
        let members = (0..<20_000).map { #""k\#($0)":\#($0 % 7 == 0 ? "1.5" : "\($0)")"# }
        let body = Array(("{" + members.joined(separator: ",") + #","items":[{"product_id":"Aé","quantity":1}]}"#).utf8)
        let reordered = Array(("{ " + #""items" : [ { "quantity" : 1 , "product_id" : "Aé" } ] , "# + members.reversed().joined(separator: " , ") + " }").utf8)
        #expect(body.count > IdempotencyKey.largeBody)
        let canonical = IdempotencyKey.canonical(body)
        #expect(canonical.first == 0xFF, "the one-pass form, not JSONSerialization's")
        #expect(canonical == IdempotencyKey.canonical(reordered), "key order, whitespace and escapes do not count")
        var changed = body
        changed[changed.count - 4] = UInt8(ascii: "2")  // "quantity":2
        #expect(IdempotencyKey.canonical(changed) != canonical)
        // Not JSON `CanonicalJSON` reads (a duplicate key: a body no route validated, such as
        // a keyed cancel's) is hashed as its bytes, never given to JSONSerialization.
        let duplicated = Array(("{" + members.joined(separator: ",") + #","k0":0}"#).utf8)
        #expect(IdempotencyKey.canonical(duplicated) == [0xFE] + duplicated)
        // The same small value padded past 16 KiB of whitespace hashes as it does compact.
        let compact = Array(#"{"k1":1.5,"A":2}"#.utf8)
        let padded = Array((#"{"k1":1.5,"# + String(repeating: " ", count: 20_000) + #""A":2}"#).utf8)
        #expect(IdempotencyKey.canonical(padded) == IdempotencyKey.canonical(compact))
        let small = Array(#"{"k1":1,"A":2}"#.utf8)
        #expect(IdempotencyKey.canonical(small) == IdempotencyKey.serializationCanonical(small), "a small body keeps the hash it always had")
    }
}
