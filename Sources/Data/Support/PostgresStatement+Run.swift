import IntakeRuntime

extension PostgresClient {
    @discardableResult
    func query(_ statement: PostgresStatement) async throws -> PostgresRows {
        try await query(statement.sql, statement.parameters)
    }
}

extension PostgresSession {
    @discardableResult
    func query(_ statement: PostgresStatement) async throws -> PostgresRows {
        try await query(statement.sql, statement.parameters)
    }
}
