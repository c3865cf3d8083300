import HTTPTypes
import Hummingbird
import Synchronization

/// The routes a router serves, for telling "no such path" (404) from "not with this method"
/// (405 with `Allow`). Filled once the routes are registered.
final class RouteTable: Sendable {
    private let routes = Mutex<[(method: HTTPRequest.Method, segments: [Substring])]>([])

    func register(_ routes: [(method: HTTPRequest.Method, path: String)]) {
        self.routes.withLock { $0 = routes.map { ($0.method, $0.path.split(separator: "/")) } }
    }

    /// The methods served for `path`; empty when no route has this path.
    func methods(for path: String) -> [HTTPRequest.Method] {
        let segments = path.split(separator: "/")
        return routes.withLock { routes in
            routes.filter { route in
                route.segments.count == segments.count
                    && zip(route.segments, segments).allSatisfy { template, actual in template.hasPrefix("{") || template.hasPrefix(":") || template == actual }
            }.map(\.method)
        }
    }
}

/// Answers `405 method-not-allowed` with `Allow` when the path exists but not with this
/// method (the router alone answers 404). `Allow` names `HEAD` wherever `GET` is served (the
/// router answers it: `IntakeAPI.routerOptions`).
struct MethodNotAllowedMiddleware<Context: IntakeContext>: RouterMiddleware {
    let table: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let allowed = table.methods(for: request.uri.path)
            guard !allowed.isEmpty, !allowed.contains(request.method) else { throw error }
            var fields: HTTPFields = [:]
            fields[.allow] = Set(allowed.map(\.rawValue) + (allowed.contains(.get) ? ["HEAD"] : [])).sorted().joined(separator: ", ")
            throw Problem(
                "method-not-allowed", .methodNotAllowed, title: "Method not allowed",
                detail: "\(request.uri.path) does not take \(request.method.rawValue)", headers: fields)
        }
    }
}
