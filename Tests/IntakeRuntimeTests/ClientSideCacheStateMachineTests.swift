import Testing

@testable import IntakeRuntime

/// The client-side cache's decisions without Redis: when it may answer from memory and when
/// a read's result may be kept.
@Suite struct ClientSideCacheStateMachineTests {
    typealias Machine = ClientSideCache.StateMachine

    func tracking(capacity: Int = 10) -> Machine {
        var machine = Machine(capacity: capacity, prefixes: [""])
        machine.trackingStarted()
        return machine
    }

    func ticket(_ lookup: Machine.Lookup) throws -> Machine.Ticket {
        guard case .miss(let ticket) = lookup else {
            Issue.record("expected a miss, got \(lookup)")
            throw CancellationError()
        }
        return ticket
    }

    @Test func keysOutsideThePrefixesAreNeverKept() {
        var machine = Machine(capacity: 10, prefixes: ["s:", "t:"])
        machine.trackingStarted()
        let result1 = machine.lookup("x:1")
        #expect(result1 == .bypass)
        let result2 = machine.lookup("t:1")
        #expect(result2 != .bypass)
        let result3 = machine.lookup("s:1")
        #expect(result3 != .bypass)
    }

    @Test func answersNothingFromMemoryUntilInvalidationsFlow() {
        var machine = Machine(capacity: 10, prefixes: [""])
        let result4 = machine.lookup("a")
        #expect(result4 == .bypass)
        #expect(machine.entries.isEmpty)
        machine.trackingStarted()
        let result5 = machine.lookup("a")
        #expect(result5 != .bypass)
    }

    @Test func aReadIsKeptAndAnsweredUntilItsKeyIsInvalidated() throws {
        var machine = tracking()
        let read = try ticket(machine.lookup("a"))
        let result6 = machine.fill(read, with: [1])
        #expect(result6)
        let result7 = machine.lookup("a")
        #expect(result7 == .hit([1]))
        machine.invalidate(["b"])
        let result8 = machine.lookup("a")
        #expect(result8 == .hit([1]))
        machine.invalidate(["a"])
        _ = try ticket(machine.lookup("a"))
    }

    /// A missing key is an answer too (a revoked session stays refused without a round trip).
    @Test func noSuchKeyIsKept() throws {
        var machine = tracking()
        let result9 = machine.fill(try ticket(machine.lookup("gone")), with: nil)
        #expect(result9)
        let result10 = machine.lookup("gone")
        #expect(result10 == .hit(nil))
    }

    /// The race Redis's documentation names: the read's answer predates a write whose
    /// invalidation arrived while the read was in flight. Keeping it would serve the old value
    /// until the next change — forever, for a deleted session.
    @Test func aReadOvertakenByAnInvalidationOfItsKeyIsNotKept() throws {
        var machine = tracking()
        let read = try ticket(machine.lookup("a"))
        machine.invalidate(["a"])
        let result11 = machine.fill(read, with: [1])
        #expect(!result11)
        _ = try ticket(machine.lookup("a"))
    }

    @Test func aReadOvertakenByAFlushOrALostConnectionIsNotKept() throws {
        var machine = tracking()
        let first = try ticket(machine.lookup("a"))
        machine.invalidateAll()
        let result12 = machine.fill(first, with: [1])
        #expect(!result12)

        let second = try ticket(machine.lookup("a"))
        machine.trackingLost()
        machine.trackingStarted()
        let result13 = machine.fill(second, with: [1])
        #expect(!result13)
        _ = try ticket(machine.lookup("a"))
    }

    /// Two reads of one key: only the later one's answer is kept, so a read that failed (and
    /// never fills) does not keep the key out of the cache.
    @Test func aLaterReadSupersedesAnEarlierOne() throws {
        var machine = tracking()
        let earlier = try ticket(machine.lookup("a"))
        let later = try ticket(machine.lookup("a"))
        let result14 = machine.fill(earlier, with: [1])
        #expect(!result14)
        let result15 = machine.fill(later, with: [2])
        #expect(result15)
        let result16 = machine.lookup("a")
        #expect(result16 == .hit([2]))
    }

    @Test func losingTrackingForgetsEverythingAndStopsAnswering() throws {
        var machine = tracking()
        let result17 = machine.fill(try ticket(machine.lookup("a")), with: [1])
        #expect(result17)
        machine.trackingLost()
        let result18 = machine.lookup("a")
        #expect(result18 == .bypass)
        #expect(machine.entries.isEmpty)
        machine.trackingStarted()
        _ = try ticket(machine.lookup("a"))
    }

    @Test func aFlushForgetsEverything() throws {
        var machine = tracking()
        let result19 = machine.fill(try ticket(machine.lookup("a")), with: [1])
        #expect(result19)
        let result20 = machine.fill(try ticket(machine.lookup("b")), with: [2])
        #expect(result20)
        machine.invalidateAll()
        #expect(machine.entries.isEmpty)
    }

    @Test func holdsAtMostCapacityKeys() throws {
        var machine = tracking(capacity: 3)
        for key in ["a", "b", "c", "d", "e"] {
            let result21 = machine.fill(try ticket(machine.lookup(key)), with: [0])
            #expect(result21)
            #expect(machine.entries.count <= 3)
        }
        let result22 = machine.lookup("e")
        #expect(result22 == .hit([0]))
    }

    /// What Redis does not announce (`SWAPDB`) is bounded by the age of what is kept.
    @Test func aValueIsAnsweredOnlyUntilItsMaximumAge() throws {
        var machine = Machine(capacity: 10, prefixes: [""], maximumAge: .seconds(1))
        machine.trackingStarted()
        let readAt = ContinuousClock.now
        let first = try ticket(machine.lookup("a", now: readAt))
        let filled = machine.fill(first, with: [1], now: readAt)
        #expect(filled)
        let fresh = machine.lookup("a", now: readAt + .milliseconds(999))
        #expect(fresh == .hit([1]))
        _ = try ticket(machine.lookup("a", now: readAt + .seconds(1)))
    }

    @Test func invalidationMessagesAreRead() {
        let channel = RedisValue.bulk(Array(RedisInvalidationListener.channel.utf8))
        let message = RedisValue.bulk(Array("message".utf8))
        #expect(RedisInvalidationListener.event(of: .array([message, channel, .array([.bulk([0x61]), .bulk([0x62])])])) == .invalidated(["a", "b"]))
        #expect(RedisInvalidationListener.event(of: .array([message, channel, .null])) == .invalidatedAll)
        #expect(RedisInvalidationListener.event(of: .array([.bulk(Array("pong".utf8)), .bulk([])])) == nil)
        #expect(RedisInvalidationListener.event(of: .array([message, .bulk(Array("other".utf8)), .array([.bulk([0x61])])])) == nil)
    }
}
