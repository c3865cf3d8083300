/// RFC 8259 JSON, and nothing more, checked over a request body's bytes before any decoder
/// sees them. Foundation's decoder is lenient where a gateway in front of Intake may not be
/// (trailing commas, duplicate member names with the first one winning, lone surrogate
/// escapes): refusing all of those means a proxy and Intake can never read one request two
/// ways. It also finds what is valid JSON but can never be stored — U+0000 in a string,
/// which Postgres `text` cannot hold — and names its field.
///
/// Outcomes: `.malformed(reason)` is `400 malformed-json`; `.invalid(path, reason)` is
/// `422 validation` (well-formed JSON that breaks a rule). A syntax error anywhere wins over
/// a rule broken earlier in the body.
struct StrictJSON {
    enum Failure: Error, Equatable {
        case malformed(String)
        case invalid(path: String, String)
    }

    /// Deeper nesting than this is refused (`422`): no request of the contract needs more
    /// than four levels, and unbounded recursion is a stack overflow.
    static let maxDepth = 32

    /// What a well-formed body told the scanner.
    struct Summary: Equatable {
        /// The path of the first number that is not a plain integer literal of at most 18
        /// digits (a fraction, an exponent, or a huge one): where a decoder's "number does
        /// not fit" error, which names no field, most likely comes from.
        var firstNonIntegerNumber: String?
    }

    @discardableResult
    static func validate(_ bytes: [UInt8]) throws(Failure) -> Summary {
        var scanner = StrictJSON(bytes: bytes)
        try scanner.run()
        return Summary(firstNonIntegerNumber: scanner.firstNonIntegerNumber)
    }

    private enum PathComponent {
        case key([UInt8])
        case index(Int)
    }

    private let bytes: [UInt8]
    private var position = 0
    private var path: [PathComponent] = []
    /// The first rule broken (reported only if the whole body is well-formed).
    private var firstInvalid: Failure?
    private var firstNonIntegerNumber: String?

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    private mutating func run() throws(Failure) {
        guard validUTF8(bytes) else { throw .malformed("the body is not valid UTF-8") }
        skipWhitespace()
        guard position < bytes.count else { throw .malformed("the body is empty") }
        try value(depth: 0)
        skipWhitespace()
        guard position == bytes.count else { throw malformed("unexpected data after the JSON value") }
        if let firstInvalid { throw firstInvalid }
    }

    // MARK: Grammar

    private mutating func value(depth: Int) throws(Failure) {
        guard depth <= Self.maxDepth else {
            // A rule broken, reported only if the whole body is well-formed: what lies deeper
            // is checked for syntax without recursion (review, session 9: an unterminated
            // `[[[…` was a 422 naming the depth, not a 400).
            if firstInvalid == nil { firstInvalid = .invalid(path: pathText(), "nested deeper than \(Self.maxDepth) levels") }
            try skipTooDeep()
            return
        }
        guard position < bytes.count else { throw malformed("unexpected end of the body") }
        switch bytes[position] {
        case UInt8(ascii: "{"): try object(depth: depth)
        case UInt8(ascii: "["): try array(depth: depth)
        default: try scalar()
        }
    }

    /// A string, `true`, `false`, `null` or a number at `position`.
    private mutating func scalar() throws(Failure) {
        switch bytes[position] {
        case UInt8(ascii: "\""): _ = try string(collect: false)
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
        default: throw malformed("unexpected character")
        }
    }

    /// Checks the syntax of one value of any depth with an explicit stack of open containers
    /// (`{` or `[`), nothing else: it is past the nesting limit, already refused.
    private mutating func skipTooDeep() throws(Failure) {
        var open: [UInt8] = []
        while true {
            skipWhitespace()
            guard position < bytes.count else { throw malformed("unexpected end of the body") }
            var container: UInt8?
            switch bytes[position] {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let opening = bytes[position]
                position += 1
                skipWhitespace()
                if peek(opening == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    position += 1
                } else {
                    container = opening
                }
            default: try scalar()
            }
            if let container {
                open.append(container)
                if container == UInt8(ascii: "{") { try memberName() }
                continue
            }
            // A value ended: close what it ends, or go on to the next element.
            while let top = open.last {
                skipWhitespace()
                if peek(UInt8(ascii: ",")) {
                    position += 1
                    skipWhitespace()
                    if top == UInt8(ascii: "{") {
                        try memberName()
                    } else if peek(UInt8(ascii: "]")) {
                        throw malformed("trailing comma in an array")
                    }
                    break
                }
                if top == UInt8(ascii: "{") {
                    guard peek(UInt8(ascii: "}")) else { throw malformed("expected ',' or '}' in an object") }
                } else {
                    guard peek(UInt8(ascii: "]")) else { throw malformed("expected ',' or ']' in an array") }
                }
                position += 1
                open.removeLast()
            }
            if open.isEmpty { return }
        }
    }

    /// A member name and its colon, in an object past the nesting limit.
    private mutating func memberName() throws(Failure) {
        skipWhitespace()
        guard peek(UInt8(ascii: "\"")) else { throw malformed("expected a member name in double quotes") }
        _ = try string(collect: false)
        skipWhitespace()
        guard peek(UInt8(ascii: ":")) else { throw malformed("expected ':' after a member name") }
        position += 1
    }

    private mutating func object(depth: Int) throws(Failure) {
        position += 1
        skipWhitespace()
        if peek(UInt8(ascii: "}")) {
            position += 1
            return
        }
        var keys: [[UInt8]] = []
        var keySet: Set<[UInt8]> = []
        while true {
            guard peek(UInt8(ascii: "\"")) else { throw malformed("expected a member name in double quotes") }
            let key = try string(collect: true)
            if keys.count < 16 {
                if keys.contains(key) { throw duplicate(key) }
                keys.append(key)
                if keys.count == 16 { keySet = Set(keys) }
            } else if !keySet.insert(key).inserted {
                throw duplicate(key)
            }
            skipWhitespace()
            guard peek(UInt8(ascii: ":")) else { throw malformed("expected ':' after a member name") }
            position += 1
            skipWhitespace()
            path.append(.key(key))
            try value(depth: depth + 1)
            path.removeLast()
            skipWhitespace()
            if peek(UInt8(ascii: ",")) {
                position += 1
                skipWhitespace()
                continue
            }
            guard peek(UInt8(ascii: "}")) else { throw malformed("expected ',' or '}' in an object") }
            position += 1
            return
        }
    }

    private mutating func array(depth: Int) throws(Failure) {
        position += 1
        skipWhitespace()
        if peek(UInt8(ascii: "]")) {
            position += 1
            return
        }
        var index = 0
        while true {
            path.append(.index(index))
            try value(depth: depth + 1)
            path.removeLast()
            skipWhitespace()
            if peek(UInt8(ascii: ",")) {
                position += 1
                skipWhitespace()
                guard !peek(UInt8(ascii: "]")) else { throw malformed("trailing comma in an array") }
                index += 1
                continue
            }
            guard peek(UInt8(ascii: "]")) else { throw malformed("expected ',' or ']' in an array") }
            position += 1
            return
        }
    }

    /// A string starting at the opening quote. With `collect`, its unescaped UTF-8 bytes
    /// (member names, compared for duplicates).
    private mutating func string(collect: Bool) throws(Failure) -> [UInt8] {
        position += 1
        var out: [UInt8] = []
        var start = position
        while position < bytes.count {
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                if collect { out.append(contentsOf: bytes[start..<position]) }
                position += 1
                return out
            case UInt8(ascii: "\\"):
                if collect { out.append(contentsOf: bytes[start..<position]) }
                position += 1
                guard position < bytes.count else { throw malformed("unterminated string") }
                let escape = bytes[position]
                position += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): if collect { out.append(escape) }
                case UInt8(ascii: "b"): if collect { out.append(0x08) }
                case UInt8(ascii: "f"): if collect { out.append(0x0C) }
                case UInt8(ascii: "n"): if collect { out.append(0x0A) }
                case UInt8(ascii: "r"): if collect { out.append(0x0D) }
                case UInt8(ascii: "t"): if collect { out.append(0x09) }
                case UInt8(ascii: "u"):
                    let scalar = try unicodeEscape()
                    if scalar == 0, firstInvalid == nil {
                        firstInvalid = .invalid(path: pathText(), "must not contain the character U+0000")
                    }
                    if collect, let unicode = Unicode.Scalar(scalar) { out.append(contentsOf: Array(String(Character(unicode)).utf8)) }
                default:
                    throw malformed("invalid escape sequence in a string")
                }
                start = position
            case 0x00..<0x20:
                throw malformed("unescaped control character in a string")
            default:
                position += 1
            }
        }
        throw malformed("unterminated string")
    }

    /// The scalar of `\uXXXX` (position after the `u`), joining a surrogate pair; a lone
    /// surrogate is not a character and is refused.
    private mutating func unicodeEscape() throws(Failure) -> UInt32 {
        let first = try hex4()
        switch first {
        case 0xD800...0xDBFF:
            guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                throw malformed("a lone surrogate escape is not a character")
            }
            position += 2
            let second = try hex4()
            guard (0xDC00...0xDFFF).contains(second) else { throw malformed("a lone surrogate escape is not a character") }
            return 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        case 0xDC00...0xDFFF:
            throw malformed("a lone surrogate escape is not a character")
        default:
            return first
        }
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard position + 4 <= bytes.count else { throw malformed("truncated \\u escape") }
        guard let value = Self.hex4(bytes, at: position) else { throw malformed("invalid \\u escape") }
        position += 4
        return value
    }

    private mutating func number() throws(Failure) {
        let start = position
        defer {
            if firstNonIntegerNumber == nil, position > start {
                let literal = bytes[start..<position]
                let digits = literal.filter { isDigit($0) }.count
                if literal.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) || digits > 18 {
                    firstNonIntegerNumber = pathText()
                }
            }
        }
        if peek(UInt8(ascii: "-")) { position += 1 }
        guard position < bytes.count, isDigit(bytes[position]) else { throw malformed("invalid number") }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
            guard position >= bytes.count || !isDigit(bytes[position]) else { throw malformed("numbers must not have leading zeros") }
        } else {
            skipDigits()
        }
        if peek(UInt8(ascii: ".")) {
            position += 1
            guard position < bytes.count, isDigit(bytes[position]) else { throw malformed("invalid number") }
            skipDigits()
        }
        if peek(UInt8(ascii: "e")) || peek(UInt8(ascii: "E")) {
            position += 1
            if peek(UInt8(ascii: "+")) || peek(UInt8(ascii: "-")) { position += 1 }
            guard position < bytes.count, isDigit(bytes[position]) else { throw malformed("invalid number") }
            skipDigits()
        }
    }

    private mutating func literal(_ word: String) throws(Failure) {
        for byte in word.utf8 {
            guard position < bytes.count, bytes[position] == byte else { throw malformed("unexpected character") }
            position += 1
        }
    }

    // MARK: Helpers

    private func peek(_ byte: UInt8) -> Bool { position < bytes.count && bytes[position] == byte }

    private func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

    private mutating func skipDigits() {
        while position < bytes.count, isDigit(bytes[position]) { position += 1 }
    }

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    private func malformed(_ reason: String) -> Failure { .malformed("\(reason) at byte \(position)") }

    private func duplicate(_ key: [UInt8]) -> Failure {
        .malformed("duplicate member name \"\(String(decoding: key, as: UTF8.self))\" in \(pathText())")
    }

    /// `items[0].quantity`, the same notation as decoding errors.
    private func pathText() -> String {
        var text = ""
        for component in path {
            switch component {
            case .index(let index): text += "[\(index)]"
            case .key(let key):
                let name = String(decoding: key, as: UTF8.self)
                text += text.isEmpty ? name : ".\(name)"
            }
        }
        return text.isEmpty ? "body" : text
    }

    private func validUTF8(_ bytes: [UInt8]) -> Bool {
        var iterator = bytes.makeIterator()
        var decoder = Unicode.UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    /// The value of the four hex digits of a `\\u` escape at `offset` (either letter case);
    /// nil when one is not a hex digit. `CanonicalJSON` reads escapes through this too.
    static func hex4(_ bytes: some RandomAccessCollection<UInt8>, at offset: Int) -> UInt32? {
        var value: UInt32 = 0
        for index in offset..<offset + 4 {
            let byte = bytes[bytes.index(bytes.startIndex, offsetBy: index)]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }
}
