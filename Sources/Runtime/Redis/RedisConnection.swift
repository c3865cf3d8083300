import CHiredis
import Foundation

/// One hiredis connection. Blocking, not thread-safe, and never shared: it lives on one
/// `BlockingThread` of the pool.
final class RedisConnection: PoolableConnection {
    private var context: UnsafeMutablePointer<redisContext>?
    let configuration: RedisConfiguration

    init(configuration: RedisConfiguration) {
        self.configuration = configuration
    }

    deinit { close() }

    func connect() throws {
        close()
        let timeout = Self.timeval(configuration.timeout)
        guard let context = redisConnectWithTimeout(configuration.host, Int32(configuration.port), timeout) else {
            throw RedisError(code: .unavailable, message: "hiredis could not allocate a context")
        }
        if context.pointee.err != 0 {
            let message = Self.errorString(context)
            redisFree(context)
            throw RedisError(code: .unavailable, message: "cannot connect to \(configuration.redactedURL): \(message)")
        }
        redisSetTimeout(context, timeout)
        self.context = context
        do {
            if let password = configuration.password {
                var auth: [RedisArgument] = ["AUTH"]
                if let username = configuration.username { auth.append(RedisArgument(username)) }
                auth.append(RedisArgument(password))
                try expectOK(try send([RedisCommand(arguments: auth)])[0])
            }
            if configuration.database != 0 {
                try expectOK(try send([RedisCommand("SELECT", RedisArgument(configuration.database))])[0])
            }
        } catch let error as RedisError {
            close()
            throw RedisError(code: error.code == .errorReply ? .unavailable : error.code, message: "cannot connect to \(configuration.redactedURL): \(error.message)")
        }
    }

    private func expectOK(_ reply: RedisValue) throws {
        _ = try reply.throwingErrorReply()
    }

    func prepareForUse() throws {
        guard let context, context.pointee.err == 0 else {
            try connect()
            return
        }
        // Outside pub/sub an idle connection has nothing to read: if the socket is readable,
        // the server closed it (restart, CLIENT KILL, idle timeout).
        if Socket.isReadable(context.pointee.fd) {
            try connect()
        }
    }

    func close() {
        if let context { redisFree(context) }
        context = nil
    }

    /// Sends every command, then reads one reply per command: one round trip for the batch.
    /// Error replies come back as `.error` values; a broken connection throws.
    func send(_ commands: [RedisCommand]) throws -> [RedisValue] {
        guard let context else { throw RedisError(code: .connectionLost, message: "the connection is closed") }
        try Self.append(commands, to: context)
        if context.pointee.err != 0 { throw lost(context) }
        var replies: [RedisValue] = []
        replies.reserveCapacity(commands.count)
        for _ in commands {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(context, &raw) == REDIS_OK, let raw else { throw lost(context) }
            let reply = raw.assumingMemoryBound(to: redisReply.self)
            replies.append(Self.decode(reply))
            freeReplyObject(raw)
        }
        return replies
    }

    /// Sends `command` without reading its reply: on a subscribed connection replies and
    /// messages arrive interleaved, and `pushes` reads them.
    func sendOnly(_ command: RedisCommand) throws {
        guard let context else { throw RedisError(code: .connectionLost, message: "the connection is closed") }
        try Self.append([command], to: context)
        var done: Int32 = 0
        while done == 0 {
            guard redisBufferWrite(context, &done) == REDIS_OK else { throw lost(context) }
        }
    }

    /// What a subscribed connection received: the replies already buffered, else whatever
    /// arrives within `timeoutMilliseconds` (empty when nothing did). A closed or broken
    /// connection throws.
    func pushes(timeoutMilliseconds: Int32) throws -> [RedisValue] {
        guard let context else { throw RedisError(code: .connectionLost, message: "the connection is closed") }
        var received = try bufferedReplies(context)
        if !received.isEmpty { return received }
        switch Socket.wait(context.pointee.fd, write: false, timeoutMilliseconds: timeoutMilliseconds) {
        case .timedOut: return []
        case .failed: throw lost(context)
        case .ready:
            guard redisBufferRead(context) == REDIS_OK else { throw lost(context) }
            received = try bufferedReplies(context)
            return received
        }
    }

    private func bufferedReplies(_ context: UnsafeMutablePointer<redisContext>) throws -> [RedisValue] {
        var replies: [RedisValue] = []
        while true {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReplyFromReader(context, &raw) == REDIS_OK else { throw lost(context) }
            guard let raw else { return replies }
            replies.append(Self.decode(raw.assumingMemoryBound(to: redisReply.self)))
            freeReplyObject(raw)
        }
    }

    private func lost(_ context: UnsafeMutablePointer<redisContext>) -> RedisError {
        let message = Self.errorString(context)
        let timedOut = context.pointee.err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK)
        // hiredis contexts are unusable after any error; the next lease reconnects.
        close()
        return RedisError(code: timedOut ? .timeout : .connectionLost, message: message.isEmpty ? "connection lost" : message)
    }

    /// Queues `commands` in hiredis's output buffer, encoded in Swift as one RESP buffer: one
    /// copy per pipeline, where `redisAppendCommandArgv` made an argument vector, a formatted
    /// string and a buffer growth per command.
    private static func append(_ commands: [RedisCommand], to context: UnsafeMutablePointer<redisContext>) throws {
        var resp: [UInt8] = []
        resp.reserveCapacity(commands.reduce(0) { $0 + $1.encodedSizeEstimate })
        for command in commands { command.appendRESP(to: &resp) }
        let status = resp.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { redisAppendFormattedCommand(context, $0.baseAddress, $0.count) }
        }
        guard status == REDIS_OK else { throw RedisError(code: .connectionLost, message: "hiredis could not queue the commands") }
    }

    private static func decode(_ reply: UnsafeMutablePointer<redisReply>) -> RedisValue {
        let value = reply.pointee
        switch value.type {
        case REDIS_REPLY_STRING:
            return .bulk(bytes(value.str, value.len))
        case REDIS_REPLY_STATUS:
            return .status(String(decoding: bytes(value.str, value.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: bytes(value.str, value.len), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(value.integer))
        case REDIS_REPLY_ARRAY:
            var elements: [RedisValue] = []
            elements.reserveCapacity(value.elements)
            for index in 0..<value.elements {
                if let element = value.element[index] { elements.append(decode(element)) } else { elements.append(.null) }
            }
            return .array(elements)
        default:
            return .null
        }
    }

    private static func bytes(_ pointer: UnsafeMutablePointer<CChar>?, _ count: Int) -> [UInt8] {
        guard let pointer, count > 0 else { return [] }
        return pointer.withMemoryRebound(to: UInt8.self, capacity: count) { Array(UnsafeBufferPointer(start: $0, count: count)) }
    }

    private static func errorString(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    private static func timeval(_ duration: Duration) -> Glibc.timeval {
        let micros = duration.nanoseconds / 1000
        return Glibc.timeval(tv_sec: Int(micros / 1_000_000), tv_usec: Int(micros % 1_000_000))
    }
}
