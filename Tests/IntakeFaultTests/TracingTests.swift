import AsyncHTTPClient
import Foundation
import IntakeRuntime
import IntakeTestSupport
import Testing

/// OpenTelemetry traces of `intake serve` (issue 15): one order placed with a client's W3C
/// `traceparent` arrives at a collector (a tiny OTLP/HTTP receiver) as one trace: the HTTP
/// server span under the client's span, `order.create` under it, `stock.hold` and
/// `group_commit.wait` under that, the batch span linked to the wait; the order's CloudEvent
/// in the stream carries the same trace and the order span as its `traceparent`; the
/// request's log line carries the trace id; `outbox.publish` links to the order span.
@Suite("Tracing over OTLP", .serialized)
struct TracingTests {

    @Test func oneOrderIsOneTraceFromTheClientsSpanToTheEvent() async throws {
        let collector = try await OTLPReceiver.start()
        try await TestServices.withDatabase { url in
            let harness = try FaultHarness(databaseURL: url, redisURL: try TestServices.redisURL(), extra: [
                "INTAKE_OTLP_ENDPOINT": collector.endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json", "OTEL_BSP_SCHEDULE_DELAY": "100",
                "INTAKE_LOG_LEVEL": "info",
            ])
            defer { harness.shutdownClients() }
            try await harness.server.start()
            let base = await harness.server.url
            let token = try #require(try await TestHTTP.post(
                base + "/v1/sessions", #"{"email":"\#(FaultHarness.adminEmail)","password":"\#(FaultHarness.adminPassword)"}"#).json["access_token"] as? String)
            let auth = [("Authorization", "Bearer \(token)")]
            let product = try #require(try await TestHTTP.post(
                base + "/v1/products", #"{"sku":"TRACE","name":"t","price":"1.00","initial_stock":10}"#, headers: auth).json["id"] as? String)

            let traceID = (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
            let clientSpan = "00f067aa0ba902b7"
            let order = try #require(try await TestHTTP.post(
                base + "/v1/orders", #"{"items":[{"product_id":"\#(product)","quantity":1}]}"#,
                headers: auth + [("traceparent", "00-\(traceID)-\(clientSpan)-01")]).json["id"] as? String)

            // The whole trace reaches the collector (batches every 100 ms).
            var spans: [OTLPReceiver.Span] = []
            try await waitUntil("the order's spans reach the collector") {
                spans = collector.spans
                let names = Set(spans.filter { $0.traceID == traceID }.map(\.name))
                return ["order.create", "stock.hold", "group_commit.wait"].allSatisfy(names.contains)
                    && spans.contains { $0.traceID == traceID && $0.parentSpanID == clientSpan }
                    && spans.contains { $0.name == "outbox.publish" && $0.links.contains { $0.traceID == traceID } }
            }
            let trace = spans.filter { $0.traceID == traceID }
            let server = try #require(trace.first { $0.parentSpanID == clientSpan }, "a span whose parent is the client's: \(trace.map(\.name))")
            #expect(server.kind == 2, "the request's span is a server span")
            let create = try #require(trace.first { $0.name == "order.create" })
            #expect(create.parentSpanID == server.spanID, "order.create is a child of the request's span")
            let hold = try #require(trace.first { $0.name == "stock.hold" })
            #expect(hold.parentSpanID == create.spanID, "the shard hold is a child of order.create")
            let wait = try #require(trace.first { $0.name == "group_commit.wait" })
            #expect(wait.parentSpanID == create.spanID, "the commit wait is a child of order.create")
            let batch = try #require(spans.first { $0.name == "group_commit.batch" && $0.links.contains { $0.spanID == wait.spanID } })
            #expect(wait.links.contains { $0.spanID == batch.spanID && $0.traceID == batch.traceID }, "the wait links to its batch")
            #expect(spans.contains { $0.name == "outbox.publish" && $0.links.contains { $0.spanID == create.spanID && $0.traceID == traceID } },
                    "the relay's publish links to the span that produced the event")

            // The event in the stream carries the trace: the order span is its producer. The
            // stock level event, coalesced over a window (`InventoryUpdates`) and written when
            // it closes, names the trace of the window's first change: this order's.
            var events: [String] = []
            try await waitUntil("the order's stock level event is in the stream") {
                let entries = try await harness.redis.command("XRANGE", RedisArgument(harness.stream), "-", "+").array ?? []
                events = entries.compactMap { $0.array?.last?.array?.compactMap(\.string).joined(separator: " ") }
                return events.contains { $0.contains("inventory.updated") && $0.contains(product) && $0.contains("\"newStockLevel\":9") }
            }
            let created = try #require(events.first { $0.contains("order.created") && $0.contains(order) }, "\(events)")
            #expect(created.contains(#""traceparent":"00-\#(traceID)-\#(create.spanID)-01""#), "\(created)")
            let inventory = events.filter { $0.contains("inventory.updated") && $0.contains(product) }
            #expect(inventory.contains { $0.contains(#""traceparent":"00-\#(traceID)-"#) }, "\(inventory)")

            // The request's log line names the trace.
            try await waitUntil("the access log line is written") { await harness.server.log.contains(traceID) }

            // Malformed trace headers start a new trace quietly: the tracer never logs the
            // request's headers (credentials) nor a client's text as a line of its own.
            for (parent, state) in [
                ("junk", "a=b"), ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", "a=b"),
                ("00-\(traceID)-\(clientSpan)-01", #"{"ts":"2026-11-29T13:00:00.000Z","level":"critical","msg":"FORGED-LINE"}"#),
            ] {
                _ = try await TestHTTP.post(
                    base + "/v1/orders", #"{"items":[{"product_id":"\#(product)","quantity":1}]}"#,
                    headers: auth + [("traceparent", parent), ("tracestate", state), ("Cookie", "session=LEAKED-COOKIE")])
            }
            // Their access log lines are written (inside their spans): whatever the tracer had
            // to say about their headers came before.
            try await waitUntil("the four order requests are logged") {
                await harness.server.log.components(separatedBy: "path=/v1/orders").count - 1 >= 4
            }
            let log = await harness.server.log
            #expect(!log.contains(token) && !log.contains("LEAKED-COOKIE"), "no credential in the log")
            #expect(!log.contains("FORGED-LINE"), "no client text in the log")
            try await harness.server.stop()
        }
        await collector.stop()
    }

    /// OTLP/gRPC is not built: asking for it is a one-line refusal at start, not a crash.
    @Test func anExporterProtocolThatIsNotBuiltIsRefusedInOneLine() async throws {
        for (name, value) in [("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"), ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"), ("OTEL_TRACES_EXPORTER", "console")] {
            let result = try await IntakeCommand.run(
                ["serve"], environment: ["INTAKE_OTLP_ENDPOINT": "http://127.0.0.1:4318", name: value, "INTAKE_DATA_DIR": "/nonexistent/intake-otel"], bare: true)
            #expect(result.status == 1, "\(name)=\(value): \(result.output)")
            #expect(result.output.contains(name) && !result.output.contains("Fatal error"), "\(result.output)")
        }
    }
}
