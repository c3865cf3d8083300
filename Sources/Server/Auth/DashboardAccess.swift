import Foundation
import HTTPTypes
import Hummingbird

/// Who may see the dashboard, and what everyone else gets. Admins only, by bearer token or
/// by the login form's cookie (a bearer header, when present, is the credential: a bad one
/// is `401` even with a cookie). Without any credential a browser asking for the page (its
/// `Accept` names `text/html`) is sent to the login form; everything else gets `401`
/// problem+json. A customer's credential gets `403`.
enum DashboardAccess {
    enum Decision: Equatable {
        case allow(Principal)
        case redirectToLogin
        case refuse(status: Int)
    }

    static func decide(principal: Principal?, hasCredential: Bool, wantsPage: Bool) -> Decision {
        guard let principal else { return !hasCredential && wantsPage ? .redirectToLogin : .refuse(status: 401) }
        return principal.isAdmin ? .allow(principal) : .refuse(status: 403)
    }

    /// Whether the client asks for HTML (a browser's navigation does).
    static func wantsHTML(_ request: Request) -> Bool {
        request.headers[.accept]?.contains("text/html") == true
    }

    /// A form post from another site is refused (`403`): the browser says where it comes from in
    /// `Sec-Fetch-Site`, or in `Origin`, which must then name this server. A client that sends
    /// neither (curl, a test) is no browser another site could drive.
    static func isCrossSite(_ request: Request) -> Bool {
        isCrossSite(
            fetchSite: request.headers[HTTPField.Name("Sec-Fetch-Site")!], origin: request.headers[.origin], host: request.head.authority)
    }

    static func isCrossSite(fetchSite: String?, origin: String?, host: String?) -> Bool {
        if let fetchSite { return fetchSite != "same-origin" && fetchSite != "none" }
        guard let origin else { return false }
        guard let host, let url = URLComponents(string: origin), let originHost = url.host else { return true }
        let originAuthority = url.port.map { "\(originHost):\($0)" } ?? originHost
        return originAuthority.lowercased() != host.lowercased()
    }
}
