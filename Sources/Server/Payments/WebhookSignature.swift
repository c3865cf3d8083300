import Crypto
import Foundation
import IntakeRuntime

/// The payment provider's `Intake-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
/// "<t>.<raw body>">`, checked in constant time and within a tolerance of the current time
/// (so a captured request cannot be replayed later).
public struct WebhookSignature: Sendable {
    let key: SymmetricKey
    public let tolerance: TimeInterval

    public init(secret: [UInt8], tolerance: TimeInterval = 300) {
        key = SymmetricKey(data: secret)
        self.tolerance = tolerance
    }

    /// The header value for `body` at `time` (what the provider sends; tests and `intake load`
    /// sign with it).
    public func header(for body: [UInt8], at time: Date = Date()) -> String {
        let timestamp = Int(time.timeIntervalSince1970)
        return "t=\(timestamp),v1=\(Hex.encode(mac(timestamp: String(timestamp), body: body)))"
    }

    /// Whether `header` is a valid signature of `body` now.
    public func isValid(_ header: String?, body: [UInt8], now: Date = Date()) -> Bool {
        guard let header else { return false }
        var timestamp: String?
        var signatures: [[UInt8]] = []
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { continue }
            if pair[0] == "t" { timestamp = pair[1] }
            if pair[0] == "v1", pair[1].count <= 128, let bytes = Hex.decode(pair[1]) { signatures.append(bytes) }
        }
        guard let timestamp, let seconds = Int(timestamp), !signatures.isEmpty,
            abs(now.timeIntervalSince1970 - Double(seconds)) <= tolerance
        else { return false }
        let signed = Self.signed(timestamp, body)
        // isValidAuthenticationCode compares in constant time.
        return signatures.contains { HMAC<SHA256>.isValidAuthenticationCode($0, authenticating: signed, using: key) }
    }

    private func mac(timestamp: String, body: [UInt8]) -> [UInt8] {
        [UInt8](HMAC<SHA256>.authenticationCode(for: Self.signed(timestamp, body), using: key))
    }

    private static func signed(_ timestamp: String, _ body: [UInt8]) -> [UInt8] {
        Array(timestamp.utf8) + [UInt8(ascii: ".")] + body
    }
}
