import Foundation
import Hummingbird
import IntakeActors

/// Who sent a request: the user and role of a valid token, and the session it belongs to.
public struct Principal: Sendable, Hashable {
    public var userID: UUID
    public var role: Role
    public var sessionID: String

    public init(userID: UUID, role: Role, sessionID: String) {
        self.userID = userID
        self.role = role
        self.sessionID = sessionID
    }

    public var isAdmin: Bool { role == .admin }
}

/// What Intake's routes need from a request context. A gateway that embeds Intake in its
/// own router makes its context conform (two stored properties), or uses
/// `IntakeRequestContext`.
public protocol IntakeContext: RequestContext {
    /// Set by the authenticator when the request carries a valid bearer token.
    var principal: Principal? { get set }
    /// Set by `RequestIDMiddleware`: the client's `X-Request-Id` or a fresh one.
    var requestID: String { get set }
}

/// Intake's own request context.
public struct IntakeRequestContext: IntakeContext {
    public var coreContext: CoreRequestContextStorage
    public var principal: Principal?
    public var requestID: String = ""

    public init(source: Source) {
        coreContext = .init(source: source)
    }

    /// API.md: bodies over 1 MiB are refused with 413.
    public var maxUploadSize: Int { APILimits.maxBodyBytes }
}

/// Limits of the HTTP contract.
public enum APILimits {
    public static let maxBodyBytes = 1 << 20
    public static let defaultPageSize = 50
    public static let maxPageSize = 200
}
