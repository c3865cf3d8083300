import HTTPTypes

extension HTTPFields {
    /// A field's value as `self[name]` gives it (several fields of the name joined, in order),
    /// without `self[name]`'s generic join when there is one field: the common case, three
    /// lookups per order (`Content-Length` twice, `Authorization`), and ≈ 1% of the server's
    /// CPU per order through the join's unspecialized code (`perf`, BENCHMARKS.md session 15).
    func value(_ name: HTTPField.Name) -> String? {
        var found: String?
        for field in self where field.name == name {
            guard found == nil else { return self[name] }
            found = field.value
        }
        return found
    }
}
