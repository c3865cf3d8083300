import Foundation
import Hummingbird

/// `/healthz`, `/readyz`, `/metrics`, `/openapi.yaml`, `/docs` (the same, for a browser).
struct OperationsRoutes<Context: IntakeContext> {
    let readiness: Readiness

    func add(to router: Router<Context>) {
        router.get("healthz") { _, _ in try JSONBody.response(["status": "ok"]) }
        router.get("readyz") { _, _ in
            let report = await readiness.check()
            return try JSONBody.response(report.withoutErrorDetails, status: report.ready ? .ok : .serviceUnavailable)
        }
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: PrometheusExport.render())))
        }
        // Read from the bundle once, here at start-up, not on the cooperative pool per request.
        let document = Result { try ServerResource.bytes("openapi.yaml") }
        router.get("openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(bytes: try document.get())))
        }
        let reference = document.map { Array(APIReferencePage.render(yaml: String(decoding: $0, as: UTF8.self)).utf8) }
        router.get("docs") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: try reference.get())))
        }
    }
}
