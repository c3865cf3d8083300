import Foundation
import Hummingbird
import IntakeActors

/// `/v1/users`: sign-up, profile, export and erasure.
struct UserRoutes<Context: IntakeContext> {
    let users: UserDirectory
    let sessions: SessionStore
    let passwords: PasswordHasher

    func add(to group: RouterGroup<Context>) {
        group.post("users", use: signUp)
        group.get("users/{id}", use: show)
        group.get("users/{id}/export", use: export)
        group.delete("users/{id}", use: erase)
    }

    @Sendable func signUp(_ request: Request, context: Context) async throws -> Response {
        let body = try await JSONBody.decode(SignUpRequest.self, from: request)
        try FieldRules.password(body.password)
        let email = User.normalizedEmail(body.email)
        // Validate before the (slow) hash, so bad input answers at once.
        try UserDirectory.validate(email: email, name: body.name, region: body.region)
        let user = try await users.create(
            email: email, passwordHash: try await passwords.hash(body.password), name: body.name, region: body.region, role: .customer)
        return try JSONBody.response(UserResponse(user), status: .created)
    }

    @Sendable func show(_ request: Request, context: Context) async throws -> Response {
        let id = try visibleUserID(context)
        guard let user = try await users.user(id) else { throw Problem.notFound("no user \(id.lowercased)") }
        return try JSONBody.response(UserResponse(user))
    }

    @Sendable func export(_ request: Request, context: Context) async throws -> Response {
        let id = try visibleUserID(context)
        guard let export = try await users.export(id) else { throw Problem.notFound("no user \(id.lowercased)") }
        return try JSONBody.response(UserExportResponse(export))
    }

    @Sendable func erase(_ request: Request, context: Context) async throws -> Response {
        let id = try visibleUserID(context)
        // Sessions first: if Redis cannot end them, nothing is erased and the request can be
        // sent again; erased first, a failure left the erased user's tokens alive and every
        // retry a 404.
        try await sessions.endAll(userID: id)
        guard try await users.erase(id) else { throw Problem.notFound("no user \(id.lowercased)") }
        return Response(status: .noContent)
    }

    /// The `{id}` of the path when the caller may see that user (themselves, or any as
    /// admin); another customer's id is `404`, never `403`.
    private func visibleUserID(_ context: Context) throws -> UUID {
        let principal = try context.requirePrincipal()
        let id = try context.uuidParameter("id")
        guard principal.isAdmin || principal.userID == id else { throw Problem.notFound("no user \(id.lowercased)") }
        return id
    }
}
