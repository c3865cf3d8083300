/// A non-Sendable value (a libpq or hiredis connection) that only ever lives on one
/// `BlockingThread`.
///
/// `@unchecked Sendable` is sound because `value` is read and written solely inside closures
/// run by `thread`, which runs one closure at a time; this type offers no other access. The
/// references passed across tasks are to the box, never to the value.
final class ThreadConfined<Value>: @unchecked Sendable {
    private var value: Value
    let thread: BlockingThread

    init(_ value: Value, thread: BlockingThread) {
        self.value = value
        self.thread = thread
    }

    /// Runs `body` with the value, on the owning thread.
    func run<T: Sendable>(_ body: @escaping @Sendable (Value) throws -> T) async throws -> T {
        try await thread.run { try body(self.value) }
    }

    /// Queues `body` on the owning thread without waiting for it.
    func submit(_ body: @escaping @Sendable (Value) -> Void) {
        thread.submit { body(self.value) }
    }
}
