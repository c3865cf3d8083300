import IntakeData

extension Problem {
    /// The problem for an error of the data side (pipelines, warehouse).
    static func from(_ error: DataError) -> Problem {
        switch error.code {
        case .validation: return .validation(error.description)
        case .notFound: return .notFound(error.message)
        case .readOnly: return .validation(error.message)
        default: return .unavailable("the data platform failed: \(error.message)")
        }
    }
}

/// Runs `body`, turning a `DataError` into its problem.
func mappingDataErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as DataError {
        throw Problem.from(error)
    }
}
