import Foundation
import Hummingbird
import IntakeData

/// `/v1/etl/runs`, `/v1/reports/daily-sales` and `/v1/data-quality` (DATA.md), admin only. The rules live in
/// IntakeData; this file only reads requests and writes responses. Without a data platform
/// (no DuckDB CLI) every route answers `503`.
struct EtlRoutes<Context: IntakeContext> {
    let platform: DataPlatform?
    let idempotency: IdempotentRequests

    func data() throws -> DataPlatform {
        guard let platform else { throw Problem.unavailable("the data platform is off: the DuckDB CLI was not found (INTAKE_DUCKDB)") }
        return platform
    }

    func add(to group: RouterGroup<Context>) {
        group.post("etl/runs", use: create)
        group.get("etl/runs", use: list)
        group.get("etl/runs/{id}", use: show)
        group.get("reports/daily-sales", use: dailySales)
        group.get("data-quality", use: dataQuality)
    }

    /// The latest result of every check.
    @Sendable func dataQuality(_ request: Request, context: Context) async throws -> Response {
        _ = try context.requireAdmin()
        let data = try self.data()
        let results = try await mappingDataErrors { try await data.quality.latest() }
        let out = "{\"items\":[" + results.map { $0.json() }.joined(separator: ",") + "]}"
        return JSONBody.response(data: Array(out.utf8), status: .ok)
    }

    struct CreateRunRequest: Decodable {
        var pipeline: String
        var date: String
    }

    @Sendable func create(_ request: Request, context: Context) async throws -> Response {
        let principal = try context.requireAdmin()
        let data = try self.data()
        let bytes = try await JSONBody.bytes(of: request)
        let body = try JSONBody.decode(CreateRunRequest.self, from: bytes)
        let date = try await mappingDataErrors { try EtlRuns.validate(pipeline: body.pipeline, date: body.date) }
        return try await idempotency.run(request, principal: principal, body: Array(buffer: bytes)) {
            let run = try await mappingDataErrors { try await data.runs.create(pipeline: body.pipeline, date: date, trigger: .manual) }
            return (.accepted, Array(run.json().utf8))
        }
    }

    @Sendable func show(_ request: Request, context: Context) async throws -> Response {
        _ = try context.requireAdmin()
        let data = try self.data()
        let id = try context.uuidParameter("id")
        guard let run = try await mappingDataErrors({ try await data.runs.find(id) }) else {
            throw Problem.notFound("no run \(id.lowercasedString)")
        }
        return JSONBody.response(data: Array(run.json().utf8), status: .ok)
    }

    @Sendable func list(_ request: Request, context: Context) async throws -> Response {
        _ = try context.requireAdmin()
        let data = try self.data()
        // Absent: every pipeline. Present, it must name one (`?pipeline=` too: the spec's enum).
        let pipeline = request.uri.queryParameters.get("pipeline")
        if let pipeline, !Pipelines.all.contains(pipeline) {
            throw Problem.validation("pipeline: unknown pipeline \"\(pipeline)\"")
        }
        let limit = try request.pageLimit()
        let cursor = try request.pageCursor()
        let page = try await mappingDataErrors { try await data.runs.page(pipeline: pipeline, limit: limit, after: cursor) }
        var out = "{\"items\":[" + page.runs.map { $0.json() }.joined(separator: ",") + "],\"next_cursor\":"
        out += page.nextCursor.map { "\"\($0.lowercasedString)\"" } ?? "null"
        out += "}"
        return JSONBody.response(data: Array(out.utf8), status: .ok)
    }

    struct ReportResponse: Encodable, Sendable {
        var items: [DailySalesReport.Row]
    }

    @Sendable func dailySales(_ request: Request, context: Context) async throws -> Response {
        _ = try context.requireAdmin()
        let data = try self.data()
        let parameters = request.uri.queryParameters
        let items = try await mappingDataErrors {
            let (from, to) = try DailySalesReport.validate(from: parameters.get("from"), to: parameters.get("to"))
            return try await data.reports.rows(from: from, through: to)
        }
        return try JSONBody.response(ReportResponse(items: items))
    }
}
