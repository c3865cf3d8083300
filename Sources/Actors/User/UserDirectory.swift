import Foundation
import IntakeRuntime

/// Users and their personal data, encrypted at rest (see `PIIVault`). Passwords arrive
/// already hashed: hashing is the caller's choice of algorithm and cost.
public final class UserDirectory: Sendable {
    let db: PostgresClient
    let vault: PIIVault
    let history: OrderHistory

    public init(db: PostgresClient, vault: PIIVault, history: OrderHistory) {
        self.db = db
        self.vault = vault
        self.history = history
    }

    /// Creates a user; `emailTaken` when another live user has the address.
    public func create(email: String, passwordHash: String, name: String?, region: String?, role: Role) async throws -> User {
        let email = User.normalizedEmail(email)
        try Self.validate(email: email, name: name, region: region)
        let id = UUIDv7.make()
        let (key, wrapped) = try vault.newDataKey(for: id)
        do {
            let rows = try await db.query(
                """
                INSERT INTO users (id, role, email_lookup, email_cipher, name_cipher, region, password_hash, data_key)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING created_at
                """,
                [.uuid(id), .text(role.rawValue), .bytea(vault.emailLookup(email)), .bytea(try vault.seal(email, with: key)),
                 try name.map { .bytea(try vault.seal($0, with: key)) } ?? .null, .optionalText(region), .text(passwordHash),
                 .bytea(wrapped)])
            return User(id: id, email: email, name: name, region: region, role: role, createdAt: try rows[0].decode("created_at"))
        } catch let error as PostgresError where error.code == .uniqueViolation && error.constraint == "users_email_lookup" {
            throw DomainError(.emailTaken, "a user with this email exists", subject: "email")
        }
    }

    /// The live user with this email and their password hash, for signing in.
    public func credentials(email: String) async throws -> (user: User, passwordHash: String)? {
        let rows = try await db.query("\(Self.selectUser) WHERE email_lookup = $1", [.bytea(vault.emailLookup(email))])
        guard let row = rows.first else { return nil }
        return (try decode(row), try row.decode("password_hash"))
    }

    /// Replaces a user's password hash (a re-hash under a newer scheme), only if it is still
    /// `expected`: a password changed or an erasure in between wins.
    public func replacePasswordHash(userID: UUID, expected: String, with newHash: String) async throws {
        try await db.query(
            "UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2 AND erased_at IS NULL",
            [.uuid(userID), .text(expected), .text(newHash)])
    }

    /// The live user with this id; nil when there is none or they were erased.
    public func user(_ id: UUID) async throws -> User? {
        let rows = try await db.query("\(Self.selectUser) WHERE id = $1 AND erased_at IS NULL", [.uuid(id)])
        return try rows.first.map(decode)
    }

    /// Whether `id` names a live (not erased) user.
    public func isLive(_ id: UUID) async throws -> Bool {
        try await !db.query("SELECT 1 FROM users WHERE id = $1 AND erased_at IS NULL", [.uuid(id)]).isEmpty
    }

    /// Every stored datum of the user, decrypted; nil when there is none or they were erased.
    public func export(_ id: UUID) async throws -> UserExport? {
        guard let user = try await user(id) else { return nil }
        return UserExport(user: user, orders: try await history.all(userID: id))
    }

    /// Erases the user's personal data irreversibly: the wrapped data key and every
    /// ciphertext are deleted, the email may sign up again. Orders stay, under an id that no
    /// longer leads to anything personal. Returns false when there was no live user.
    @discardableResult
    public func erase(_ id: UUID) async throws -> Bool {
        let rows = try await db.query(
            """
            UPDATE users SET email_lookup = NULL, email_cipher = NULL, name_cipher = NULL, region = NULL, password_hash = NULL,
                data_key = NULL, erased_at = now()
            WHERE id = $1 AND erased_at IS NULL RETURNING id
            """, [.uuid(id)])
        return !rows.isEmpty
    }

    /// Creates an admin with this email unless a live user has it; returns whether it did.
    @discardableResult
    public func ensureAdmin(email: String, passwordHash: @autoclosure () async throws -> String) async throws -> Bool {
        if try await credentials(email: email) != nil { return false }
        do {
            _ = try await create(email: email, passwordHash: try await passwordHash(), name: nil, region: nil, role: .admin)
            return true
        } catch let error as DomainError where error.code == .emailTaken {
            return false
        }
    }

    /// The rules for a user's fields; `validation` naming the field.
    public static func validate(email: String, name: String?, region: String?) throws(DomainError) {
        try FieldRules.storable(email, field: "email")
        guard isAddress(email) else {
            throw DomainError(.validation, "email must be an address like name@example.com", subject: "email")
        }
        if let name { try FieldRules.text(name, field: "name", length: 1...200) }
        if let region { try FieldRules.text(region, field: "region", length: 1...64) }
    }

    /// An address as RFC 5321 mailboxes are written in practice: `local@domain`, at most 254
    /// characters (Unicode scalars, as `FieldRules.text` counts); a local part of 1..64 without spaces, control or formatting
    /// characters (U+202E would show the address reversed), quotes or brackets, and no dot at
    /// either end or twice in a row; a domain of dot-separated labels of 1..63 letters, digits
    /// and inner hyphens (internationalized names allowed, address literals not).
    static func isAddress(_ email: String) -> Bool {
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard email.unicodeScalars.count <= 254, parts.count == 2 else { return false }
        let local = parts[0]
        let domain = parts[1]
        let forbidden = Set("\"(),:;<>[]\\")
        guard (1...64).contains(local.unicodeScalars.count), !local.hasPrefix("."), !local.hasSuffix("."), !local.contains(".."),
            !local.contains(where: { $0.isWhitespace || forbidden.contains($0) }),
            !email.unicodeScalars.contains(where: { [.control, .format, .lineSeparator, .paragraphSeparator].contains($0.properties.generalCategory) })
        else { return false }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        return !labels.isEmpty && labels.allSatisfy { label in
            (1...63).contains(label.unicodeScalars.count) && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" }
        }
    }

    private static let selectUser = """
        SELECT id, role, email_cipher, name_cipher, region, password_hash, data_key, created_at FROM users
        """

    private func decode(_ row: PostgresRow) throws -> User {
        let id: UUID = try row.decode("id")
        let key = try vault.unwrap(try row.decode("data_key"), for: id)
        let nameCipher: [UInt8]? = try row.decode("name_cipher")
        guard let role = Role(rawValue: try row.decode("role")) else { throw PostgresError(code: .decoding, message: "unknown role") }
        return User(
            id: id, email: try vault.open(try row.decode("email_cipher"), with: key), name: try nameCipher.map { try vault.open($0, with: key) },
            region: try row.decode("region"), role: role, createdAt: try row.decode("created_at"))
    }
}
