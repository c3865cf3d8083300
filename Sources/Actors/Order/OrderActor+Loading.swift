import Foundation
import IntakeRuntime

extension OrderActor {
    /// The order and the shard each of its units came from, as committed.
    static func load(_ id: UUID, from db: PostgresClient) async throws -> (Order?, [Allocation]) {
        let results = try await db.pipeline([
            PostgresStatement(OrderQueries.selectOrder, [.uuid(id)]), PostgresStatement(OrderQueries.selectItems, [.uuid(id)]),
        ])
        guard let row = results[0].first else { return (nil, []) }
        var allocations: [Allocation] = []
        var items: [OrderItem] = []
        for itemRow in results[1] {
            let allocation = Allocation(productID: try itemRow.decode("product_id"), shard: try itemRow.decode("shard"), quantity: try itemRow.decode("quantity"))
            allocations.append(allocation)
            if let index = items.firstIndex(where: { $0.productID == allocation.productID }) {
                items[index].quantity += allocation.quantity
            } else {
                items.append(OrderItem(productID: allocation.productID, quantity: allocation.quantity, unitPrice: try itemRow.decodeMoney("unit_price")))
            }
        }
        return (try OrderQueries.decodeOrder(row, items: items), allocations)
    }
}
