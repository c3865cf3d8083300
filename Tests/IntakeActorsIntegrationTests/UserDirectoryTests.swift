import Foundation
import IntakeActors
import IntakeRuntime
import IntakeTestSupport
import Testing

@Suite("Users with encrypted personal data")
struct UserDirectoryTests {
    static func directory(_ service: OrderService, _ db: PostgresClient) throws -> UserDirectory {
        UserDirectory(db: db, vault: try PIIVault(masterKey: (0..<32).map { _ in UInt8.random(in: 0...255) }), history: service.history)
    }

    @Test func signUpFindsByEmailCaseInsensitivelyAndRefusesTheSameAddressTwice() async throws {
        try await withOrderService { service, db in
            let users = try Self.directory(service, db)
            let user = try await users.create(email: "  Ana.Souza@Example.COM ", passwordHash: "h1", name: "Ana Souza", region: "br", role: .customer)
            #expect(user.email == "ana.souza@example.com")
            let found = try #require(try await users.credentials(email: "ANA.souza@example.com"))
            #expect(found.user == user)
            #expect(found.passwordHash == "h1")
            #expect(try await users.user(user.id) == user)
            await expectDomainError(.emailTaken) {
                _ = try await users.create(email: "ana.souza@EXAMPLE.com", passwordHash: "h2", name: nil, region: nil, role: .customer)
            }
            await expectDomainError(.validation) {
                _ = try await users.create(email: "not-an-address", passwordHash: "h2", name: nil, region: nil, role: .customer)
            }
            #expect(try await users.credentials(email: "nobody@example.com") == nil)
        }
    }

    @Test func noPlaintextEmailOrNameIsStoredAndAnotherMasterKeyReadsNothing() async throws {
        try await withOrderService { service, db in
            let users = try Self.directory(service, db)
            let user = try await users.create(email: "maria.oliveira@example.org", passwordHash: "h", name: "Maria Oliveira", region: nil, role: .customer)
            #expect(try await columnsContaining("maria.oliveira", in: db).isEmpty)
            #expect(try await columnsContaining("Oliveira", in: db).isEmpty)
            let otherKey = try Self.directory(service, db)
            await #expect(throws: (any Error).self) { _ = try await otherKey.user(user.id) }
        }
    }

    @Test func exportHasProfileAndOrdersAndErasureShredsItButKeepsTheOrders() async throws {
        try await withOrderService { service, db in
            let users = try Self.directory(service, db)
            let product = try await service.createProduct(sku: "E-1", name: "Thing", price: Money("2.50")!, initialStock: 10, shards: 2)
            let user = try await users.create(email: "joao@example.net", passwordHash: "h", name: "João Pereira", region: "br", role: .customer)
            let order = try await service.createOrder(NewOrder(userID: user.id, lines: [.init(productID: product.id, quantity: 2)]))
            let export = try #require(try await users.export(user.id))
            #expect(export.user == user)
            #expect(export.orders.map(\.id) == [order.id])
            #expect(export.orders.first?.items == order.items)

            #expect(try await users.erase(user.id))
            #expect(try await users.erase(user.id) == false, "erasing twice finds nobody")
            #expect(try await users.user(user.id) == nil)
            #expect(try await users.export(user.id) == nil)
            #expect(try await users.credentials(email: "joao@example.net") == nil)
            #expect(try await count(db, "SELECT count(*) FROM users WHERE id = $1 AND data_key IS NULL AND email_cipher IS NULL AND name_cipher IS NULL", [.uuid(user.id)]) == 1)
            #expect(try await columnsContaining("joao@example.net", in: db).isEmpty)
            #expect(try await columnsContaining("Pereira", in: db).isEmpty)
            // The order stays, and still sums up.
            #expect(try await service.order(order.id).amount == Money("5.00")!)
            #expect(try await count(db, "SELECT count(*) FROM orders WHERE user_id = $1", [.uuid(user.id)]) == 1)
            // The address is free again.
            let again = try await users.create(email: "JOAO@example.net", passwordHash: "h", name: nil, region: nil, role: .customer)
            #expect(again.id != user.id)
        }
    }
}
