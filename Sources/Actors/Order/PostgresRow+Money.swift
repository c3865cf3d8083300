import IntakeRuntime

extension PostgresRow {
    /// A money column selected as text (`amount::text`), parsed exactly.
    func decodeMoney(_ column: String) throws -> Money {
        let text: String = try decode(column)
        guard let value = Money(text) else {
            throw PostgresError(code: .decoding, message: "\(column) \(text) is not an amount of money")
        }
        return value
    }
}
