import CLibPQ
import Foundation

/// How to reach Postgres and how many connections to keep.
public struct PostgresConfiguration: Sendable {
    /// A libpq connection URI, `postgres://user:password@host:port/database?option=value`.
    public var url: String
    /// The most connections the pool opens.
    public var poolSize: Int
    /// How long a caller waits for a free connection before `poolTimeout`.
    public var leaseTimeout: Duration
    /// How long opening a connection may take before `unavailable` (libpq's `connect_timeout`).
    public var connectTimeoutSeconds: Int
    /// How long one round trip may stay silent before the connection is declared lost.
    public var ioTimeout: Duration
    /// If set, every connection's `search_path` (tests use one schema each).
    public var searchPath: String?
    /// Shown in `pg_stat_activity`.
    public var applicationName: String

    /// Validates `url` with libpq's own parser, so a typo fails here with libpq's message.
    public init(
        url: String,
        poolSize: Int = 8,
        leaseTimeout: Duration = .seconds(5),
        connectTimeoutSeconds: Int = 5,
        ioTimeout: Duration = .seconds(60),
        searchPath: String? = nil,
        applicationName: String = "intake"
    ) throws {
        guard poolSize > 0 else {
            throw PostgresError(code: .invalidConfiguration, message: "pool size must be at least 1, got \(poolSize)")
        }
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(url, &errorMessage) else {
            let message = errorMessage.map { String(cString: $0) } ?? "unparseable"
            if let errorMessage { PQfreemem(errorMessage) }
            // libpq quotes the URL, or the token it choked on, which may be the password.
            throw PostgresError(
                code: .invalidConfiguration,
                message: "invalid database URL: \(URLRedaction.redact(message.trimmingTrailingWhitespace(), secretsOf: url))")
        }
        PQconninfoFree(options)
        self.url = url
        self.poolSize = poolSize
        self.leaseTimeout = leaseTimeout
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.ioTimeout = ioTimeout
        self.searchPath = searchPath
        self.applicationName = applicationName
    }

    /// libpq keyword/value pairs; `dbname` carries the URL (expanded by libpq), the rest
    /// override it.
    var connectionParameters: [(String, String)] {
        var serverOptions = "-c TimeZone=UTC -c DateStyle=ISO -c extra_float_digits=3"
        if let searchPath {
            serverOptions += " -c search_path=\(searchPath.replacingOccurrences(of: " ", with: "\\ "))"
        }
        return [
            ("dbname", url),
            ("connect_timeout", String(connectTimeoutSeconds)),
            ("application_name", applicationName),
            ("client_encoding", "UTF8"),
            ("options", serverOptions),
            ("keepalives", "1"),
            ("keepalives_idle", "30"),
        ]
    }

    /// The URL with any password replaced by `***`, for logs.
    public var redactedURL: String { URLRedaction.redact(url) }
}

extension String {
    func trimmingTrailingWhitespace() -> String {
        var text = self
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return text
    }

    /// The text on one line: libpq's multi-line messages joined with spaces.
    func oneLine() -> String {
        split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
    }
}

/// Removes passwords from connection strings before they are logged: the one in
/// `scheme://user:password@host/...`, and every `password=` value — a URI's query parameter
/// (`?password=...&`) or a libpq `key=value` conninfo's (`password=secret`, `password='a b'`).
enum URLRedaction {
    static func redact(_ url: String) -> String {
        redactPasswordParameters(redactUserInfo(url))
    }

    static func redactUserInfo(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://"), let at = url[schemeEnd.upperBound...].lastIndex(of: "@") else {
            return url
        }
        let credentials = url[schemeEnd.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return url }
        return String(url[..<url.index(after: colon)]) + "***" + String(url[at...])
    }

    /// `message` with every password of `url` in it replaced by `***` (and any URL in it
    /// redacted): for errors that quote a connection string or a piece of one.
    static func redact(_ message: String, secretsOf url: String) -> String {
        var secrets = passwordParameters(url).values
        if let schemeEnd = url.range(of: "://"), let at = url[schemeEnd.upperBound...].lastIndex(of: "@"),
            let colon = url[schemeEnd.upperBound..<at].firstIndex(of: ":")
        {
            secrets.append(String(url[url.index(after: colon)..<at]))
        }
        var text = message
        for secret in secrets.filter({ !$0.isEmpty }).sorted(by: { $0.count > $1.count }) {
            text = text.replacingOccurrences(of: secret, with: "***")
        }
        return redact(text)
    }

    static func redactPasswordParameters(_ text: String) -> String {
        passwordParameters(text).redacted
    }

    /// `text` with each `password=` value replaced by `***`, and the values replaced.
    static func passwordParameters(_ text: String) -> (redacted: String, values: [String]) {
        var values: [String] = []
        let characters = Array(text)
        let key = Array("password")
        var out = ""
        var index = 0
        while index < characters.count {
            let startsKey = index == 0 || " \t\n?&;".contains(characters[index - 1])
            if startsKey, index + key.count < characters.count,
                zip(characters[index..<index + key.count], key).allSatisfy({ $0.lowercased() == String($1) })
            {
                var cursor = index + key.count
                while cursor < characters.count, characters[cursor] == " " { cursor += 1 }
                if cursor < characters.count, characters[cursor] == "=" {
                    cursor += 1
                    while cursor < characters.count, characters[cursor] == " " { cursor += 1 }
                    let valueStart = cursor
                    // The value: quoted (with \' and \\ escapes), or up to a space or an `&`.
                    if cursor < characters.count, characters[cursor] == "'" {
                        cursor += 1
                        while cursor < characters.count, characters[cursor] != "'" {
                            cursor += characters[cursor] == "\\" ? 2 : 1
                        }
                        cursor = min(cursor + 1, characters.count)
                    } else {
                        while cursor < characters.count, !" \t\n&".contains(characters[cursor]) { cursor += 1 }
                    }
                    var value = String(characters[valueStart..<cursor])
                    if value.hasPrefix("'") {
                        value = String(value.dropFirst().dropLast(value.count > 1 && value.hasSuffix("'") ? 1 : 0))
                    }
                    values.append(value)
                    out += String(characters[index..<index + key.count]) + "=***"
                    index = cursor
                    continue
                }
            }
            out.append(characters[index])
            index += 1
        }
        return (out, values)
    }
}
