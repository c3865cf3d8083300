/// Publishes each event as an entry of a Redis stream whose field `event` holds the
/// structured-mode CloudEvent JSON; a batch is one pipelined round trip of `XADD`s.
public struct RedisStreamSink: OutboxSink {
    public let redis: RedisClient
    public let stream: String
    /// Approximate cap on the stream's length (`MAXLEN ~`); nil keeps everything.
    public let maxLength: Int?

    /// More commands a batch of records calls for, sent in the same pipeline (one round trip)
    /// and retried with the batch when any fails: a cache's invalidations of what they changed.
    public let alongside: (@Sendable ([OutboxRecord]) -> [RedisCommand])?
    /// `XADD <stream> [MAXLEN ~ n] * event`, the arguments every entry's command starts with.
    private let xaddPrefix: [RedisArgument]

    public init(
        redis: RedisClient, stream: String = "intake:events", maxLength: Int? = nil,
        alongside: (@Sendable ([OutboxRecord]) -> [RedisCommand])? = nil
    ) {
        self.redis = redis
        self.stream = stream
        self.maxLength = maxLength
        self.alongside = alongside
        xaddPrefix = ["XADD", RedisArgument(stream)] + (maxLength.map { ["MAXLEN", "~", RedisArgument($0)] } ?? []) + ["*", "event"]
    }

    public func publish(_ records: [OutboxRecord]) async throws {
        var commands: [RedisCommand] = []
        commands.reserveCapacity(records.count * 2)
        for record in records {
            var arguments = xaddPrefix
            arguments.append(RedisArgument(record.event))
            commands.append(RedisCommand(arguments: arguments))
        }
        commands += alongside?(records) ?? []
        for reply in try await redis.pipeline(commands) {
            _ = try reply.throwingErrorReply()
        }
    }
}
