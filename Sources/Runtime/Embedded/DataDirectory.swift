import Crypto
import Foundation

/// Files and secrets under Intake's data directory (`./.intake` by default).
enum DataDirectory {
    static var isRoot: Bool { geteuid() == 0 }

    static func create(_ url: URL, mode: Int = 0o755) throws {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: mode])
        } catch {
            throw EmbeddedError(code: .dataDirectory, message: "cannot create \(url.path): \(error.localizedDescription)")
        }
    }

    /// The secret stored in `file` (mode 0600), generated on first use: 32 random bytes, hex.
    static func secret(_ file: URL) throws -> String {
        if let existing = try? String(contentsOf: file, encoding: .utf8) {
            let trimmed = existing.trimmingCharacters(in: .whitespacesAndNewlines)
            if !trimmed.isEmpty { return trimmed }
        }
        let secret = SymmetricKey(size: .bits256).withUnsafeBytes { Hex.encode($0) }
        guard FileManager.default.createFile(atPath: file.path, contents: Data(secret.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw EmbeddedError(code: .dataDirectory, message: "cannot write \(file.path)")
        }
        return secret
    }

    /// The secret stored in `file` by the process that generated it.
    static func existingSecret(_ file: URL) throws -> String {
        guard let text = try? String(contentsOf: file, encoding: .utf8), !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw EmbeddedError(code: .dataDirectory, message: "cannot read \(file.path)")
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Changes the owner of `url` (recursively) to `user`.
    static func chown(_ url: URL, to user: String) async throws {
        try await Subprocess.check("/bin/chown", ["-R", "\(user):", url.path])
    }

    /// Whether `user` can reach `url` (every parent directory traversable).
    static func reachable(_ url: URL, by user: String) async -> Bool {
        (try? await Subprocess.run("/usr/bin/test", ["-x", url.path], as: user).status) == 0
    }
}
