/// The rules every caller of the domain gets — the HTTP server, the in-process API and a
/// gateway embedding Intake — for the fields API.md bounds.
public enum FieldRules {
    /// API.md: passwords are 8..128 characters.
    public static let passwordLength = 8...128

    /// `value` has a length within `length` and no U+0000, which Postgres `text` cannot hold:
    /// refused here, with the field named, rather than failing the write.
    ///
    /// A length counts Unicode scalars, as `openapi.yaml`'s `maxLength` does (JSON Schema's
    /// characters), not grapheme clusters: one "character" can carry thousands of combining
    /// marks, and a 1-character SKU of 2,801 bytes passed the rule and failed the unique
    /// index's size limit with a 500 (hostile review, session 7). Bounded in scalars, a value
    /// is at most 4 bytes per unit of its limit.
    public static func text(_ value: String, field: String, length: ClosedRange<Int>) throws(DomainError) {
        guard length.contains(value.unicodeScalars.count) else {
            throw DomainError(.validation, "must be \(length.lowerBound)..\(length.upperBound) characters", subject: field)
        }
        try storable(value, field: field)
    }

    /// No U+0000 in `value`.
    public static func storable(_ value: String, field: String) throws(DomainError) {
        guard !value.utf8.contains(0) else {
            throw DomainError(.validation, "must not contain the character U+0000", subject: field)
        }
    }

    /// A password: 8..128 characters, every one of them significant.
    public static func password(_ value: String) throws(DomainError) {
        try text(value, field: "password", length: passwordLength)
    }
}
