import IntakeActors
import Testing

@Suite struct OrderStatusTests {
    enum Expected {
        case success(OrderStatus, StockEffect)
        case failure(DomainError.Code)
    }

    static let transitions: [OrderTransition] = [
        .pay, .ship, .deliver, .cancel(by: .customer, reason: .user), .cancel(by: .admin, reason: .admin),
        .cancel(by: .admin, reason: .paymentTimeout),
    ]

    /// The whole table: every status × every transition, against API.md.
    @Test(arguments: OrderStatus.allCases)
    func everyTransitionFromEveryStatus(status: OrderStatus) {
        for transition in Self.transitions {
            let expected: Expected =
                switch (status, transition) {
                case (.pending, .pay): .success(.paid, StockEffect.none)
                case (.paid, .ship): .success(.shipped, .consume)
                case (.shipped, .deliver): .success(.delivered, StockEffect.none)
                case (.pending, .cancel): .success(.canceled, .release)
                case (.paid, .cancel(by: .admin, _)): .success(.canceled, .release)
                case (.paid, .cancel(by: .customer, _)): .failure(.forbidden)
                default: .failure(.invalidTransition)
                }
            do {
                let result = try status.applying(transition)
                guard case .success(let next, let effect) = expected else {
                    Issue.record("\(status) + \(transition) must fail, got \(result)")
                    continue
                }
                #expect(result.status == next, "\(status) + \(transition)")
                #expect(result.stock == effect, "\(status) + \(transition)")
            } catch {
                guard case .failure(let code) = expected else {
                    Issue.record("\(status) + \(transition) must succeed, got \(error)")
                    continue
                }
                #expect(error.code == code, "\(status) + \(transition)")
            }
        }
    }

    @Test func terminalStatesAcceptNothing() {
        for status in [OrderStatus.delivered, .canceled] {
            for transition in Self.transitions {
                #expect(throws: DomainError.self) { try status.applying(transition) }
            }
        }
    }
}

@Suite struct OrderAmountTests {
    @Test func amountIsTheExactSumOfLines() throws {
        let items = [
            OrderItem(productID: .init(), quantity: 3, unitPrice: Money("0.10")!),
            OrderItem(productID: .init(), quantity: 1, unitPrice: Money("19.99")!),
        ]
        #expect(try Order.amount(of: items) == Money("20.29")!)
        #expect(try Order.amount(of: []) == .zero)
    }

    @Test func overflowIsAValidationError() {
        let items = [OrderItem(productID: .init(), quantity: 1000, unitPrice: Money(cents: .max / 10))]
        #expect(throws: DomainError.self) { try Order.amount(of: items) }
    }
}
