import Foundation

/// How to reach Redis and how many connections to keep.
public struct RedisConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var database: Int
    public var username: String?
    public var password: String?
    public var poolSize: Int
    /// How long a caller waits for a free connection before `poolTimeout`.
    public var leaseTimeout: Duration
    /// Connect and per-reply socket timeout; past it the command fails with `timeout`.
    public var timeout: Duration

    /// Parses `redis://[[user]:password@]host[:port][/db]`.
    public init(url: String, poolSize: Int = 8, leaseTimeout: Duration = .seconds(5), timeout: Duration = .seconds(5)) throws {
        guard let components = URLComponents(string: url), components.scheme == "redis",
            let host = components.host, !host.isEmpty
        else {
            throw RedisError(code: .invalidConfiguration, message: "invalid Redis URL \(URLRedaction.redact(url)): expected redis://host:port/db")
        }
        var database = 0
        let path = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        if !path.isEmpty {
            guard let number = Int(path), number >= 0 else {
                throw RedisError(code: .invalidConfiguration, message: "invalid Redis database \(path) in URL: expected a number")
            }
            database = number
        }
        if let port = components.port, !(1...65_535).contains(port) {
            throw RedisError(code: .invalidConfiguration, message: "invalid Redis URL \(URLRedaction.redact(url)): port \(port) is not in 1...65535")
        }
        guard poolSize > 0 else {
            throw RedisError(code: .invalidConfiguration, message: "pool size must be at least 1, got \(poolSize)")
        }
        self.host = host
        self.port = components.port ?? 6379
        self.database = database
        self.username = components.percentEncodedUser.flatMap { $0.isEmpty ? nil : $0.removingPercentEncoding }
        self.password = components.percentEncodedPassword.flatMap { $0.removingPercentEncoding }
        self.poolSize = poolSize
        self.leaseTimeout = leaseTimeout
        self.timeout = timeout
    }

    /// The URL for logs, its password masked as Postgres URLs' are (`redis://:***@host:port/db`).
    public var redactedURL: String {
        let credentials = password == nil ? "" : "\(username ?? ""):***@"
        return "redis://\(credentials)\(host):\(port)/\(database)"
    }
}
