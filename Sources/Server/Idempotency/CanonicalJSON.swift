/// The canonical text of a JSON value — members sorted by key, no whitespace, strings
/// re-escaped one way — byte for byte what `JSONSerialization` writes with `.sortedKeys` after
/// reading the value back, for the values request bodies are made of: objects whose keys are
/// lowercase letters and `_` (`product_id`), arrays, strings, integers, booleans and null.
///
/// Hashing a keyed request's body through `JSONSerialization` (a tree of `Any`, `NSNumber`s,
/// dynamic casts) was 12% of the server's CPU per keyed order (`perf`, BENCHMARKS.md session 7);
/// this reads the bytes once. Anything outside that subset — a fraction or exponent, an
/// integer past Int64, `-0`, any other key (`.sortedKeys` orders keys its own way: case-
/// insensitively, digit runs as numbers), a duplicate key, invalid UTF-8 or a lone
/// surrogate, nesting past 256 — returns nil, and the caller keeps `JSONSerialization`'s
/// answer: the hash of every body stays what it was, so keys stored before still replay.
///
/// `anyKeys` canonicalizes every JSON value instead, in a form of its own: members sorted by
/// their keys' UTF-8 bytes, numbers kept as written. It is for bodies too large to give to
/// `JSONSerialization`, whose sort compares keys through the locale (≈ 30 µs per member: a
/// 1 MiB body of unknown members took 2.7 s of a shared thread; hostile review, session 15).
enum CanonicalJSON {
    static func canonical(_ bytes: [UInt8], anyKeys: Bool = false) -> [UInt8]? {
        bytes.withUnsafeBufferPointer { buffer in
            var parser = Parser(bytes: buffer, anyKeys: anyKeys)
            var out: [UInt8] = []
            out.reserveCapacity(buffer.count)
            guard parser.value(into: &out, depth: 0) else { return nil }
            parser.skipWhitespace()
            return parser.position == buffer.count ? out : nil
        }
    }

    private static let maximumDepth = 256

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        let anyKeys: Bool
        var position = 0

        init(bytes: UnsafeBufferPointer<UInt8>, anyKeys: Bool) {
            self.bytes = bytes
            self.anyKeys = anyKeys
        }

        mutating func skipWhitespace() {
            while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
        }

        private mutating func consume(_ literal: StaticString) -> Bool {
            let count = literal.utf8CodeUnitCount
            guard position + count <= bytes.count else { return false }
            for index in 0..<count where bytes[position + index] != literal.utf8Start[index] { return false }
            position += count
            return true
        }

        mutating func value(into out: inout [UInt8], depth: Int) -> Bool {
            skipWhitespace()
            guard position < bytes.count, depth < CanonicalJSON.maximumDepth else { return false }
            switch bytes[position] {
            case UInt8(ascii: "{"): return object(into: &out, depth: depth)
            case UInt8(ascii: "["): return array(into: &out, depth: depth)
            case UInt8(ascii: "\""):
                guard let scalars = string() else { return false }
                CanonicalJSON.appendString(scalars, to: &out)
                return true
            case UInt8(ascii: "t"):
                guard consume("true") else { return false }
                out.append(contentsOf: "true".utf8)
                return true
            case UInt8(ascii: "f"):
                guard consume("false") else { return false }
                out.append(contentsOf: "false".utf8)
                return true
            case UInt8(ascii: "n"):
                guard consume("null") else { return false }
                out.append(contentsOf: "null".utf8)
                return true
            default:
                return anyKeys ? numberAsWritten(into: &out) : integer(into: &out)
            }
        }

        private mutating func object(into out: inout [UInt8], depth: Int) -> Bool {
            position += 1
            var members: [(key: [UInt8], scalars: [Unicode.Scalar], value: [UInt8])] = []
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
                position += 1
                out.append(contentsOf: "{}".utf8)
                return true
            }
            while true {
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: "\""), let key = string(),
                    anyKeys || key.allSatisfy({ ("a"..."z").contains($0) || $0 == "_" })
                else { return false }
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { return false }
                position += 1
                var value: [UInt8] = []
                guard self.value(into: &value, depth: depth + 1) else { return false }
                var utf8: [UInt8] = []
                for scalar in key { UTF8.encode(scalar) { utf8.append($0) } }
                members.append((utf8, key, value))
                skipWhitespace()
                guard position < bytes.count else { return false }
                if bytes[position] == UInt8(ascii: ",") {
                    position += 1
                    continue
                }
                guard bytes[position] == UInt8(ascii: "}") else { return false }
                position += 1
                break
            }
            members.sort { $0.key.lexicographicallyPrecedes($1.key) }
            for index in members.indices.dropFirst() where members[index].key == members[index - 1].key { return false }
            out.append(UInt8(ascii: "{"))
            for (index, member) in members.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                CanonicalJSON.appendString(member.scalars, to: &out)
                out.append(UInt8(ascii: ":"))
                out.append(contentsOf: member.value)
            }
            out.append(UInt8(ascii: "}"))
            return true
        }

        private mutating func array(into out: inout [UInt8], depth: Int) -> Bool {
            position += 1
            out.append(UInt8(ascii: "["))
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
                position += 1
                out.append(UInt8(ascii: "]"))
                return true
            }
            var first = true
            while true {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                guard value(into: &out, depth: depth + 1) else { return false }
                skipWhitespace()
                guard position < bytes.count else { return false }
                if bytes[position] == UInt8(ascii: ",") {
                    position += 1
                    continue
                }
                guard bytes[position] == UInt8(ascii: "]") else { return false }
                position += 1
                out.append(UInt8(ascii: "]"))
                return true
            }
        }

        /// An integer in JSON's syntax that fits Int64, written back without leading zeros or
        /// sign of zero (there are none to drop: JSON allows neither, and `-0` is refused).
        private mutating func integer(into out: inout [UInt8]) -> Bool {
            let start = position
            if bytes[position] == UInt8(ascii: "-") { position += 1 }
            let digitsStart = position
            while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) { position += 1 }
            let digits = position - digitsStart
            guard digits > 0, digits <= 18, bytes[digitsStart] != UInt8(ascii: "0") || digits == 1 else { return false }
            // A fraction or an exponent: not an integer's text.
            if position < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[position]) { return false }
            if digits == 1, bytes[digitsStart] == UInt8(ascii: "0"), digitsStart > start { return false }  // -0
            out.append(contentsOf: bytes[start..<position])
            return true
        }

        /// A number as written (`anyKeys`): its text is JSON's number syntax, which the body's
        /// validation (`StrictJSON`) has already checked.
        private mutating func numberAsWritten(into out: inout [UInt8]) -> Bool {
            let start = position
            while position < bytes.count, Self.numberBytes.contains(bytes[position]) { position += 1 }
            guard position > start else { return false }
            out.append(contentsOf: bytes[start..<position])
            return true
        }

        private static let numberBytes = Set("-+.eE0123456789".utf8)

        /// A string's scalars, escapes decoded; nil for anything `JSONSerialization` might read
        /// differently or refuse (a raw control character, invalid UTF-8, a lone surrogate).
        private mutating func string() -> [Unicode.Scalar]? {
            position += 1
            var scalars: [Unicode.Scalar] = []
            while position < bytes.count {
                let byte = bytes[position]
                switch byte {
                case UInt8(ascii: "\""):
                    position += 1
                    return scalars
                case UInt8(ascii: "\\"):
                    guard let scalar = escape() else { return nil }
                    scalars.append(scalar)
                case 0..<0x20:
                    return nil
                case 0..<0x80:
                    scalars.append(Unicode.Scalar(byte))
                    position += 1
                default:
                    guard let scalar = utf8Scalar() else { return nil }
                    scalars.append(scalar)
                }
            }
            return nil
        }

        private mutating func escape() -> Unicode.Scalar? {
            guard position + 1 < bytes.count else { return nil }
            let kind = bytes[position + 1]
            position += 2
            switch kind {
            case UInt8(ascii: "\""): return "\""
            case UInt8(ascii: "\\"): return "\\"
            case UInt8(ascii: "/"): return "/"
            case UInt8(ascii: "b"): return "\u{08}"
            case UInt8(ascii: "f"): return "\u{0C}"
            case UInt8(ascii: "n"): return "\n"
            case UInt8(ascii: "r"): return "\r"
            case UInt8(ascii: "t"): return "\t"
            case UInt8(ascii: "u"):
                guard let unit = hex4() else { return nil }
                if (0xD800..<0xDC00).contains(unit) {
                    guard consume("\\u"), let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                    return Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                }
                return Unicode.Scalar(unit)  // nil for a lone low surrogate
            default: return nil
            }
        }

        private mutating func hex4() -> UInt32? {
            guard position + 4 <= bytes.count, let value = StrictJSON.hex4(bytes, at: position) else { return nil }
            position += 4
            return value
        }

        /// One multi-byte UTF-8 scalar; nil when the bytes are not valid UTF-8.
        private mutating func utf8Scalar() -> Unicode.Scalar? {
            var iterator = bytes[position...].makeIterator()
            var decoder = UTF8()
            guard case .scalarValue(let scalar) = decoder.decode(&iterator) else { return nil }
            position += UTF8.width(scalar)
            return scalar
        }
    }

    /// A string as `JSONSerialization` writes it: `"`, `\` and `/` escaped, control
    /// characters as their short escapes or `\u00XX`, everything else as UTF-8.
    private static func appendString(_ scalars: [Unicode.Scalar], to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for scalar in scalars {
            switch scalar {
            case "\"": out.append(contentsOf: #"\""#.utf8)
            case "\\": out.append(contentsOf: #"\\"#.utf8)
            case "/": out.append(contentsOf: #"\/"#.utf8)
            case "\u{08}": out.append(contentsOf: #"\b"#.utf8)
            case "\u{0C}": out.append(contentsOf: #"\f"#.utf8)
            case "\n": out.append(contentsOf: #"\n"#.utf8)
            case "\r": out.append(contentsOf: #"\r"#.utf8)
            case "\t": out.append(contentsOf: #"\t"#.utf8)
            case "\u{00}"..."\u{1F}":
                out.append(contentsOf: #"\u00"#.utf8)
                out.append(hexDigits[Int(scalar.value >> 4)])
                out.append(hexDigits[Int(scalar.value & 0xF)])
            default:
                UTF8.encode(scalar) { out.append($0) }
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
