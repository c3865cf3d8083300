import Foundation
import IntakeRuntime

/// The intake process that owns a data directory's embedded servers, as its lock file and the
/// directory's development secrets describe it: what `intake load` and `intake env` need to
/// reach a server `scripts/run` started, with nothing typed by hand.
public struct RunningInstance: Sendable {
    public var owner: DataDirectoryLock.Owner
    /// The owner's embedded Postgres and Redis, with their passwords.
    public var databaseURL: String?
    public var redisURL: String?
    /// `<data dir>/secrets`, by variable name (development only).
    public var secrets: [String: String]

    /// The live owner of `configuration.dataDirectory`, or nil when none runs.
    public static func find(_ configuration: IntakeConfiguration) -> RunningInstance? {
        let directory = configuration.dataDirectory
        guard let owner = DataDirectoryLock.holder(of: directory) else { return nil }
        return RunningInstance(
            owner: owner,
            databaseURL: owner.postgresPort.flatMap { try? EmbeddedPostgres.url(dataDirectory: directory, port: $0) },
            redisURL: owner.redisPort.flatMap { try? EmbeddedRedis.url(dataDirectory: directory, port: $0) },
            secrets: IntakeSecrets.stored(in: directory))
    }
}
