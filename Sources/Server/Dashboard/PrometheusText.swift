/// One line of the Prometheus text exposition format: `name{label="value",...} value`.
struct MetricSample: Sendable, Equatable {
    var name: String
    var labels: [String: String]
    var value: Double
}

/// Reads the text format `PrometheusExport` writes back into samples, so the dashboard
/// shows the numbers `/metrics` exports, from the same registry, and no second bookkeeping.
/// Comments (`# HELP`, `# TYPE`) are skipped; a line it cannot read is skipped too (the
/// registry writes none).
enum PrometheusText {
    static func parse(_ text: String) -> [MetricSample] {
        text.split(separator: "\n").compactMap { line in
            line.hasPrefix("#") ? nil : sample(Substring(line))
        }
    }

    static func sample(_ line: Substring) -> MetricSample? {
        var rest = line[...]
        guard let nameEnd = rest.firstIndex(where: { $0 == "{" || $0 == " " }) else { return nil }
        let name = String(rest[..<nameEnd])
        rest = rest[nameEnd...]
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            guard let parsed = self.labels(&rest) else { return nil }
            labels = parsed
        }
        guard let token = rest.split(separator: " ", omittingEmptySubsequences: true).first, let value = number(token) else { return nil }
        return MetricSample(name: name, labels: labels, value: value)
    }

    /// `a="1",b="x\"y"}` → labels; `rest` is left after the `}`.
    private static func labels(_ rest: inout Substring) -> [String: String]? {
        var labels: [String: String] = [:]
        while true {
            rest = rest.drop { $0 == "," || $0 == " " }
            if rest.first == "}" {
                rest = rest.dropFirst()
                return labels
            }
            guard let equals = rest.firstIndex(of: "="), rest[rest.index(after: equals)...].first == "\"" else { return nil }
            let key = String(rest[..<equals])
            rest = rest[rest.index(equals, offsetBy: 2)...]
            var value = ""
            var escaped = false
            var closed = false
            while let character = rest.popFirst() {
                if escaped {
                    value.append(character == "n" ? "\n" : character)
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == "\"" {
                    closed = true
                    break
                } else {
                    value.append(character)
                }
            }
            guard closed else { return nil }
            labels[key] = value
        }
    }

    static func number(_ token: Substring) -> Double? {
        switch token {
        case "+Inf", "Inf": return .infinity
        case "-Inf": return -.infinity
        case "NaN": return .nan
        default: return Double(token)
        }
    }
}
