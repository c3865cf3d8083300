import Foundation
import Testing

@testable import IntakeRuntime

@Suite struct JobProducerStateMachineTests {
    typealias Machine = JobProducer.StateMachine

    @Test func firstWakeFetchesAllFreeSlots() {
        var machine = Machine(concurrency: 10)
        #expect(machine.wakeUp() == .fetch(limit: 10))
        #expect(machine.wakeUp() == .none, "one fetch at a time")
    }

    @Test func neverFetchesMoreThanFreeSlots() {
        var machine = Machine(concurrency: 10, fetchThreshold: 1)
        _ = machine.wakeUp()
        #expect(machine.fetched(requested: 10, received: 10) == .none, "no free slot")
        #expect(machine.jobFinished() == .fetch(limit: 1))
        #expect(machine.jobFinished() == .none, "fetch in flight")
        #expect(machine.fetched(requested: 1, received: 1) == .fetch(limit: 1))
        // Property: over a random history, running + requested never exceeds concurrency.
        var random = SystemRandomNumberGenerator()
        var checked = Machine(concurrency: 7, fetchThreshold: 2)
        var inFlight: Int?
        var running = 0
        func apply(_ action: Machine.Action) {
            if case .fetch(let limit) = action {
                #expect(inFlight == nil)
                #expect(running + limit <= 7)
                inFlight = limit
            }
        }
        apply(checked.wakeUp())
        for _ in 0..<10_000 {
            switch Int.random(in: 0..<3, using: &random) {
            case 0:
                apply(checked.wakeUp())
            case 1:
                if let requested = inFlight {
                    let received = Int.random(in: 0...requested, using: &random)
                    inFlight = nil
                    running += received
                    apply(checked.fetched(requested: requested, received: received))
                }
            default:
                if running > 0 {
                    running -= 1
                    apply(checked.jobFinished())
                }
            }
            #expect(checked.running == running)
        }
    }

    @Test func shortFetchMeansDrainedUntilTheNextWake() {
        var machine = Machine(concurrency: 4, fetchThreshold: 1)
        _ = machine.wakeUp()
        #expect(machine.fetched(requested: 4, received: 1) == .none)
        #expect(machine.jobFinished() == .none, "nothing more to fetch until woken")
        #expect(machine.wakeUp() == .fetch(limit: 4))
    }

    @Test func wakeDuringAFetchIsNotLostWhenTheFetchComesBackShort() {
        var machine = Machine(concurrency: 4, fetchThreshold: 1)
        _ = machine.wakeUp()
        #expect(machine.wakeUp() == .none)
        #expect(machine.fetched(requested: 4, received: 0) == .fetch(limit: 4))
    }

    @Test func busyProducerWaitsForTheThresholdBeforeFetching() {
        var machine = Machine(concurrency: 100)
        #expect(machine.fetchThreshold == 25)
        _ = machine.wakeUp()
        _ = machine.fetched(requested: 100, received: 100)
        for _ in 0..<24 { #expect(machine.jobFinished() == .none) }
        #expect(machine.jobFinished() == .fetch(limit: 25))
    }

    @Test func stoppedProducerFetchesNothingAndReportsIdleWhenDrained() {
        var machine = Machine(concurrency: 2)
        _ = machine.wakeUp()
        _ = machine.fetched(requested: 2, received: 2)
        machine.stop()
        #expect(machine.jobFinished() == .none)
        #expect(!machine.isIdle)
        #expect(machine.wakeUp() == .none)
        _ = machine.jobFinished()
        #expect(machine.isIdle)
    }
}

@Suite struct RetryScheduleTests {
    @Test func doublesFromTheBaseUpToTheCap() {
        let schedule = RetrySchedule(base: .seconds(1), cap: .seconds(60), jitter: 0.2)
        #expect(schedule.delay(afterAttempt: 1, unit: 0.5) == .seconds(1))
        #expect(schedule.delay(afterAttempt: 2, unit: 0.5) == .seconds(2))
        #expect(schedule.delay(afterAttempt: 5, unit: 0.5) == .seconds(16))
        #expect(schedule.delay(afterAttempt: 7, unit: 0.5) == .seconds(60))
        #expect(schedule.delay(afterAttempt: 1000, unit: 0.5) == .seconds(60))
    }

    @Test func jitterSpreadsWithinTheBand() {
        let schedule = RetrySchedule(base: .seconds(10), cap: .seconds(3600), jitter: 0.2)
        #expect(schedule.delay(afterAttempt: 1, unit: 0) == .seconds(8))
        #expect(schedule.delay(afterAttempt: 1, unit: 0.999_999) >= .milliseconds(11_999))
        for _ in 0..<1000 {
            let delay = schedule.delay(afterAttempt: 3)
            #expect(delay >= .seconds(32) && delay <= .seconds(48))
        }
    }
}

@Suite struct JobFinalizationTests {
    struct Failure: Error, CustomStringConvertible { var description: String { "boom" } }
    let schedule = RetrySchedule(base: .seconds(1), cap: .seconds(60), jitter: 0)

    func job(attempt: Int, max: Int = 3) -> Job {
        Job(id: 7, kind: "k", queue: "default", args: "{}", attempt: attempt, maxAttempts: max)
    }

    @Test func completedAndDiscardedPassThrough() {
        #expect(JobFinalization.decide(job(attempt: 1), result: .success(.completed), schedule: schedule, unit: 0).kind == .completed)
        let discarded = JobFinalization.decide(job(attempt: 1), result: .success(.discard(reason: "bad")), schedule: schedule, unit: 0)
        #expect(discarded.kind == .discarded)
        #expect(discarded.error == "bad")
    }

    @Test func errorsRetryOnTheScheduleKeepingTheError() {
        let finalization = JobFinalization.decide(job(attempt: 2), result: .failure(Failure()), schedule: schedule, unit: 0.5)
        #expect(finalization.kind == .retry(after: .seconds(2)))
        #expect(finalization.error == "boom")
        #expect(finalization.attempt == 2)
    }

    @Test func lastAttemptDiscardsInsteadOfRetrying() {
        let failed = JobFinalization.decide(job(attempt: 3), result: .failure(Failure()), schedule: schedule, unit: 0.5)
        #expect(failed.kind == .discarded)
        #expect(failed.error?.hasPrefix("boom") == true)
        let asked = JobFinalization.decide(job(attempt: 3), result: .success(.retry(after: .seconds(5))), schedule: schedule, unit: 0.5)
        #expect(asked.kind == .discarded)
    }
}

@Suite struct CronScheduleTests {
    func utc(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

    @Test func nightlyAtTwo() throws {
        let cron = try CronSchedule("0 2 * * *")
        #expect(cron.next(after: utc("2026-11-27T17:40:00Z")) == utc("2026-11-28T02:00:00Z"))
        #expect(cron.next(after: utc("2026-11-28T02:00:00Z")) == utc("2026-11-29T02:00:00Z"), "strictly after")
        #expect(cron.next(after: utc("2026-11-28T01:59:59Z")) == utc("2026-11-28T02:00:00Z"))
    }

    @Test func stepsRangesListsAndWeekdays() throws {
        #expect(try CronSchedule("*/15 * * * *").next(after: utc("2026-11-27T17:40:00Z")) == utc("2026-11-27T17:45:00Z"))
        #expect(try CronSchedule("0 9-17/4 * * *").next(after: utc("2026-11-27T13:00:00Z")) == utc("2026-11-27T17:00:00Z"))
        // 2026-11-27 is a Friday; next Monday 08:30.
        #expect(try CronSchedule("30 8 * * 1").next(after: utc("2026-11-27T17:40:00Z")) == utc("2026-11-30T08:30:00Z"))
        #expect(try CronSchedule("0 0 * * 7").next(after: utc("2026-11-27T17:40:00Z")) == utc("2026-11-29T00:00:00Z"), "7 is Sunday")
        #expect(try CronSchedule("0 0 1,15 * *").next(after: utc("2026-11-27T17:40:00Z")) == utc("2026-12-01T00:00:00Z"))
        #expect(try CronSchedule("0 0 29 2 *").next(after: utc("2026-11-27T17:40:00Z")) == utc("2028-02-29T00:00:00Z"))
        // Both day fields restricted: either matches (the 1st, or any Friday).
        #expect(try CronSchedule("0 12 1 * 5").next(after: utc("2026-11-28T00:00:00Z")) == utc("2026-12-01T12:00:00Z"))
    }

    @Test(arguments: [
        "", "* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 8", "5-1 * * * *", "*/0 * * * *", "a * * * *",
        // Parse, but would never fire.
        "0 0 31 2 *", "0 2 30,31 2 *", "0 0 31 4,6,9,11 *",
    ])
    func invalidExpressionsAreRejected(expression: String) {
        #expect(throws: CronError.self) { try CronSchedule(expression) }
    }

    @Test func intervalSlotsAreWholeMultiples() {
        let every = PeriodicJob.Schedule.every(.seconds(1))
        #expect(every.next(after: Date(timeIntervalSince1970: 100.2)) == Date(timeIntervalSince1970: 101))
        #expect(every.next(after: Date(timeIntervalSince1970: 101)) == Date(timeIntervalSince1970: 102))
    }
}
