import Foundation
import IntakeRuntime

/// The dashboard's HTML: the page (rendered here with the numbers of the moment, so it reads
/// without script) and the login form. Every element that shows a number names where it is
/// in `/dashboard/data` (`data-field`, `data-rows`, `data-map`) and how it is formatted
/// (`data-format`); `dashboard.js` polls that JSON and refills them the same way, and draws
/// the charts (`data-chart`) as SVG. Every text from outside goes through `HTMLText.escape`.
enum DashboardPage {
    /// How a value is shown: `dashboard.js` has the same rules (`format`).
    enum Format: String {
        case text, int, rate, ms, seconds, number, check

        func callAsFunction(_ value: Any?) -> String {
            if self == .check, let passed = value as? Bool { return passed ? "ok" : "FAIL" }
            if self == .text || self == .check {
                guard let value, !(value is NSNull) else { return "—" }
                return "\(value)"
            }
            guard let number = (value as? NSNumber)?.doubleValue, number.isFinite else { return "—" }
            switch self {
            case .int: return String(Int(number.rounded()))
            case .rate: return Self.decimal(number) + "/s"
            case .ms: return Self.decimal(number) + " ms"
            case .seconds: return Self.decimal(number) + " s"
            default: return Self.decimal(number)
            }
        }

        /// Whole above 100, one decimal above 10, two below.
        static func decimal(_ number: Double) -> String {
            number >= 100 ? String(Int(number.rounded())) : String(format: number >= 10 ? "%.1f" : "%.2f", number)
        }
    }

    typealias Column = (key: String, format: Format, title: String)

    static let style = """
        body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1b1f24}
        header{display:flex;align-items:center;gap:1rem;padding:.6rem 1.2rem;background:#1b1f24;color:#fff}
        header h1{font-size:1.1rem;margin:0;flex:1}header form{margin:0}header button{font:inherit}
        main{display:grid;grid-template-columns:repeat(auto-fill,minmax(22rem,1fr));gap:1rem;padding:1rem 1.2rem}
        section{background:#fff;border:1px solid #e3e6ea;border-radius:6px;padding:.8rem 1rem}
        section.wide{grid-column:1/-1}h2{font-size:.95rem;margin:0 0 .5rem;color:#57606a;text-transform:uppercase;letter-spacing:.04em}
        .figures{display:flex;flex-wrap:wrap;gap:1.2rem;margin:.2rem 0 .6rem}.figures span{font-size:.8rem;color:#57606a}
        .figures b{display:block;font-size:1.35rem;color:#1b1f24;font-variant-numeric:tabular-nums}
        table{border-collapse:collapse;width:100%;font-size:.85rem}td,th{padding:.2rem .5rem;border-bottom:1px solid #eef0f2;text-align:left}
        td{font-variant-numeric:tabular-nums}.ok{color:#1a7f37;font-weight:600}.fail{color:#cf222e;font-weight:600}
        svg{width:100%;height:auto;background:#fafbfc;border:1px solid #eef0f2}.muted{color:#6e7781}
        #problem{font-size:.8rem}form.login{max-width:22rem;margin:4rem auto;background:#fff;padding:1.5rem;border:1px solid #e3e6ea;border-radius:6px}
        form.login label{display:block;margin:.6rem 0 .2rem}form.login input{width:100%;box-sizing:border-box;padding:.4rem;font:inherit}
        form.login button{margin-top:1rem;padding:.4rem 1rem;font:inherit}
        """

    static func head(_ title: String, script: Bool) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>\(HTMLText.escape(title))</title>
        <meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
        <style>\(style)</style>\(script ? "<script src=\"/dashboard/dashboard.js\" defer></script>" : "")</head>
        """
    }

    /// The page, filled from `data` (the JSON `/dashboard/data` answers with).
    static func render(_ data: [String: Any]) -> String {
        func field(_ path: String, _ format: Format, _ label: String) -> String {
            "<span><b data-field=\"\(path)\" data-format=\"\(format.rawValue)\">\(HTMLText.escape(format(lookup(path, in: data))))</b>\(HTMLText.escape(label))</span>"
        }
        func chart(_ series: [String], unit: String) -> String {
            "<svg data-chart=\"\(series.joined(separator: " "))\" data-unit=\"\(HTMLText.escape(unit))\" role=\"img\" aria-label=\"\(series.joined(separator: ", "))\"></svg>"
        }
        let ready = (lookup("health.ready", in: data) as? Bool) == true
        return head("Intake dashboard", script: true) + """
            <body>
            <header><h1>Intake</h1><span class="muted">updated <span data-field="generated_at" data-format="text">\(HTMLText.escape(Format.text(lookup("generated_at", in: data))))</span></span><span id="problem" class="fail"></span>
            <span id="ready" class="\(ready ? "ok" : "fail")">\(ready ? "ready" : "NOT READY")</span>
            <form method="post" action="/dashboard/logout"><button type="submit">Sign out</button></form></header>
            <main>
            <section><h2>Orders and requests</h2><div class="figures">
            \(field("metrics.orders_per_second", .rate, "orders"))\(field("metrics.requests_per_second", .rate, "requests"))
            \(field("metrics.orders_total", .int, "orders since start"))\(field("metrics.requests_total", .int, "requests since start"))</div>
            \(chart(["orders_per_second", "requests_per_second"], unit: "per second"))</section>
            <section><h2>Latency</h2><div class="figures">
            \(field("metrics.latency_ms.p50", .ms, "p50"))\(field("metrics.latency_ms.p90", .ms, "p90"))\(field("metrics.latency_ms.p99", .ms, "p99"))</div>
            \(chart(["p50_ms", "p99_ms"], unit: "ms"))</section>
            <section><h2>Errors by status</h2>
            \(table("metrics.errors", [("status", .text, "status"), ("total", .int, "since start"), ("per_second", .rate, "now")], in: data))
            \(chart(["errors_per_second"], unit: "errors per second"))</section>
            <section><h2>Actors</h2>\(map("metrics.actors_active", .int, keyTitle: "registry", valueTitle: "active", in: data))
            <div class="figures">\(field("metrics.mailbox_depth.p50", .number, "mailbox depth p50"))\(field("metrics.mailbox_depth.p99", .number, "mailbox depth p99"))</div></section>
            <section><h2>Group commit</h2><div class="figures">
            \(field("metrics.batch_size", .number, "write sets per batch"))\(field("metrics.commits_per_second", .rate, "commits"))
            \(field("metrics.commit_ms.p50", .ms, "commit p50"))\(field("metrics.commit_ms.p99", .ms, "commit p99"))</div>
            \(chart(["batch_size", "commit_p99_ms"], unit: "write sets, ms"))</section>
            <section><h2>Work queue and outbox</h2>\(map("metrics.queue", .int, keyTitle: "jobs", valueTitle: "count", in: data))
            <div class="figures">\(field("metrics.outbox_lag_seconds", .seconds, "outbox lag"))\(field("metrics.outbox_published_per_second", .rate, "events published"))</div>
            \(chart(["queue_depth", "outbox_lag_seconds"], unit: "jobs, s"))</section>
            <section><h2>Health</h2>\(map("health.checks", .check, keyTitle: "dependency", valueTitle: "state", in: data))</section>
            <section class="wide"><h2>ETL runs</h2><p class="fail" data-field="etl_runs.error" data-format="text" data-optional>\(HTMLText.escape(optional("etl_runs.error", in: data)))</p>
            \(table("etl_runs.items", [
                ("pipeline", .text, "pipeline"), ("logical_date", .text, "date"), ("status", .text, "status"), ("trigger", .text, "trigger"),
                ("started_at", .text, "started"), ("duration_seconds", .seconds, "took"), ("rows_loaded", .int, "rows"), ("error", .text, "error"),
            ], in: data))</section>
            <section class="wide"><h2>Data quality</h2><p class="fail" data-field="data_quality.error" data-format="text" data-optional>\(HTMLText.escape(optional("data_quality.error", in: data)))</p>
            \(table("data_quality.items", [
                ("check", .text, "check"), ("severity", .text, "severity"), ("passed", .check, "result"), ("value", .number, "value"),
                ("threshold", .text, "threshold"), ("checked_at", .text, "checked"), ("detail", .text, "detail"),
            ], in: data))</section>
            </main></body></html>

            """
    }

    /// The login form; `message` says why the last attempt failed.
    static func login(message: String? = nil) -> String {
        head("Intake dashboard — sign in", script: false) + """
            <body><form class="login" method="post" action="/dashboard/login">
            <h1>Intake dashboard</h1>
            \(message.map { "<p class=\"fail\">\(HTMLText.escape($0))</p>" } ?? "<p class=\"muted\">For admins.</p>")
            <label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required>
            <label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
            <button type="submit">Sign in</button></form></body></html>

            """
    }

    /// A table of the array at `path`, one column per key; `dashboard.js` refills its body.
    static func table(_ path: String, _ columns: [Column], in data: [String: Any]) -> String {
        let spec = columns.map { "\($0.key):\($0.format.rawValue)" }.joined(separator: ",")
        let rows = (lookup(path, in: data) as? [[String: Any]] ?? []).map { row in
            "<tr>" + columns.map { cell($0.format, row[$0.key]) }.joined() + "</tr>"
        }
        return "<table><thead><tr>" + columns.map { "<th>\(HTMLText.escape($0.title))</th>" }.joined() + "</tr></thead>"
            + "<tbody data-rows=\"\(path)\" data-columns=\"\(spec)\">" + (rows.isEmpty ? [none(columns.count)] : rows).joined() + "</tbody></table>"
    }

    /// A table of the object at `path`: its keys and values, sorted by key.
    static func map(_ path: String, _ format: Format, keyTitle: String, valueTitle: String, in data: [String: Any]) -> String {
        let rows = (lookup(path, in: data) as? [String: Any] ?? [:]).sorted { $0.key < $1.key }.map {
            "<tr><td>\(HTMLText.escape($0.key))</td>\(cell(format, $0.value))</tr>"
        }
        return "<table><thead><tr><th>\(HTMLText.escape(keyTitle))</th><th>\(HTMLText.escape(valueTitle))</th></tr></thead>"
            + "<tbody data-map=\"\(path)\" data-format=\"\(format.rawValue)\">" + (rows.isEmpty ? [none(2)] : rows).joined() + "</tbody></table>"
    }

    /// The row of an empty table (`dashboard.js` writes the same).
    static func none(_ columns: Int) -> String { "<tr><td class=\"muted\" colspan=\"\(columns)\">none</td></tr>" }

    static func cell(_ format: Format, _ value: Any?) -> String {
        let text = format(value)
        let kind = format == .check ? (text == "ok" ? " class=\"ok\"" : " class=\"fail\"") : ""
        return "<td\(kind)>\(HTMLText.escape(text))</td>"
    }

    static func optional(_ path: String, in data: [String: Any]) -> String {
        lookup(path, in: data).flatMap { $0 is NSNull ? nil : "\($0)" } ?? ""
    }

    /// The value at a dotted path (`metrics.latency_ms.p99`).
    static func lookup(_ path: String, in data: [String: Any]) -> Any? {
        var current: Any? = data
        for key in path.split(separator: ".") { current = (current as? [String: Any])?[String(key)] }
        return current
    }
}
