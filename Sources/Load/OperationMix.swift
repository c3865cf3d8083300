/// The share of each operation in a load run, as `--mix create=85,pay=5,cancel=5,get=5`.
public struct OperationMix: Sendable, Hashable, CustomStringConvertible {
    public enum Operation: String, Sendable, CaseIterable, Codable, Comparable {
        case create, pay, cancel, get

        private var rank: Int {
            switch self {
            case .create: 0
            case .pay: 1
            case .cancel: 2
            case .get: 3
            }
        }

        public static func < (lhs: Operation, rhs: Operation) -> Bool { lhs.rank < rhs.rank }
    }

    /// Weights, summing to more than zero.
    public private(set) var weights: [Operation: Int]
    private let total: Int

    public static let standard = OperationMix(weights: [.create: 85, .pay: 5, .cancel: 5, .get: 5])

    init(weights: [Operation: Int]) {
        self.weights = weights
        self.total = weights.values.reduce(0, +)
    }

    /// Parses `name=weight,...`; names are the operations, weights non-negative integers,
    /// at least one positive.
    public init(parsing text: String) throws(LoadError) {
        var weights: [Operation: Int] = [:]
        for part in text.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, let operation = Operation(rawValue: pair[0].lowercased()), let weight = Int(pair[1]), weight >= 0 else {
                throw LoadError("--mix: expected name=weight pairs of \(Operation.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(part)\"")
            }
            guard weights[operation] == nil else { throw LoadError("--mix: \(operation.rawValue) appears twice") }
            weights[operation] = weight
        }
        guard weights.values.contains(where: { $0 > 0 }) else { throw LoadError("--mix: at least one weight must be positive") }
        self.init(weights: weights)
    }

    /// The operation for a uniform draw in `0..<total`.
    func operation(at draw: Int) -> Operation {
        var remaining = draw
        for operation in Operation.allCases {
            let weight = weights[operation] ?? 0
            if remaining < weight { return operation }
            remaining -= weight
        }
        return .create
    }

    public func pick(using generator: inout some RandomNumberGenerator) -> Operation {
        operation(at: Int.random(in: 0..<total, using: &generator))
    }

    public var description: String {
        Operation.allCases.compactMap { operation in weights[operation].map { "\(operation.rawValue)=\($0)" } }.joined(separator: ",")
    }
}

/// A load run that cannot go on; the message is one line for the user.
public struct LoadError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
