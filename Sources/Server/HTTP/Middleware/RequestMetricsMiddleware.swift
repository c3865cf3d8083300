import Dispatch
import Hummingbird
import Metrics
import Synchronization

/// Hummingbird's `MetricsMiddleware`, with the same metrics (`hb.requests`,
/// `hb.request.errors`, `http.server.request.duration` by route, method and status,
/// `http.server.active_requests` by method), also right for `HEAD`: Hummingbird records a
/// request once its body has been written, and a `HEAD` response's body never is — every
/// `HEAD` left the active-requests gauge one higher for ever and was never counted (hostile
/// review, session 13). Here a request is recorded when its response is returned: Intake's
/// bodies are built before that (none streams), so the duration leaves out only the socket
/// write, and no closure is attached to every response.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    private final class Cache: Sendable {
        struct Key: Hashable {
            var route: String
            var method: HTTPRequest.Method
            var status: HTTPResponse.Status
        }
        struct Endpoint {
            var requests: Counter
            var errors: Counter
            var duration: Metrics.Timer
        }
        private let active = Mutex<[HTTPRequest.Method: Meter]>([:])
        private let endpoints = Mutex<[Key: Endpoint]>([:])

        func active(_ method: HTTPRequest.Method) -> Meter {
            active.withLock { meters in
                if let meter = meters[method] { return meter }
                let meter = Meter(label: "http.server.active_requests", dimensions: [("http.request.method", method.description)])
                meters[method] = meter
                return meter
            }
        }

        func endpoint(_ key: Key) -> Endpoint {
            endpoints.withLock { endpoints in
                if let endpoint = endpoints[key] { return endpoint }
                let dimensions = [
                    ("http.route", key.route), ("http.request.method", key.method.description),
                    ("http.response.status_code", key.status.code.description),
                ]
                let endpoint = Endpoint(
                    requests: Counter(label: "hb.requests", dimensions: dimensions),
                    errors: Counter(
                        label: "hb.request.errors",
                        dimensions: [("http.route", key.route), ("http.request.method", key.method.description), ("error.type", key.status.code.description)]),
                    duration: Metrics.Timer(label: "http.server.request.duration", dimensions: dimensions, preferredDisplayUnit: .seconds))
                endpoints[key] = endpoint
                return endpoint
            }
        }
    }

    private let cache = Cache()

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        let active = cache.active(request.method)
        active.increment()
        do {
            let response = try await next(request, context)
            let endpoint = cache.endpoint(Cache.Key(route: context.endpointPath ?? "Unknown", method: request.method, status: response.status))
            endpoint.requests.increment()
            endpoint.duration.recordNanoseconds(DispatchTime.now().uptimeNanoseconds - start)
            active.decrement()
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status ?? .internalServerError
            let endpoint = cache.endpoint(Cache.Key(route: context.endpointPath ?? "NotFound", method: request.method, status: status))
            endpoint.requests.increment()
            endpoint.errors.increment()
            active.decrement()
            throw error
        }
    }
}
