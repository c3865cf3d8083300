import Foundation
import HTTPTypes
import HummingbirdTesting
import IntakeRuntime
import IntakeTestSupport
@testable import IntakeServer
import Testing

@Suite("Users and sessions over HTTP")
struct AuthRoutesTests {
    /// A session check that found Redis not answering fails closed, and so do the checks of
    /// the next moment, at once and without asking Redis again: each would otherwise wait out
    /// Redis's timeouts before its 503 (hostile review, session 15).
    @Test func sessionChecksFailAtOnceForAWhileAfterRedisStoppedAnswering() async throws {
        let silent = try SilentTCPServer()
        defer { silent.stop() }
        let redis = try silent.redisClient(timeout: .milliseconds(300))
        defer { redis.shutdown() }
        let sessions = SessionStore(redis: redis, prefix: "silent:", outageRetryInterval: .seconds(3600))
        var asked = 0
        for attempt in 0..<10 {
            do {
                _ = try await sessions.isActive("s", userID: UUID())
                Issue.record("a session check without Redis must fail closed")
            } catch let error as RedisError {
                #expect(error.isUnavailable, "\(error)")
            }
            if attempt == 0 {
                try await waitUntil("the first check asked Redis") { silent.bytesReceived > 0 }
                asked = silent.bytesReceived
            }
        }
        #expect(silent.bytesReceived == asked, "nothing more was sent to the Redis that does not answer")
    }

    @Test func signUpSignInAndTheUserShape() async throws {
        try await withAPI { h in
            let created = try await h.call(.post, "/v1/users", json: #"{"email":" Bia@Example.com ","password":"password-123","name":"Bia","region":"br"}"#)
            #expect(created.status == .created)
            let user = created.object
            #expect(user["email"] as? String == "bia@example.com")
            #expect(user["role"] as? String == "customer")
            #expect(user["region"] as? String == "br")
            #expect(Set(user.keys) == ["id", "email", "name", "region", "role", "created_at"])
            let taken = try await h.call(.post, "/v1/users", json: #"{"email":"BIA@example.com","password":"password-456"}"#)
            #expect(taken.status == .conflict)
            #expect(taken.problem == "email-taken")
            #expect(taken.headers[.contentType] == "application/problem+json")

            let session = try await h.call(.post, "/v1/sessions", json: #"{"email":"bia@example.com","password":"password-123"}"#)
            #expect(session.status == .created)
            #expect(session.object["token_type"] as? String == "Bearer")
            #expect(session.object["expires_in"] as? Int == 3600)
            let token = try #require(session.object["access_token"] as? String)
            let me = try await h.call(.get, "/v1/users/\(user["id"] as? String ?? "")", token: token)
            #expect(me.status == .ok)
            #expect(me.object["email"] as? String == "bia@example.com")
        }
    }

    @Test func unknownEmailAndWrongPasswordAreIndistinguishable() async throws {
        try await withAPI { h in
            _ = try await h.customer("known@example.com")
            let wrong = try await h.call(.post, "/v1/sessions", json: #"{"email":"known@example.com","password":"not-the-password"}"#)
            let unknown = try await h.call(.post, "/v1/sessions", json: #"{"email":"unknown@example.com","password":"not-the-password"}"#)
            #expect(wrong.status == .unauthorized)
            #expect(unknown.status == wrong.status)
            #expect(unknown.text == wrong.text)
        }
    }

    @Test func badSignUpsAreRefusedWithTheField() async throws {
        try await withAPI { h in
            let short = try await h.call(.post, "/v1/users", json: #"{"email":"a@example.com","password":"short"}"#)
            #expect(short.status == .unprocessableContent)
            #expect(short.problem == "validation")
            #expect((short.object["detail"] as? String)?.contains("password") == true)
            let notEmail = try await h.call(.post, "/v1/users", json: #"{"email":"nope","password":"password-123"}"#)
            #expect(notEmail.status == .unprocessableContent)
            let wrongType = try await h.call(.post, "/v1/users", json: #"{"email":42,"password":"password-123"}"#)
            #expect(wrongType.status == .unprocessableContent)
            #expect((wrongType.object["detail"] as? String)?.contains("email") == true)
            let malformed = try await h.call(.post, "/v1/users", json: #"{"email": "#)
            #expect(malformed.status == .badRequest)
            #expect(malformed.problem == "malformed-json")
        }
    }

    @Test func logoutAndErasureRevokeTokensAtOnce() async throws {
        try await withAPI { h in
            let (id, token) = try await h.customer()
            #expect(try await h.call(.get, "/v1/users/\(id)", token: token).status == .ok)
            #expect(try await h.call(.delete, "/v1/sessions/current", token: token).status == .noContent)
            let after = try await h.call(.get, "/v1/users/\(id)", token: token)
            #expect(after.status == .unauthorized)
            #expect(after.problem == "unauthorized")

            let (other, otherToken) = try await h.customer("erase-me@example.com")
            let secondToken = try await h.signIn("erase-me@example.com", "password-123")
            #expect(try await h.call(.delete, "/v1/users/\(other)", token: otherToken).status == .noContent)
            #expect(try await h.call(.get, "/v1/users/\(other)", token: secondToken).status == .unauthorized, "every session of the user ends")
            let admin = try await h.admin()
            #expect(try await h.call(.get, "/v1/users/\(other)", token: admin).status == .notFound)
            #expect(try await h.call(.get, "/v1/users/\(other)/export", token: admin).status == .notFound)
            // The address may sign up again.
            #expect(try await h.call(.post, "/v1/users", json: #"{"email":"erase-me@example.com","password":"password-123"}"#).status == .created)
        }
    }

    /// Concurrent logouts with one token end its session once: one `204`, every other `401`,
    /// as a second logout after the first (hostile review, session 13: 20 at once answered
    /// 204 up to 4 times).
    @Test func concurrentLogoutsWithOneTokenEndItOnce() async throws {
        try await withAPI { h in
            let (_, token) = try await h.customer()
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<20 { group.addTask { try await h.call(.delete, "/v1/sessions/current", token: token).status } }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .noContent }.count == 1)
            #expect(statuses.filter { $0 == .unauthorized }.count == 19)
        }
    }

    /// Session checks are answered from memory while Redis's invalidations flow: a session
    /// ended by another process (another instance's logout, an operator deleting the key)
    /// must still be refused here as soon as Redis announces it.
    @Test func aSessionEndedElsewhereIsRefusedHere() async throws {
        try await withAPI { h in
            try await waitUntil("session checks are tracked") { h.api.sessions.tracking.isTracking }
            let (id, token) = try await h.customer()
            let (otherID, otherToken) = try await h.customer()
            for _ in 0..<3 {
                #expect(try await h.call(.get, "/v1/users/\(id)", token: token).status == .ok)
                #expect(try await h.call(.get, "/v1/users/\(otherID)", token: otherToken).status == .ok)
            }
            let anotherInstance = SessionStore(redis: h.redis, prefix: h.api.sessions.prefix, maximumAge: .seconds(3600))
            let principal = try #require(await h.api.tokens.verify(token))
            try await anotherInstance.end(principal.sessionID, userID: principal.userID)
            try await waitUntil("the logout elsewhere is seen") { try await h.call(.get, "/v1/users/\(id)", token: token).status == .unauthorized }

            let otherPrincipal = try #require(await h.api.tokens.verify(otherToken))
            try await h.redis.command("DEL", RedisArgument(h.api.sessions.sessionKey(otherPrincipal.sessionID)))
            try await waitUntil("the deleted session is seen") {
                try await h.call(.get, "/v1/users/\(otherID)", token: otherToken).status == .unauthorized
            }
            #expect(try await h.call(.get, "/v1/users/\(otherID)", token: otherToken).status == .unauthorized)
        }
    }

    /// A sign-in that passed its password check just before an erasure must leave no session
    /// behind (hostile review, session 8: 30 tokens issued after the erasure's 204 kept
    /// working): the erasure fences its user's new sessions.
    @Test func aSessionStartedDuringAnErasureIsRefused() async throws {
        try await withAPI { h in
            let (id, _) = try await h.customer()
            let (otherID, _) = try await h.customer()
            let user = try #require(UUID(uuidString: id))
            try await h.api.sessions.endAll(userID: user)
            let refused = try await h.api.sessions.start(userID: user, lifetime: .seconds(60))
            #expect(refused == nil)
            let other = try await h.api.sessions.start(userID: try #require(UUID(uuidString: otherID)), lifetime: .seconds(60))
            #expect(other != nil, "other users sign in as before")
        }
    }

    /// An erasure ends the user's sessions before it erases the user: when they cannot be
    /// ended, nothing is erased and the request can be sent again (hostile review, session 8:
    /// erased first, the failure left the erased user's tokens alive and every retry a 404).
    @Test func anErasureWhoseSessionsCannotBeEndedErasesNothing() async throws {
        try await withAPI { h in
            let (id, token) = try await h.customer()
            let user = try #require(UUID(uuidString: id))
            // The user's session set unreadable (a string where the set belongs, the set put
            // aside): `SMEMBERS` fails.
            let key = h.api.sessions.userKey(user)
            try await h.redis.command("RENAME", RedisArgument(key), RedisArgument(key + ":aside")).throwingErrorReply()
            try await h.redis.command("SET", RedisArgument(key), "not a set")
            let failed = try await h.call(.delete, "/v1/users/\(id)", token: token)
            #expect(failed.status != .noContent)
            #expect(try await h.call(.get, "/v1/users/\(id)", token: token).status == .ok, "the user is still there, and so is the token")
            try await h.redis.command("RENAME", RedisArgument(key + ":aside"), RedisArgument(key)).throwingErrorReply()
            #expect(try await h.call(.delete, "/v1/users/\(id)", token: token).status == .noContent, "sent again, it erases")
            #expect(try await h.call(.get, "/v1/users/\(id)", token: token).status == .unauthorized)
        }
    }

    /// A user's set of sessions lives as long as the longest of them: a later, shorter session
    /// (an instance with a shorter token lifetime) must not make erasure miss the older ones.
    @Test func aShorterSessionDoesNotShortenTheUsersSessionSet() async throws {
        try await withAPI { h in
            let user = UUID()
            let long = try #require(try await h.api.sessions.start(userID: user, lifetime: .seconds(3600)))
            _ = try #require(try await h.api.sessions.start(userID: user, lifetime: .seconds(2)))
            let ttl = try await h.redis.command("TTL", RedisArgument(h.api.sessions.userKey(user))).integer ?? 0
            #expect(ttl > 3000, "the set expires with its longest session (TTL \(ttl) s)")
            try await h.api.sessions.endAll(userID: user)
            #expect(try await h.api.sessions.isActive(long, userID: user) == false)
        }
    }

    @Test func anotherCustomersUserIsNotFoundAndAdminsSeeEveryone() async throws {
        try await withAPI { h in
            let (alice, aliceToken) = try await h.customer()
            let (bob, _) = try await h.customer()
            for path in ["/v1/users/\(bob)", "/v1/users/\(bob)/export"] {
                let response = try await h.call(.get, path, token: aliceToken)
                #expect(response.status == .notFound, "\(path)")
            }
            #expect(try await h.call(.delete, "/v1/users/\(bob)", token: aliceToken).status == .notFound)
            let admin = try await h.admin()
            #expect(try await h.call(.get, "/v1/users/\(bob)", token: admin).status == .ok)
            let export = try await h.call(.get, "/v1/users/\(alice)/export", token: aliceToken)
            #expect(export.status == .ok)
            #expect((export.object["user"] as? [String: Any])?["id"] as? String == alice)
        }
    }

    @Test func forgedTokensAreRejected() async throws {
        try await withAPI { h in
            let (id, token) = try await h.customer()
            let parts = token.split(separator: ".").map(String.init)
            func b64(_ text: String) -> String {
                Data(text.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "").replacingOccurrences(of: "+", with: "-")
                    .replacingOccurrences(of: "/", with: "_")
            }
            let payload = String(data: Data(base64Encoded: parts[1].padded) ?? Data(), encoding: .utf8) ?? ""
            let asAdmin = payload.replacingOccurrences(of: "\"customer\"", with: "\"admin\"")
            let forged = [
                "alg none": "\(b64(#"{"alg":"none","typ":"JWT"}"#)).\(parts[1]).",
                "tampered claims": "\(parts[0]).\(b64(asAdmin)).\(parts[2])",
                "wrong key": try await TokenIssuer(secret: Array("another-secret-0123456789abcdefgh".utf8), lifetime: .seconds(60))
                    .issue(for: Principal(userID: UUID(uuidString: id)!, role: .customer, sessionID: "x")),
                "expired": try await h.api.tokens.issue(
                    for: Principal(userID: UUID(uuidString: id)!, role: .customer, sessionID: "x"), now: Date().addingTimeInterval(-7200)),
                "garbage": "not.a.token",
            ]
            for (name, bad) in forged {
                let response = try await h.call(.get, "/v1/users/\(id)", token: bad)
                #expect(response.status == .unauthorized, "\(name)")
            }
        }
    }
}

extension String {
    var padded: String {
        let base = replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        return base + String(repeating: "=", count: (4 - base.count % 4) % 4)
    }
}
