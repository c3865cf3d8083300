import Testing

@testable import IntakeRuntime

/// Commands are sent as RESP written in Swift (`redisAppendFormattedCommand`): the bytes must
/// be exactly the protocol's, for any argument.
@Suite struct RedisCommandEncodingTests {
    func encoded(_ command: RedisCommand) -> String {
        var out: [UInt8] = []
        command.appendRESP(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test func argumentsAreLengthPrefixedBulkStrings() {
        #expect(encoded(RedisCommand("GET", "k")) == "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
        #expect(encoded(RedisCommand("SET", "", RedisArgument([0, 13, 10, 255]))) == "*3\r\n$3\r\nSET\r\n$0\r\n\r\n$4\r\n\u{0}\r\n\u{FFFD}\r\n")
    }

    @Test func lengthsOfEveryNumberOfDigits() {
        for length in [0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 65_536, 1_000_000] {
            let argument = [UInt8](repeating: UInt8(ascii: "x"), count: length)
            var out: [UInt8] = []
            RedisCommand(arguments: [RedisArgument(argument)]).appendRESP(to: &out)
            #expect(out == Array("*1\r\n$\(length)\r\n".utf8) + argument + [13, 10], "length \(length)")
        }
        let many = RedisCommand(arguments: (0..<12).map { RedisArgument($0) })
        #expect(encoded(many).hasPrefix("*12\r\n$1\r\n0\r\n"))
        #expect(encoded(many).hasSuffix("$2\r\n11\r\n"))
    }
}
