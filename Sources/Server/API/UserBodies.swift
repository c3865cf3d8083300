import Foundation
import IntakeActors

/// `POST /v1/users`.
struct SignUpRequest: Decodable, Sendable {
    var email: String
    var password: String
    var name: String?
    var region: String?
}

/// A user as every route returns it.
struct UserResponse: Encodable, Sendable {
    var id: String
    var email: String
    var name: String?
    var region: String?
    var role: String
    var createdAt: String

    enum CodingKeys: String, CodingKey {
        case id, email, name, region, role
        case createdAt = "created_at"
    }

    init(_ user: User) {
        id = user.id.lowercased
        email = user.email
        name = user.name
        region = user.region
        role = user.role.rawValue
        createdAt = Timestamp.string(user.createdAt)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(email, forKey: .email)
        try container.encode(name, forKey: .name)
        try container.encode(region, forKey: .region)
        try container.encode(role, forKey: .role)
        try container.encode(createdAt, forKey: .createdAt)
    }
}

/// `GET /v1/users/{id}/export`: the profile and every order.
struct UserExportResponse: Encodable, Sendable {
    var user: UserResponse
    var orders: [OrderResponse]

    init(_ export: UserExport) {
        user = UserResponse(export.user)
        orders = export.orders.map(OrderResponse.init)
    }
}

/// `POST /v1/sessions`.
struct SignInRequest: Decodable, Sendable {
    var email: String
    var password: String
}

struct SessionResponse: Encodable, Sendable {
    var accessToken: String
    var tokenType = "Bearer"
    var expiresIn: Int

    enum CodingKeys: String, CodingKey {
        case accessToken = "access_token"
        case tokenType = "token_type"
        case expiresIn = "expires_in"
    }
}

extension UUID {
    /// Ids in responses are lowercase, as RFC 9562 prints them.
    var lowercased: String { lowercasedString }
}
