/// Every failure of the data side. Callers branch on `code`; codes can be added without
/// breaking them.
public struct DataError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// A request names something invalid (`subject` names the field).
        public static let validation = Code("validation")
        /// No such run.
        public static let notFound = Code("notFound")
        /// The DuckDB CLI is missing or failed.
        public static let duckdb = Code("duckdb")
        /// What was loaded does not add up to what was extracted.
        public static let reconciliation = Code("reconciliation")
        /// A statement that would write was sent to the read-only warehouse.
        public static let readOnly = Code("readOnly")
        /// A file of the lake, the warehouse or the staging area could not be written.
        public static let storage = Code("storage")
        /// A setting cannot be used.
        public static let configuration = Code("configuration")
        /// A later snapshot of the same data was loaded already: this one is not.
        public static let superseded = Code("superseded")
        /// A query ran past its time limit and was stopped.
        public static let timeout = Code("timeout")
        public var description: String { name }
    }

    public var code: Code
    public var message: String
    /// The request field at fault, for `validation`.
    public var subject: String?

    public init(code: Code, message: String, subject: String? = nil) {
        self.code = code
        self.message = message
        self.subject = subject
    }

    public var description: String { subject.map { "\($0): \(message)" } ?? message }
}
