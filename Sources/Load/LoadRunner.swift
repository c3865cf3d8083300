import Foundation
import Synchronization
import IntakeRuntime

/// Drives a workload against a target, then verifies what it did.
public struct LoadRunner: Sendable {
    public let options: LoadOptions
    public let target: any LoadTarget
    public let verifier: Verifier
    public let recorder = LatencyRecorder()

    public init(options: LoadOptions, target: any LoadTarget, verifier: Verifier) {
        self.options = options
        self.target = target
        self.verifier = verifier
    }

    /// Every order that got a 201, in the order they were answered.
    final class Ledger: Sendable {
        private let orders = Mutex<[CreatedOrder]>([])
        func append(_ order: CreatedOrder) { orders.withLock { $0.append(order) } }
        var all: [CreatedOrder] { orders.withLock { $0 } }
    }

    /// Requests issued so far, against `--requests`.
    final class Issued: Sendable {
        private let count = Atomic<Int>(0)
        func next() -> Int { count.wrappingAdd(1, ordering: .relaxed).newValue }
    }

    public func run() async throws -> LoadReport {
        let runID = String(UUID().uuidString.prefix(8)).lowercased()
        progress("setting up: \(options.products) products, \(options.users) users")
        let products = try await target.createProducts(count: options.products, stock: options.stockPerProduct, shards: options.shards, runID: runID)
        let users = try await target.makeUsers(count: options.users, runID: runID)
        let ledger = Ledger()
        let issued = Issued()
        progress("measuring")
        let cpuAtStart = try options.cpu.map { try $0.sample() }
        let start = ContinuousClock.now
        let deadline = options.duration.map { start + $0 }
        let reporter = Task { await sampleEverySecond(start: start) }
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<options.concurrency {
                group.addTask {
                    await drive(worker: worker, runID: runID, products: products, users: users, ledger: ledger, issued: issued, deadline: deadline)
                }
            }
        }
        let elapsed = ContinuousClock.now - start
        let cpuUsed = zip(options.cpu, cpuAtStart).map { $0.used(since: $1) }
        reporter.cancel()
        let timeline = await reporter.value
        let created = ledger.all
        let cpu = zip(options.cpu, cpuUsed).map { process, used in
            guard let used else {
                progress("--cpu \(process.label): process \(process.pid) exited during the run; its CPU is not reported")
                return LoadReport.CPUUse(label: process.label, pid: process.pid, seconds: nil, usPerOrder: nil)
            }
            return LoadReport.CPUUse(
                label: process.label, pid: process.pid, seconds: Double(used) / 1e6,
                usPerOrder: created.isEmpty ? 0 : (Double(used) / Double(created.count)).rounded())
        }
        progress("verifying \(created.count) orders")
        let verification = await verifier.verify(created: created, products: products, stockPerProduct: options.stockPerProduct)
        let summary = recorder.summary()
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return LoadReport(
            mode: options.mode.rawValue, target: target.name, durationS: (seconds * 1000).rounded() / 1000, concurrency: options.concurrency,
            mix: options.mix.description, products: options.products, hotProducts: options.hotProducts, hotShare: options.hotShare, ordersCreated: created.count,
            ordersPerS: (Double(created.count) / seconds).rounded(), requestsPerS: (Double(summary.requests) / seconds).rounded(),
            retried503: summary.retries,
            latencyMs: Dictionary(uniqueKeysWithValues: summary.latencies.map { ($0.key.rawValue, $0.value) }),
            statusCounts: Dictionary(uniqueKeysWithValues: summary.statuses.map { (String($0.key), $0.value) }), verification: verification,
            timeline: timeline, cpu: cpu)
    }

    private func drive(
        worker: Int, runID: String, products: [LoadProduct], users: [LoadUser], ledger: Ledger, issued: Issued,
        deadline: ContinuousClock.Instant?
    ) async {
        var random = UniqueID.Generator()
        var pending: [CreatedOrder] = []
        var sequence = 0
        let user = users[worker % users.count]
        func mayContinue() -> Bool {
            if let deadline, ContinuousClock.now >= deadline { return false }
            if let budget = options.requests, issued.next() > budget { return false }
            return !Task.isCancelled
        }
        while mayContinue() {
            var operation = options.mix.pick(using: &random)
            if operation != .create && pending.isEmpty { operation = .create }
            switch operation {
            case .create:
                sequence += 1
                let key = "\(runID)-\(worker)-\(sequence)"
                let lines = pickLines(products, using: &random)
                let answer = await timed(.create, deadline: deadline) { await target.create(lines: lines, user: user, idempotencyKey: key) }
                if let order = answer.order {
                    ledger.append(order)
                    pending.append(order)
                    if pending.count > 1000 { pending.removeFirst(500) }
                }
            case .pay:
                let order = pending.remove(at: Int.random(in: 0..<pending.count, using: &random))
                _ = await timed(.pay, deadline: deadline) { await target.pay(order, paymentID: "pay-\(order.id.lowercasedString)") }
            case .cancel:
                let order = pending.remove(at: Int.random(in: 0..<pending.count, using: &random))
                _ = await timed(.cancel, deadline: deadline) { await target.cancel(order) }
            case .get:
                let order = pending[Int.random(in: 0..<pending.count, using: &random)]
                _ = await timed(.get, deadline: deadline) { await target.get(order) }
            }
        }
    }

    /// Runs one request, records it, and retries it after the server's Retry-After while it
    /// answers 503 (each attempt recorded); gives up at the deadline.
    private func timed(_ operation: OperationMix.Operation, deadline: ContinuousClock.Instant?, _ request: () async -> LoadAnswer) async -> LoadAnswer {
        while true {
            let start = ContinuousClock.now
            let answer = await request()
            recorder.record(operation, status: answer.status, latency: ContinuousClock.now - start)
            guard answer.status == 503, let wait = answer.retryAfter else { return answer }
            if let deadline, ContinuousClock.now + wait >= deadline { return answer }
            recorder.recordRetry()
            try? await Task.sleep(for: wait)
        }
    }

    /// 1...maxItems distinct products; with hot products, `hotShare` percent of picks go to them.
    private func pickLines(_ products: [LoadProduct], using random: inout UniqueID.Generator) -> [(UUID, Int)] {
        let count = Int.random(in: 1...options.maxItems, using: &random)
        var chosen: [UUID: Int] = [:]
        while chosen.count < count {
            let pool = options.hotProducts > 0 && Int.random(in: 0..<100, using: &random) < options.hotShare ? options.hotProducts : products.count
            chosen[products[Int.random(in: 0..<pool, using: &random)].id] = Int.random(in: 1...3, using: &random)
            if options.hotProducts > 0 && chosen.count >= options.hotProducts && count > options.hotProducts { break }
        }
        return chosen.map { ($0.key, $0.value) }
    }

    /// Takes a sample of the run every second (the report's timeline) and, with progress on,
    /// prints it as a line.
    private func sampleEverySecond(start: ContinuousClock.Instant) async -> [LoadReport.Sample] {
        let terminal = isatty(STDERR_FILENO) == 1
        var samples: [LoadReport.Sample] = []
        while !Task.isCancelled {
            do { try await Task.sleep(for: .seconds(1)) } catch { break }
            let p = recorder.takeProgress()
            let elapsed = (ContinuousClock.now - start).components.seconds
            samples.append(
                LoadReport.Sample(second: Int(elapsed), requests: p.windowRequests, errors: p.errors, p50Ms: p.p50Millis, p99Ms: p.p99Millis))
            guard options.progress else { continue }
            let line = String(
                format: "%4llds  %7d req/s  total %9d  errors %5d  p50 %7.2f ms  p99 %8.2f ms", elapsed, p.windowRequests, p.requests, p.errors,
                p.p50Millis, p.p99Millis)
            FileHandle.standardError.write(Data((terminal ? "\r\u{1B}[K" + line : line + "\n").utf8))
        }
        if terminal && options.progress { FileHandle.standardError.write(Data("\n".utf8)) }
        return samples
    }

    private func progress(_ message: String) {
        if options.progress { FileHandle.standardError.write(Data("intake load: \(message)\n".utf8)) }
    }
}
