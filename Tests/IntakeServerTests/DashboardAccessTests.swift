import Foundation
import IntakeActors
import Testing

@testable import IntakeServer

/// Who may see the dashboard, and which form posts come from another site: the rules alone.
@Suite("Dashboard access")
struct DashboardAccessTests {
    @Test func adminsAreAdmittedBrowsersWithoutACredentialGoToTheFormTheRestAreRefused() {
        let admin = Principal(userID: UUID(), role: .admin, sessionID: "s")
        let customer = Principal(userID: UUID(), role: .customer, sessionID: "s")
        #expect(DashboardAccess.decide(principal: admin, hasCredential: true, wantsPage: false) == .allow(admin))
        #expect(DashboardAccess.decide(principal: customer, hasCredential: true, wantsPage: true) == .refuse(status: 403))
        #expect(DashboardAccess.decide(principal: nil, hasCredential: false, wantsPage: true) == .redirectToLogin)
        #expect(DashboardAccess.decide(principal: nil, hasCredential: false, wantsPage: false) == .refuse(status: 401))
        #expect(DashboardAccess.decide(principal: nil, hasCredential: true, wantsPage: true) == .refuse(status: 401), "a bad bearer token")
    }

    @Test func aFormPostFromAnotherSiteIsToldApart() {
        #expect(!DashboardAccess.isCrossSite(fetchSite: nil, origin: nil, host: "127.0.0.1:8080"), "curl")
        #expect(!DashboardAccess.isCrossSite(fetchSite: "same-origin", origin: "http://127.0.0.1:8080", host: "127.0.0.1:8080"))
        #expect(!DashboardAccess.isCrossSite(fetchSite: "none", origin: nil, host: nil), "typed into the address bar")
        #expect(DashboardAccess.isCrossSite(fetchSite: "cross-site", origin: nil, host: "127.0.0.1:8080"))
        #expect(DashboardAccess.isCrossSite(fetchSite: "same-site", origin: nil, host: "127.0.0.1:8080"), "a sibling subdomain")
        #expect(!DashboardAccess.isCrossSite(fetchSite: nil, origin: "http://LOCALHOST:8080", host: "localhost:8080"))
        #expect(!DashboardAccess.isCrossSite(fetchSite: nil, origin: "https://intake.example", host: "intake.example"))
        #expect(DashboardAccess.isCrossSite(fetchSite: nil, origin: "http://evil.example", host: "127.0.0.1:8080"))
        #expect(DashboardAccess.isCrossSite(fetchSite: nil, origin: "http://127.0.0.1:9999", host: "127.0.0.1:8080"))
        #expect(DashboardAccess.isCrossSite(fetchSite: nil, origin: "null", host: "127.0.0.1:8080"), "a sandboxed frame or a file")
        #expect(DashboardAccess.isCrossSite(fetchSite: nil, origin: "http://127.0.0.1:8080", host: nil))
    }
}
