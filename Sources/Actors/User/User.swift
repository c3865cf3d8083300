import Foundation

/// A user as the API shows it, decrypted.
public struct User: Sendable, Hashable {
    public var id: UUID
    public var email: String
    public var name: String?
    public var region: String?
    public var role: Role
    public var createdAt: Date

    public init(id: UUID, email: String, name: String?, region: String?, role: Role, createdAt: Date) {
        self.id = id
        self.email = email
        self.name = name
        self.region = region
        self.role = role
        self.createdAt = createdAt
    }

    /// Email addresses compare case-insensitively after trimming (API.md), and in Unicode
    /// normal form C, so that an accent typed precomposed or decomposed is one address.
    public static func normalizedEmail(_ email: String) -> String {
        email.trimmingCharacters(in: .whitespacesAndNewlines).precomposedStringWithCanonicalMapping.lowercased()
    }
}

/// Everything stored about one user, decrypted (an LGPD access request).
public struct UserExport: Sendable, Hashable {
    public var user: User
    public var orders: [Order]
}
