import Foundation
import IntakeRuntime

extension LoadReport {
    /// `intake load --report report.html`: one self-contained page — no script, no font, no
    /// CDN; the charts are SVG drawn here — with throughput and latency percentiles over time,
    /// the latency distribution per operation, the status codes and the verification table.
    public func html() -> String {
        let title = "intake load — \(mode) against \(target)"
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>\(Self.escape(title))</title>
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <style>
            body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:64rem;padding:0 1rem;color:#1b1f24}
            h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}table{border-collapse:collapse}
            td,th{padding:.25rem .7rem;border-bottom:1px solid #e3e6ea;text-align:right}td:first-child,th:first-child{text-align:left}
            .ok{color:#1a7f37;font-weight:600}.fail{color:#cf222e;font-weight:600}svg{background:#fafbfc;border:1px solid #e3e6ea}
            .figures span{display:inline-block;margin-right:2rem}.figures b{font-size:1.3rem;display:block}
            </style></head><body>
            <h1>\(Self.escape(title))</h1>
            <p class="figures">
            <span><b>\(Self.number(ordersPerS))</b>orders/s</span>
            <span><b>\(Self.number(requestsPerS))</b>requests/s</span>
            <span><b>\(ordersCreated)</b>orders created</span>
            <span><b>\(String(format: "%.1f", durationS)) s</b>at concurrency \(concurrency)</span>
            <span><b class="\(verification.passed ? "ok" : "fail")">\(verification.passed ? "PASSED" : "FAILED")</b>verification</span>
            </p>
            <p>Mix \(Self.escape(mix)); \(products) products\(hotProducts > 0 ? ", \(hotShare)% of picks on \(hotProducts) hot" : ""); 503s retried \(retried503).</p>
            <h2>Throughput</h2>
            \(lineChart(series: [("requests/s", "#0b5cad", timeline.map { Double($0.requests) })], unit: "req/s"))
            <h2>Latency over time</h2>
            \(lineChart(series: [("p50", "#1a7f37", timeline.map(\.p50Ms)), ("p99", "#cf222e", timeline.map(\.p99Ms))], unit: "ms"))
            <h2>Latency distribution</h2>
            \(distribution())
            <table><tr><th>operation</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th><th>count</th></tr>
            \(latencyMs.sorted { $0.key < $1.key }.map { name, p in
                "<tr><td>\(Self.escape(name))</td>" + [p.p50, p.p90, p.p99, p.p999, p.max].map { "<td>\(String(format: "%.2f", $0))</td>" }.joined()
                    + "<td>\(p.count)</td></tr>"
            }.joined(separator: "\n"))
            </table>
            \(costAndLag())
            <h2>Status codes</h2>
            <table><tr><th>status</th><th>responses</th></tr>
            \(statusCounts.sorted { $0.key < $1.key }.map { "<tr><td>\(Self.escape($0.key))</td><td>\($0.value)</td></tr>" }.joined(separator: "\n"))
            </table>
            <h2>Verification</h2>
            <table><tr><th>check</th><th>result</th><th style="text-align:left">detail</th></tr>
            \(verification.checks.map {
                "<tr><td>\(Self.escape($0.name))</td><td class=\"\($0.passed ? "ok" : "fail")\">\($0.passed ? "ok" : "FAIL")</td>"
                    + "<td style=\"text-align:left\">\(Self.escape($0.detail))</td></tr>"
            }.joined(separator: "\n"))
            </table>
            </body></html>

            """
    }

    /// The `--cpu` figures and the relay's lag, when the run has them.
    func costAndLag() -> String {
        var html = ""
        if !cpu.isEmpty {
            html += "<h2>CPU per order (measured phase)</h2>\n<table><tr><th>process</th><th>pid</th><th>CPU s</th><th>µs per order</th></tr>\n"
            html += cpu.map {
                "<tr><td>\(Self.escape($0.label))</td><td>\($0.pid)</td><td>\($0.seconds.map { String(format: "%.2f", $0) } ?? "—")</td>"
                    + "<td>\($0.usPerOrder.map { Self.number($0) } ?? "exited during the run")</td></tr>"
            }.joined(separator: "\n")
            html += "\n</table>\n"
        }
        let lags = [
            ("from the commit", verification.relayLagFromCommitMs), ("from the 201", verification.relayLagMs),
            ("from the event's creation", verification.relayLagFromCreationMs),
        ]
            .compactMap { name, lag in lag.map { (name, $0) } }
        if !lags.isEmpty {
            html += "<h2>Relay lag to the stream (order.created)</h2>\n<table><tr><th>measured</th><th>p50 ms</th><th>p99 ms</th><th>max ms</th><th>events</th></tr>\n"
            html += lags.map { name, p in
                "<tr><td>\(name)</td>" + [p.p50, p.p99, p.max].map { "<td>\(String(format: "%.1f", $0))</td>" }.joined() + "<td>\(p.count)</td></tr>"
            }.joined(separator: "\n")
            html += "\n</table>\n"
        }
        return html
    }

    /// A line chart of per-second series, with its axis labelled in `unit`.
    func lineChart(series: [(name: String, color: String, values: [Double])], unit: String) -> String {
        let width = 900.0
        let height = 220.0
        let left = 60.0
        let bottom = 24.0
        let count = series.map(\.values.count).max() ?? 0
        guard count > 0 else { return "<p>No samples: the run was shorter than a second.</p>" }
        let top = max(series.flatMap(\.values).max() ?? 1, 1e-9) * 1.1
        func x(_ index: Int) -> Double { left + (width - left - 10) * (count == 1 ? 0.5 : Double(index) / Double(count - 1)) }
        func y(_ value: Double) -> Double { (height - bottom) - (height - bottom - 10) * value / top }
        var svg = "<svg viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"100%\" role=\"img\" aria-label=\"\(Self.escape(series.map(\.name).joined(separator: ", ")))\">"
        for tick in 0...4 {
            let value = top * Double(tick) / 4
            let position = y(value)
            svg += "<line x1=\"\(left)\" y1=\"\(position)\" x2=\"\(width - 10)\" y2=\"\(position)\" stroke=\"#e3e6ea\"/>"
            svg += "<text x=\"\(left - 6)\" y=\"\(position + 4)\" font-size=\"11\" text-anchor=\"end\">\(Self.number(value))</text>"
        }
        svg += "<text x=\"\(left)\" y=\"\(height - 6)\" font-size=\"11\">0 s</text>"
        svg += "<text x=\"\(width - 10)\" y=\"\(height - 6)\" font-size=\"11\" text-anchor=\"end\">\(count) s</text>"
        svg += "<text x=\"8\" y=\"14\" font-size=\"11\">\(Self.escape(unit))</text>"
        for (index, line) in series.enumerated() {
            let points = line.values.enumerated().map { "\(String(format: "%.1f", x($0.offset))),\(String(format: "%.1f", y($0.element)))" }
            svg += "<polyline fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"2\" points=\"\(points.joined(separator: " "))\"/>"
            svg += "<text x=\"\(width - 120)\" y=\"\(16 + 14 * index)\" font-size=\"12\" fill=\"\(line.color)\">\(Self.escape(line.name))</text>"
        }
        return svg + "</svg>"
    }

    /// Horizontal bars of each operation's latency percentiles.
    func distribution() -> String {
        let operations = latencyMs.sorted { $0.key < $1.key }
        guard !operations.isEmpty else { return "<p>No requests.</p>" }
        let labels = ["p50", "p90", "p99", "p99.9", "max"]
        let colors = ["#1a7f37", "#0b5cad", "#bf8700", "#cf222e", "#6e7781"]
        let top = max(operations.map(\.value.max).max() ?? 1, 1e-9)
        let rowHeight = 16.0
        let width = 900.0
        let left = 90.0
        let height = Double(operations.count * labels.count) * rowHeight + Double(operations.count) * 10 + 10
        var svg = "<svg viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"100%\" role=\"img\" aria-label=\"latency percentiles per operation\">"
        var y = 8.0
        for (name, p) in operations {
            for (index, value) in [p.p50, p.p90, p.p99, p.p999, p.max].enumerated() {
                let length = (width - left - 110) * value / top
                svg += "<text x=\"4\" y=\"\(y + 12)\" font-size=\"11\">\(index == 0 ? Self.escape(name) : "")</text>"
                svg += "<text x=\"\(left - 6)\" y=\"\(y + 12)\" font-size=\"11\" text-anchor=\"end\">\(labels[index])</text>"
                svg += "<rect x=\"\(left)\" y=\"\(y + 2)\" width=\"\(String(format: "%.1f", max(length, 1)))\" height=\"\(rowHeight - 4)\" fill=\"\(colors[index])\"/>"
                svg += "<text x=\"\(left + length + 6)\" y=\"\(y + 12)\" font-size=\"11\">\(String(format: "%.2f", value)) ms</text>"
                y += rowHeight
            }
            y += 10
        }
        return svg + "</svg>"
    }

    static func number(_ value: Double) -> String {
        value >= 100 ? String(Int(value.rounded())) : String(format: "%.2f", value)
    }

    static func escape(_ text: String) -> String { HTMLText.escape(text) }
}
