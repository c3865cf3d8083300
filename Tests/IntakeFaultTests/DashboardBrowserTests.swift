import Foundation
import IntakeTestSupport
import Testing

/// The pictures of issue 15 in a real browser (headless Chromium over the DevTools protocol):
/// the dashboard signed in through its form while `intake load` runs against the server —
/// its numbers change between two moments, its charts draw, the console stays clean — and
/// the HTML report that same run writes. Screenshots go to `.build/screenshots/` (CI keeps
/// them as artifacts). Without Chromium these tests fail: they never skip.
@Suite("The dashboard and the load report in headless Chromium", .serialized)
struct DashboardBrowserTests {
    static let screenshots = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build/screenshots")

    static func field(_ path: String) -> String { "document.querySelector('[data-field=\"\(path)\"]').textContent" }

    @Test func theDashboardMovesWhileIntakeLoadRunsAndTheReportRenders() async throws {
        try await TestServices.withDatabase { url in
            let harness = try FaultHarness(databaseURL: url, redisURL: try TestServices.redisURL())
            defer { harness.shutdownClients() }
            try await harness.server.start()
            let base = await harness.server.url
            let browser = try await HeadlessChromium.start()
            let report = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("intake-report-\(UUID().uuidString).html")
            defer { try? FileManager.default.removeItem(at: report) }
            do {
                async let load = IntakeCommand.run(
                    [
                        "load", "--url", base, "--admin-email", FaultHarness.adminEmail, "--admin-password", FaultHarness.adminPassword,
                        "--products", "4", "--stock", "100000", "--concurrency", "8", "--duration", "20s", "--quiet", "--report", report.path,
                    ], environment: await harness.server.environment)

                // A browser with no session is sent to the form; the form signs the admin in.
                try await browser.open(base + "/dashboard")
                #expect(try await browser.text("location.pathname") == "/dashboard/login")
                _ = try await browser.evaluate("""
                    document.getElementById('email').value = '\(FaultHarness.adminEmail)';
                    document.getElementById('password').value = '\(FaultHarness.adminPassword)';
                    document.querySelector('form.login').submit(); true
                    """)
                try await browser.waitFor("location.pathname === '/dashboard' && document.readyState === 'complete'", "the dashboard opens")
                #expect(try await browser.evaluate("document.cookie") as? String == "", "the session cookie is HttpOnly")

                // Two moments while the load runs: the orders counted since start move on.
                let orders = Self.field("metrics.orders_total")
                try await browser.waitFor("Number(\(orders)) > 0", "the page shows the load's orders")
                let first = try await browser.text(orders)
                try await browser.waitFor("\(orders) !== '\(first)'", "the page updates without a reload")
                let second = try await browser.text(orders)
                #expect(Int(second) ?? 0 > Int(first) ?? .max, "orders since start: \(first), then \(second)")
                try await browser.waitFor(
                    "/\\d/.test(\(Self.field("metrics.orders_per_second"))) && /\\d/.test(\(Self.field("metrics.latency_ms.p99")))",
                    "orders/s and p99 latency show")
                try await browser.waitFor(
                    "document.querySelector('polyline[data-series=\"orders_per_second\"]').getAttribute('points').split(' ').length >= 3",
                    "the orders chart draws")
                #expect(try await browser.text("document.querySelector('[data-map=\"health.checks\"]').textContent").contains("postgresok"))
                try await browser.screenshot(to: Self.screenshots.appendingPathComponent("dashboard.png"))
                #expect(browser.consoleErrors.isEmpty, "console: \(browser.consoleErrors)")

                let (status, output) = try await load
                #expect(status == 0, "intake load: \(output.suffix(3000))")

                // The report that run wrote: no script, so nothing moves; it must render
                // whole, with its figures, charts and verification, and a clean console.
                try await browser.open(report.absoluteString)
                #expect(try await browser.text("document.querySelector('h1').textContent").hasPrefix("intake load"))
                #expect(try await browser.text("document.body.textContent").contains("PASSED"))
                #expect(try await browser.evaluate("document.querySelectorAll('svg polyline').length") as? Int ?? 0 >= 3)
                #expect(try await browser.evaluate("document.querySelectorAll('svg rect').length") as? Int ?? 0 > 0, "latency distribution bars")
                #expect(try await browser.evaluate("Number(document.querySelector('.figures b').textContent) > 0") as? Bool == true, "orders/s")
                try await browser.screenshot(to: Self.screenshots.appendingPathComponent("load-report.png"))
                #expect(browser.consoleErrors.isEmpty, "console: \(browser.consoleErrors)")

                // The watch would have seen one: an error logged now is reported.
                _ = try await browser.evaluate("console.error('probe of the console watch'); true")
                _ = try await browser.evaluate("1")
                #expect(browser.consoleErrors.contains { $0.contains("probe of the console watch") }, "\(browser.consoleErrors)")
            } catch {
                await browser.stop()
                Issue.record("server log: \(await harness.server.log.suffix(3000))")
                throw error
            }
            await browser.stop()
            #expect(try await harness.server.stop() == 0)
        }
    }
}
