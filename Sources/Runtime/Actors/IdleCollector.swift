import ServiceLifecycle

/// Passivates idle and excess activations of its registries periodically (Orleans'
/// `ActivationCollector`).
public struct IdleCollector: Service {
    let registries: [any PassivatingRegistry]
    let interval: Duration

    public init(registries: [any PassivatingRegistry], interval: Duration = .seconds(10)) {
        self.registries = registries
        self.interval = interval
    }

    public func run() async throws {
        try await PeriodicTask.run(every: interval) {
            for registry in registries {
                await registry.collect(now: .now)
            }
        }
    }
}
