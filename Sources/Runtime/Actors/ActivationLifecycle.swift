/// Where an activation is in its life (after Orleans' `ActivationState`).
///
/// `creating` → `activating` (loading state for the first message) → `valid` →
/// `deactivating` (passivated: no longer in the registry; messages that still reach it are
/// sent to a fresh activation) → `invalid`. A failed activation returns to `creating`.
@usableFromInline
enum ActivationLifecycle: Sendable, Equatable {
    case creating
    case activating
    case valid
    case deactivating
    case invalid
}
