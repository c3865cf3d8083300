import Crypto
import Foundation

/// Application-level encryption of personal data.
///
/// Each user gets a random 256-bit data key; their email and name are sealed with AES-GCM
/// under it (the user id as associated data, so a ciphertext cannot be moved to another
/// user), and the data key is stored sealed under a wrapping key derived from the master key.
/// Destroying a user's wrapped data key makes their ciphertexts unreadable for good, even in
/// backups (crypto-shredding). Email lookup uses an HMAC under a second derived key, so the
/// database can enforce uniqueness without holding the address.
public struct PIIVault: Sendable {
    /// Why a master key or a ciphertext was refused.
    public struct KeyError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    private let wrappingKey: SymmetricKey
    private let lookupKey: SymmetricKey

    /// `masterKey`: exactly 32 bytes (INTAKE_PII_KEY, base64).
    public init(masterKey: [UInt8]) throws(KeyError) {
        guard masterKey.count == 32 else {
            throw KeyError(description: "the PII master key must be 32 bytes (base64 of 32 random bytes), got \(masterKey.count)")
        }
        let master = SymmetricKey(data: masterKey)
        wrappingKey = HKDF<SHA256>.deriveKey(inputKeyMaterial: master, info: Data("intake pii data-key wrapping v1".utf8), outputByteCount: 32)
        lookupKey = HKDF<SHA256>.deriveKey(inputKeyMaterial: master, info: Data("intake pii email lookup v1".utf8), outputByteCount: 32)
    }

    /// A user's data key, usable to seal and open that user's fields.
    public struct DataKey: Sendable {
        fileprivate let key: SymmetricKey
        fileprivate let userID: UUID
    }

    /// A fresh data key for `userID` and its wrapped form to store.
    public func newDataKey(for userID: UUID) throws -> (DataKey, wrapped: [UInt8]) {
        let key = SymmetricKey(size: .bits256)
        let wrapped = try key.withUnsafeBytes { bytes in
            try AES.GCM.seal(Data(bytes), using: wrappingKey, authenticating: Self.associatedData(userID))
        }
        guard let combined = wrapped.combined else { throw KeyError(description: "AES-GCM produced no combined box") }
        return (DataKey(key: key, userID: userID), [UInt8](combined))
    }

    /// The data key stored wrapped for `userID`.
    public func unwrap(_ wrapped: [UInt8], for userID: UUID) throws -> DataKey {
        let box = try AES.GCM.SealedBox(combined: wrapped)
        let raw = try AES.GCM.open(box, using: wrappingKey, authenticating: Self.associatedData(userID))
        return DataKey(key: SymmetricKey(data: raw), userID: userID)
    }

    public func seal(_ text: String, with key: DataKey) throws -> [UInt8] {
        let box = try AES.GCM.seal(Data(text.utf8), using: key.key, authenticating: Self.associatedData(key.userID))
        guard let combined = box.combined else { throw KeyError(description: "AES-GCM produced no combined box") }
        return [UInt8](combined)
    }

    public func open(_ sealed: [UInt8], with key: DataKey) throws -> String {
        let plain = try AES.GCM.open(AES.GCM.SealedBox(combined: sealed), using: key.key, authenticating: Self.associatedData(key.userID))
        guard let text = String(bytes: plain, encoding: .utf8) else { throw KeyError(description: "decrypted field is not UTF-8") }
        return text
    }

    /// The lookup digest of an email address (normalised first).
    public func emailLookup(_ email: String) -> [UInt8] {
        [UInt8](HMAC<SHA256>.authenticationCode(for: Data(User.normalizedEmail(email).utf8), using: lookupKey))
    }

    private static func associatedData(_ userID: UUID) -> Data {
        withUnsafeBytes(of: userID.uuid) { Data($0) }
    }
}
