import Benchmark
import Foundation
import IntakeActors
import IntakeRuntime
import Logging

/// In-process durable order intake (issue 4's figure): OrderService creating one-item orders
/// on a random product among 1,000 with plenty of stock, at 1, 64 and 1,024 concurrent
/// callers, next to a textbook one-transaction-per-order baseline in the same run. Each
/// iteration is `scaledIterations` orders, so throughput is orders per second.
let benchmarks: @Sendable () -> Void = {
    guard let databaseURL = ProcessInfo.processInfo.environment["INTAKE_BENCH_DATABASE_URL"] else {
        print("INTAKE_BENCH_DATABASE_URL is not set: run scripts/bench")
        return
    }
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = .warning
        return handler
    }
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .mallocCountTotal], warmupIterations: 1, scalingFactor: .kilo,
        maxDuration: .seconds(10), maxIterations: 10)

    for callers in [1, 64, 1024] {
        Benchmark("order service, create, \(callers) callers", configuration: configuration) { (benchmark: Benchmark, setup: OrderSetup) in
            await setup.createOrders(benchmark.scaledIterations.count, callers: callers)
        } setup: {
            try await OrderSetup.make(databaseURL)
        }
    }

    // With 1,000 orders per iteration and 1,024 callers, each caller makes at most one order
    // and the iteration ends with a single commit: creation and commit never overlap. Here
    // every unit is 10 orders (so callers stream ~10 each): orders/s = 10 × throughput.
    Benchmark("order service, create, 1024 callers, 10 orders per unit", configuration: configuration) { (benchmark: Benchmark, setup: OrderSetup) in
        await setup.createOrders(benchmark.scaledIterations.count * 10, callers: 1024)
    } setup: {
        try await OrderSetup.make(databaseURL)
    }

    Benchmark("baseline, one transaction per order, 1024 callers, pool of 16", configuration: configuration) { (benchmark: Benchmark, db: PostgresClient) in
        await concurrently(benchmark.scaledIterations.count, workers: 1024) { n in
            let product = Int32.random(in: 1...1000)
            do {
                try await db.withTransaction { tx in
                    let price = try await tx.query(
                        "UPDATE baseline_products SET available = available - 1 WHERE id = $1 AND available >= 1 RETURNING price",
                        [.int32(product)])
                    guard !price.isEmpty else { return }
                    let order = UUIDv7.make()
                    try await tx.query(
                        "INSERT INTO baseline_orders (id, user_id, status, amount, idempotency_key) VALUES ($1, $2, 'PENDING', 3.10, $3)",
                        [.uuid(order), .uuid(UUID()), .text("bench-\(n)")])
                    try await tx.query("INSERT INTO baseline_items VALUES ($1, $2, 1, 3.10)", [.uuid(order), .int32(product)])
                }
            } catch {
                print("baseline order failed: \(error)")
            }
        }
    } setup: {
        let db = PostgresClient(configuration: try PostgresConfiguration(url: databaseURL, poolSize: 16, leaseTimeout: .seconds(60)))
        try await db.execute(script: """
            DROP TABLE IF EXISTS baseline_products, baseline_orders, baseline_items;
            CREATE TABLE baseline_products (id int PRIMARY KEY, price numeric(12,2) NOT NULL, available int NOT NULL CHECK (available >= 0));
            CREATE TABLE baseline_orders (id uuid PRIMARY KEY, user_id uuid NOT NULL, status text NOT NULL, amount numeric(12,2) NOT NULL,
                idempotency_key text, created_at timestamptz NOT NULL DEFAULT now());
            CREATE UNIQUE INDEX baseline_orders_idem ON baseline_orders (user_id, idempotency_key);
            CREATE TABLE baseline_items (order_id uuid, product_id int, quantity int, unit_price numeric(12,2), PRIMARY KEY (order_id, product_id));
            INSERT INTO baseline_products SELECT n, 3.10, 1000000000 FROM generate_series(1, 1000) n;
            """)
        return db
    }
}

/// A fresh schema, 1,000 products of 8 shards with a billion units each, a running
/// group-commit writer and idle collector, and the service.
struct OrderSetup: Sendable {
    let service: OrderService
    let writer: GroupCommit
    let products: [UUID]
    let users: [UUID]

    /// Creates `total` one-item orders on random products from `callers` concurrent tasks.
    func createOrders(_ total: Int, callers: Int) async {
        await concurrently(total, workers: callers) { n in
            let product = products[Int.random(in: 0..<products.count)]
            do {
                _ = try await service.createOrder(NewOrder(
                    userID: users[n % users.count], lines: [.init(productID: product, quantity: 1)], region: "br",
                    idempotencyKey: "bench-\(n)-\(UUID().uuidString)"))
            } catch {
                print("order failed: \(error)")
            }
        }
        if ProcessInfo.processInfo.environment["INTAKE_BENCH_VERBOSE"] != nil {
            print("orders \(total), transactions so far \(writer.transactionsCommitted)")
        }
    }

    static func make(_ url: String) async throws -> OrderSetup {
        let db = PostgresClient(configuration: try PostgresConfiguration(url: url, poolSize: 8, leaseTimeout: .seconds(60)))
        try await db.execute(script: """
            DROP TABLE IF EXISTS jobs, job_schedules, outbox, schema_migrations, products, stock_shards, orders, order_items, payments CASCADE;
            """)
        try await Migrator(client: db).migrate([try RuntimeMigrations.set(), try DomainMigrations.set()])
        let writer = GroupCommit(client: db)
        Task { try await writer.run() }
        let service = OrderService(db: db, groupCommit: writer)
        Task { try await IdleCollector(registries: service.registries, interval: .seconds(1)).run() }
        var products: [UUID] = []
        for n in 0..<1000 {
            products.append(try await service.createProduct(sku: "SKU-\(n)", name: "Product \(n)", price: Money("3.10")!, initialStock: 1_000_000_000, shards: 8).id)
        }
        // Steady state: every shard actor active, as in a server that has run a while.
        let ids = products
        await concurrently(ids.count * 8, workers: 64) { n in
            _ = try? await service.shards.send(.snapshot, to: ShardKey(productID: ids[n / 8], shard: n % 8))
        }
        return OrderSetup(service: service, writer: writer, products: products, users: (0..<1000).map { _ in UUID() })
    }
}

/// Runs `work(0..<total)` on `workers` concurrent tasks.
func concurrently(_ total: Int, workers: Int, _ work: @escaping @Sendable (Int) async -> Void) async {
    await withTaskGroup(of: Void.self) { group in
        for worker in 0..<min(workers, max(total, 1)) {
            group.addTask {
                var n = worker
                while n < total {
                    await work(n)
                    n += workers
                }
            }
        }
    }
}
