/// A Redis reply (RESP2).
public enum RedisValue: Sendable, Hashable {
    case status(String)
    case error(String)
    case integer(Int64)
    case bulk([UInt8])
    case null
    case array([RedisValue])

    /// A bulk or status reply as UTF-8 text.
    public var string: String? {
        switch self {
        case .bulk(let bytes): String(decoding: bytes, as: UTF8.self)
        case .status(let text): text
        default: nil
        }
    }

    public var bytes: [UInt8]? {
        if case .bulk(let bytes) = self { return bytes }
        return nil
    }

    public var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    public var array: [RedisValue]? {
        if case .array(let values) = self { return values }
        return nil
    }

    public var isNull: Bool { self == .null }

    /// Throws `RedisError.errorReply` for an error reply; returns the value otherwise.
    public func throwingErrorReply() throws -> RedisValue {
        if case .error(let message) = self { throw RedisError(code: .errorReply, message: message) }
        return self
    }
}

/// One argument of a Redis command: binary safe.
public struct RedisArgument: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    public var bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public init(_ text: String) { self.bytes = Array(text.utf8) }
    public init(_ number: Int) { self.bytes = Array(String(number).utf8) }
    public init(stringLiteral value: String) { self.init(value) }
    public init(integerLiteral value: Int) { self.init(value) }
}

/// A command and its arguments, e.g. `RedisCommand("SET", "k", "v")`.
public struct RedisCommand: Sendable, Hashable {
    public var arguments: [RedisArgument]

    public init(_ arguments: RedisArgument...) { self.arguments = arguments }
    public init(arguments: [RedisArgument]) { self.arguments = arguments }

    /// The command as RESP sends it: `*<n>\r\n` then `$<length>\r\n<bytes>\r\n` per argument.
    func appendRESP(to out: inout [UInt8]) {
        out.append(UInt8(ascii: "*"))
        Self.appendDecimal(arguments.count, to: &out)
        for argument in arguments {
            out.append(UInt8(ascii: "$"))
            Self.appendDecimal(argument.bytes.count, to: &out)
            out.append(contentsOf: argument.bytes)
            out.append(0x0D)
            out.append(0x0A)
        }
    }

    /// Bytes `appendRESP` writes, give or take the length digits.
    var encodedSizeEstimate: Int { arguments.reduce(16) { $0 + $1.bytes.count + 16 } }

    /// `value` (≥ 0) in decimal, then CRLF.
    private static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
        var divisor = 1
        while divisor <= value / 10 { divisor *= 10 }
        var remaining = value
        while divisor > 0 {
            out.append(UInt8(ascii: "0") + UInt8(remaining / divisor))
            remaining %= divisor
            divisor /= 10
        }
        out.append(0x0D)
        out.append(0x0A)
    }
}
