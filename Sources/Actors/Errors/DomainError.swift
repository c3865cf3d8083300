/// Why the domain refused a command. `code` is what callers branch on (the server maps each
/// to its HTTP problem); `subject` names the field or product concerned.
public struct DomainError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// The order's status does not allow the command.
        public static let invalidTransition = Code("invalid-transition")
        /// Allowed in general, but not to this role (a customer canceling a PAID order).
        public static let forbidden = Code("forbidden")
        /// Not enough stock; `subject` is the product id.
        public static let insufficientStock = Code("insufficient-stock")
        /// No such product; `subject` is the product id.
        public static let unknownProduct = Code("unknown-product")
        /// No such order or user (or not visible to the caller).
        public static let notFound = Code("not-found")
        /// The input breaks a rule; `subject` names the field.
        public static let validation = Code("validation")
        /// Another request with the same idempotency key created the order first.
        public static let duplicateRequest = Code("duplicate-request")
        /// The idempotency key was first used with a different request.
        public static let idempotencyKeyReused = Code("idempotency-key-reused")
        /// Another live user has this email address.
        public static let emailTaken = Code("email-taken")
        /// Another product has this SKU.
        public static let skuTaken = Code("sku-taken")
        /// A payment's amount differs from the order's.
        public static let amountMismatch = Code("amount-mismatch")
        public var description: String { name }
    }

    public var code: Code
    public var message: String
    public var subject: String?

    public init(_ code: Code, _ message: String, subject: String? = nil) {
        self.code = code
        self.message = message
        self.subject = subject
    }

    public var description: String { "\(code): \(message)" }
}
