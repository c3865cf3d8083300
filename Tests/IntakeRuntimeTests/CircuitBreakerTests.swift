import Testing

@testable import IntakeRuntime

@Suite("Circuit breaker (pure)")
struct CircuitBreakerTests {
    typealias Machine = CircuitBreaker.StateMachine
    let start = ContinuousClock.now

    @Test func aCallWaitingTooLongOpensItAndOneTrialFollowsTheInterval() {
        var breaker = Machine(openInterval: .seconds(1), slowCall: .seconds(2))
        let waiting = breaker.admit(now: start)
        #expect(waiting != nil)
        #expect(breaker.admit(now: start + .milliseconds(1900)) != nil, "a call answered within 2 s so far: still closed")
        #expect(breaker.admit(now: start + .seconds(2)) == nil, "a call has waited 2 s: refused at once")
        #expect(breaker.admit(now: start + .milliseconds(2900)) == nil)
        let trial = breaker.admit(now: start + .seconds(3))
        #expect(trial != nil, "the interval is over: one trial")
        #expect(breaker.admit(now: start + .seconds(3)) == nil, "nothing else while the trial is out")
        breaker.finished(trial ?? 0, failed: false, now: start + .seconds(3))
        #expect(breaker.phase == .closed)
        // The calls still out from before the trial count as waiting only from its answer.
        #expect(breaker.admit(now: start + .seconds(4)) != nil)
        breaker.finished(waiting ?? 0, failed: false, now: start + .seconds(4))
        #expect(breaker.admit(now: start + .seconds(5)) == nil, "a call from before the trial has now waited 2 s since")
    }

    @Test func aFailureOpensItAndAFailedTrialOpensItAgain() {
        var breaker = Machine(openInterval: .seconds(1), slowCall: .seconds(2))
        let call = breaker.admit(now: start)
        breaker.finished(call ?? 0, failed: true, now: start + .milliseconds(10))
        #expect(breaker.refuses(now: start + .milliseconds(500)))
        let trial = breaker.admit(now: start + .seconds(2))
        #expect(trial != nil)
        breaker.finished(trial ?? 0, failed: true, now: start + .seconds(2))
        #expect(breaker.refuses(now: start + .milliseconds(2500)), "the failed trial opened it for another interval")
        #expect(!breaker.refuses(now: start + .seconds(3)))
    }

    @Test func aTripOpensItWithoutACall() {
        var breaker = Machine(openInterval: .seconds(1), slowCall: .seconds(2))
        breaker.trip(now: start)
        #expect(breaker.refuses(now: start + .milliseconds(999)))
        #expect(!breaker.refuses(now: start + .seconds(1)))
    }

    /// A caller that was cancelled says nothing about the dependency; a failure does.
    @Test func aCancelledCallDoesNotOpenIt() async {
        let breaker = CircuitBreaker(openInterval: .seconds(3600), slowCall: .seconds(3600))
        _ = try? await breaker.call { () async throws -> Int in throw CancellationError() }
        #expect(!breaker.isOpen)
        _ = try? await breaker.call({ () async throws -> Int in throw RedisError(code: .errorReply, message: "WRONGTYPE") }, isFailure: RedisError.isUnavailable)
        #expect(!breaker.isOpen, "a command's own error")
        _ = try? await breaker.call { () async throws -> Int in throw RedisError(code: .timeout, message: "no answer") }
        #expect(breaker.isOpen)
    }
}
