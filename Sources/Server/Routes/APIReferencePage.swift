import IntakeRuntime

/// `GET /docs`: the served `openapi.yaml` as one HTML page a browser reads without any
/// script or CDN — every operation with its summary, linked to its part of the document,
/// then the document itself. Built once from the YAML at start-up. It reads the layout this
/// repository writes (`  /path:` at two spaces, methods at four, `summary:` at six), not YAML
/// in general; the full document below the index is always complete.
enum APIReferencePage {
    struct Operation: Equatable {
        var method: String
        var path: String
        var summary: String
    }

    static let methods: Set<String> = ["get", "post", "put", "patch", "delete"]

    static func operations(in yaml: String) -> [Operation] {
        var operations: [Operation] = []
        var path: String?
        var inPaths = false
        for line in yaml.split(separator: "\n", omittingEmptySubsequences: false) {
            if !line.hasPrefix(" ") && !line.isEmpty {
                inPaths = line.hasPrefix("paths:")
                continue
            }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), !line.hasPrefix("   "), line.hasSuffix(":") {
                path = String(line.dropFirst(2).dropLast())
            } else if let path, line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":"),
                methods.contains(String(line.dropFirst(4).dropLast()))
            {
                operations.append(Operation(method: String(line.dropFirst(4).dropLast()).uppercased(), path: path, summary: ""))
            } else if line.hasPrefix("      summary:"), !line.hasPrefix("       "), var last = operations.last, last.summary.isEmpty {
                last.summary = line.dropFirst("      summary:".count).trimmingCharacters(in: .whitespaces)
                operations[operations.count - 1] = last
            }
        }
        return operations
    }

    static func render(yaml: String) -> String {
        let rows = operations(in: yaml).map { operation in
            "<tr><td class=m>\(operation.method)</td><td><a href=\"#\(anchor(operation.path))\"><code>\(escape(operation.path))</code></a></td><td>\(escape(operation.summary))</td></tr>"
        }
        var document = ""
        for line in yaml.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("  /"), !line.hasPrefix("   "), line.hasSuffix(":") {
                document += "<span id=\"\(anchor(String(line.dropFirst(2).dropLast())))\"></span>"
            }
            document += escape(String(line)) + "\n"
        }
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>Intake API reference</title>
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <style>
            body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#1b1f24}
            table{border-collapse:collapse;width:100%}td{padding:.3rem .6rem;border-bottom:1px solid #e3e6ea;vertical-align:top}
            td.m{font-weight:600;font-family:monospace}pre{background:#f6f8fa;padding:1rem;overflow:auto;font-size:13px}
            a{color:#0b5cad}
            </style></head><body>
            <h1>Intake API reference</h1>
            <p>Generated from <a href="/openapi.yaml"><code>/openapi.yaml</code></a>, the machine-readable contract. Errors are
            <code>application/problem+json</code>; authenticated routes take <code>Authorization: Bearer &lt;token&gt;</code>.</p>
            <table>
            \(rows.joined(separator: "\n"))
            </table>
            <h2>The document</h2>
            <pre>\(document)</pre>
            </body></html>
            """
    }

    static func anchor(_ path: String) -> String {
        "op" + path.map { $0.isLetter || $0.isNumber ? String($0) : "-" }.joined()
    }

    static func escape(_ text: String) -> String { HTMLText.escape(text) }
}
