/// The check a run passes before it succeeds: what it loaded adds up to what it extracted.
/// Pure arithmetic on exact cents, decided without I/O.
public struct Reconciliation: Sendable, Hashable {
    /// Totals of one side.
    public struct Totals: Sendable, Hashable {
        public var revenueCents: Int64
        public var units: Int64

        public init(revenueCents: Int64, units: Int64) {
            self.revenueCents = revenueCents
            self.units = units
        }
    }

    /// The extract's control totals: the sum of the orders' `amount`, their items' quantities.
    public var source: Totals
    /// What the load holds: the sum of `revenue` and of `units` of the day's rows.
    public var loaded: Totals

    public init(source: Totals, loaded: Totals) {
        self.source = source
        self.loaded = loaded
    }

    /// Nil when both sides agree; else why not, for the run's `error`.
    public var mismatch: String? {
        var problems: [String] = []
        if source.revenueCents != loaded.revenueCents {
            problems.append("revenue loaded \(Cents.format(loaded.revenueCents)) != orders' amount \(Cents.format(source.revenueCents))")
        }
        if source.units != loaded.units {
            problems.append("units loaded \(loaded.units) != items' quantities \(source.units)")
        }
        return problems.isEmpty ? nil : "reconciliation failed: " + problems.joined(separator: "; ")
    }
}
