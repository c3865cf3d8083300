import Foundation
import IntakeActors
import IntakeRuntime
import IntakeServer

/// An admin made for one load run when none was given, the way `intake admin create` makes
/// one (directly in the server's database, under its PII key), and erased afterwards.
public struct LoadAdmin: Sendable {
    public let id: UUID
    public let email: String
    public let password: String
    let users: UserDirectory

    public static func create(db: PostgresClient, piiKey: [UInt8]) async throws -> LoadAdmin {
        let users = UserDirectory(db: db, vault: try PIIVault(masterKey: piiKey), history: OrderHistory(db: db))
        let email = "load-\(UUID().uuidString.prefix(8).lowercased())@intake.local"
        let password = UUID().uuidString + UUID().uuidString
        let user = try await users.create(
            email: email, passwordHash: try await PasswordHasher(cost: 4).hash(password), name: nil, region: nil, role: .admin)
        return LoadAdmin(id: user.id, email: email, password: password, users: users)
    }

    /// Erases the admin (its sessions expire with their tokens).
    public func erase() async throws {
        _ = try await users.erase(id)
    }
}
