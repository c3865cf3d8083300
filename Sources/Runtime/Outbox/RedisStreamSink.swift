/// Publishes each event as an entry of a Redis stream whose field `event` holds the
/// structured-mode CloudEvent JSON; a batch is one pipelined round trip of `XADD`s.
public struct RedisStreamSink: OutboxSink {
    public let redis: RedisClient
    public let stream: String
    /// Approximate cap on the stream's length (`MAXLEN ~`); nil keeps everything.
    public let maxLength: Int?

    public init(redis: RedisClient, stream: String = "intake:events", maxLength: Int? = nil) {
        self.redis = redis
        self.stream = stream
        self.maxLength = maxLength
    }

    public func publish(_ records: [OutboxRecord]) async throws {
        let trim: [RedisArgument] = maxLength.map { ["MAXLEN", "~", RedisArgument($0)] } ?? []
        let commands = records.map { record in
            RedisCommand(arguments: ["XADD", RedisArgument(stream)] + trim + ["*", "event", RedisArgument(record.event)])
        }
        for reply in try await redis.pipeline(commands) {
            _ = try reply.throwingErrorReply()
        }
    }
}
