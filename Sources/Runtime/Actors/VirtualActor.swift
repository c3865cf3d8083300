/// An actor addressed by key and activated on demand by an `ActorRegistry` (Orleans' grain).
///
/// The registry delivers messages one at a time, each to completion — including every
/// `await` inside `handle` — in arrival order. So although Swift actors are re-entrant at
/// each `await`, no two messages of one activation ever interleave: a message sent while an
/// earlier one awaits its write waits too, and then sees that write's result.
public protocol VirtualActor: Actor {
    associatedtype Key: Hashable & Sendable
    associatedtype Message: Sendable
    associatedtype Reply: Sendable
    /// What activation needs (database clients, configuration); shared by every activation.
    associatedtype Context: Sendable

    /// Creates the activation for `key`, loading its state. Runs before its first message; if
    /// it throws, that message fails with the error and the next message tries again.
    static func activate(key: Key, context: Context) async throws -> Self

    func handle(_ message: Message) async throws -> Reply

    /// True when `handle` never suspends once the activation is loaded (no `await` inside):
    /// then a message that finds the activation idle is handled in the sender's own task —
    /// one hop onto the actor, no mailbox entry, continuation or drain task — and is still
    /// serial with every other message (the activation is claimed meanwhile). A handler that
    /// awaits must not claim it: a sender's cancellation would reach into its awaits.
    static var handlesWithoutSuspending: Bool { get }

    /// Called once when the activation is passivated (idle, or evicted past the cap), after
    /// its mailbox is empty.
    func deactivate() async
}

extension VirtualActor {
    public func deactivate() async {}
    public static var handlesWithoutSuspending: Bool { false }
}
