import Foundation
import Logging

/// The three secrets: token signing, webhook signatures and the PII master key.
///
/// Configured values win. In development, missing ones are generated once into
/// `<data dir>/secrets` (mode 0600) and reused on later starts, with a warning; production
/// refuses to start without them (`IntakeConfiguration.validate`).
public struct IntakeSecrets: Sendable {
    public var jwtSecret: [UInt8]
    public var webhookSecret: [UInt8]
    public var piiKey: [UInt8]

    public init(jwtSecret: [UInt8], webhookSecret: [UInt8], piiKey: [UInt8]) {
        self.jwtSecret = jwtSecret
        self.webhookSecret = webhookSecret
        self.piiKey = piiKey
    }

    /// The development secrets generated into `<data dir>/secrets`, by variable name; empty
    /// when there are none. Read only: nothing is generated.
    public static func stored(in dataDirectory: URL) -> [String: String] {
        var stored: [String: String] = [:]
        guard let text = try? String(contentsOf: dataDirectory.appendingPathComponent("secrets"), encoding: .utf8) else { return stored }
        for line in text.split(separator: "\n") {
            let pair = line.split(separator: "=", maxSplits: 1).map(String.init)
            if pair.count == 2 { stored[pair[0]] = pair[1] }
        }
        return stored
    }

    public static func resolve(_ configuration: IntakeConfiguration, logger: Logger) throws -> IntakeSecrets {
        let file = configuration.dataDirectory.appendingPathComponent("secrets")
        let needsFile = configuration.jwtSecret == nil || configuration.webhookSecret == nil || configuration.piiKey == nil
        var stored = needsFile ? Self.stored(in: configuration.dataDirectory) : [:]
        if needsFile {
            var changed = false
            for name in ["INTAKE_JWT_SECRET", "INTAKE_WEBHOOK_SECRET", "INTAKE_PII_KEY"] where stored[name] == nil {
                stored[name] = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
                changed = true
            }
            if changed {
                try FileManager.default.createDirectory(at: configuration.dataDirectory, withIntermediateDirectories: true)
                let text = stored.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)\n" }.joined()
                guard FileManager.default.createFile(atPath: file.path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
                    throw ConfigurationError("cannot write generated secrets to \(file.path)")
                }
                logger.warning(
                    "generated development secrets; set INTAKE_JWT_SECRET, INTAKE_WEBHOOK_SECRET and INTAKE_PII_KEY in production",
                    metadata: ["file": "\(file.path)"])
            }
        }
        func value(_ configured: String?, _ name: String) -> String { configured ?? stored[name] ?? "" }
        let pii = value(configuration.piiKey, "INTAKE_PII_KEY")
        guard let piiKey = Data(base64Encoded: pii), piiKey.count == 32 else {
            throw ConfigurationError("INTAKE_PII_KEY (or \(file.path)): expected base64 of exactly 32 bytes")
        }
        return IntakeSecrets(
            jwtSecret: Array(value(configuration.jwtSecret, "INTAKE_JWT_SECRET").utf8),
            webhookSecret: Array(value(configuration.webhookSecret, "INTAKE_WEBHOOK_SECRET").utf8), piiKey: [UInt8](piiKey))
    }
}
