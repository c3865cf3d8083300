import Foundation
import IntakeRuntime
import Testing

@testable import IntakeData

@Suite("Pipeline logic without I/O")
struct PipelineLogicTests {
    @Test func logicalDatesParseOnlyRealDays() throws {
        #expect(LogicalDate("2026-11-28")?.description == "2026-11-28")
        #expect(LogicalDate("2024-02-29") != nil)
        for bad in ["2026-02-29", "2026-13-01", "2026-11-31", "26-11-28", "2026/11/28", "2026-11-28T00:00:00Z", "", "2026-1-028", "２026-11-28"] {
            #expect(LogicalDate(bad) == nil, "\(bad)")
        }
    }

    @Test func aDayIsUTCMidnightToMidnight() throws {
        let day = try #require(LogicalDate("2026-11-28"))
        #expect(day.start == Date(timeIntervalSince1970: 1_795_824_000))
        #expect(day.end.timeIntervalSince(day.start) == 86_400)
        #expect(LogicalDate(containing: day.end.addingTimeInterval(-0.001)) == day)
        #expect(LogicalDate(containing: day.end) == day.adding(days: 1))
        #expect(try #require(LogicalDate("2026-12-31")).adding(days: 1).description == "2027-01-01")
    }

    @Test func rangesIncludeBothEnds() throws {
        let from = try #require(LogicalDate("2026-02-27"))
        let to = try #require(LogicalDate("2026-03-01"))
        #expect(LogicalDate.days(from: from, through: to).map(\.description) == ["2026-02-27", "2026-02-28", "2026-03-01"])
        #expect(LogicalDate.days(from: to, through: from).isEmpty)
        #expect(LogicalDate.count(from: from, through: to) == 3)
    }

    @Test func reportRangesAreCheckedAndNamed() throws {
        #expect(throws: Never.self) { try DailySalesReport.validate(from: "2025-01-01", to: "2026-01-01") }  // 366 days
        let tooLong = #expect(throws: DataError.self) { try DailySalesReport.validate(from: "2025-01-01", to: "2026-01-02") }
        #expect(tooLong?.subject == "to")
        #expect((#expect(throws: DataError.self) { try DailySalesReport.validate(from: "2025-1-1", to: "2026-01-02") })?.subject == "from")
        #expect((#expect(throws: DataError.self) { try DailySalesReport.validate(from: "2026-01-02", to: "2026-01-01") })?.subject == "to")
        #expect((#expect(throws: DataError.self) { try DailySalesReport.validate(from: nil, to: "2026-01-01") })?.subject == "from")
    }

    @Test func runRequestsAreCheckedAndNamed() throws {
        let today = try #require(LogicalDate("2026-11-29"))
        #expect(try EtlRuns.validate(pipeline: "daily_sales", date: "2026-11-29", today: today) == today)
        #expect(try EtlRuns.validate(pipeline: "daily_sales", date: "2026-11-28", today: today) == today.adding(days: -1))
        let future = #expect(throws: DataError.self) { try EtlRuns.validate(pipeline: "daily_sales", date: "2026-11-30", today: today) }
        #expect(future?.subject == "date" && future?.code == .validation)
        #expect((#expect(throws: DataError.self) { try EtlRuns.validate(pipeline: "daily_sales", date: "28/11/2026", today: today) })?.subject == "date")
        #expect((#expect(throws: DataError.self) { try EtlRuns.validate(pipeline: "weekly", date: "2026-11-28", today: today) })?.subject == "pipeline")
    }

    @Test func centsAreExact() {
        #expect(Cents.parse("123.45") == 12_345)
        #expect(Cents.parse("0.1") == 10)
        #expect(Cents.parse("7") == 700)
        #expect(Cents.parse("-2.05") == -205)
        for bad in ["1.234", "abc", "", ".5", "1.", "1e3"] { #expect(Cents.parse(bad) == nil, "\(bad)") }
        #expect(Cents.format(12_345) == "123.45")
        #expect(Cents.format(5) == "0.05")
        #expect(Cents.format(0) == "0.00")
        #expect(Cents.format(-205) == "-2.05")
    }

    @Test func reconciliationNamesEachMismatch() {
        let source = Reconciliation.Totals(revenueCents: 10_050, units: 7)
        #expect(Reconciliation(source: source, loaded: source).mismatch == nil)
        let zero = Reconciliation.Totals(revenueCents: 0, units: 0)
        #expect(Reconciliation(source: zero, loaded: zero).mismatch == nil)
        let off = Reconciliation(source: source, loaded: .init(revenueCents: 10_049, units: 8)).mismatch ?? ""
        #expect(off.contains("revenue loaded 100.49 != orders' amount 100.50"))
        #expect(off.contains("units loaded 8 != items' quantities 7"))
    }

    @Test func stepsRunInOrder() {
        var steps: [DailySales.Step] = [.extract]
        while let next = steps.last?.next { steps.append(next) }
        #expect(steps == [.extract, .anonymize, .aggregate, .load])
    }

    @Test func theScheduleRunsTheDayBeforeItsSlot() throws {
        let job = Job(
            id: 1, kind: EtlJobs.scheduleKind, queue: EtlJobs.queue, args: "{}", attempt: 1, maxAttempts: 5,
            uniqueKey: "schedule:etl.daily_sales:2026-11-29 02:00:00.000000+00")
        // Even when the job runs late, the next day.
        let late = try #require(LogicalDate("2026-11-30")).start.addingTimeInterval(3600)
        #expect(EtlJobs.logicalDate(forScheduledJob: job, now: late).description == "2026-11-28")
        var manual = job
        manual.uniqueKey = nil
        #expect(EtlJobs.logicalDate(forScheduledJob: manual, now: late).description == "2026-11-29")
    }

    /// After an outage the scheduler enqueues one job, for the oldest missed slot, and its row
    /// waits for the first slot after the tick: that job runs its own day and the day of
    /// every slot in between, up to yesterday; a job on time runs its own day only.
    @Test func aLateScheduledJobCatchesUpTheDaysItsOutageSkipped() throws {
        let schedule = try CronSchedule("0 2 * * *")
        func job(slot: String) -> Job {
            Job(
                id: 1, kind: EtlJobs.scheduleKind, queue: EtlJobs.queue, args: "{}", attempt: 1, maxAttempts: 5,
                uniqueKey: "schedule:etl.daily_sales:\(slot) 02:00:00.000000+00")
        }
        func at(_ day: String, hour: Double) throws -> Date { try #require(LogicalDate(day)).start.addingTimeInterval(hour * 3600) }
        func dates(_ job: Job, next: Date?, now: Date? = nil) throws -> [String] {
            EtlJobs.logicalDates(forScheduledJob: job, schedule: schedule, nextSlot: next, now: try now ?? at("2026-11-30", hour: 3)).map(\.description)
        }
        // Ticked at 03:00 on the 30th after five days down: the row waits for the 1st, 02:00.
        #expect(try dates(job(slot: "2026-11-25"), next: at("2026-12-01", hour: 2))
            == ["2026-11-24", "2026-11-25", "2026-11-26", "2026-11-27", "2026-11-28", "2026-11-29"])
        // Ticked at 01:00 on the 30th: the row waits for the 30th, 02:00, whose day is not due.
        #expect(try dates(job(slot: "2026-11-25"), next: at("2026-11-30", hour: 2)).last == "2026-11-28")
        // On time, even when the job itself runs late: its own day only.
        #expect(try dates(job(slot: "2026-11-25"), next: at("2026-11-26", hour: 2), now: at("2026-11-29", hour: 9)) == ["2026-11-24"])
        // A weekly schedule catches up its own days only.
        let weekly = try CronSchedule("0 2 * * 1")
        #expect(EtlJobs.logicalDates(
            forScheduledJob: job(slot: "2026-11-16"), schedule: weekly, nextSlot: try at("2026-12-07", hour: 2), now: try at("2026-11-30", hour: 3)
        ).map(\.description) == ["2026-11-15", "2026-11-22", "2026-11-29"])
        // A year down catches up the last month, up to yesterday.
        let caughtUp = try dates(job(slot: "2025-11-25"), next: at("2026-12-01", hour: 2))
        #expect(caughtUp.count == 31 && caughtUp.first == "2026-10-30" && caughtUp.last == "2026-11-29")
        // No schedule row, or a job enqueued by hand: one day.
        #expect(try dates(job(slot: "2026-11-25"), next: nil) == ["2026-11-24"])
        var manual = job(slot: "2026-11-25")
        manual.uniqueKey = nil
        #expect(try dates(manual, next: at("2026-12-01", hour: 2)) == ["2026-11-29"])
    }

    @Test func theRunRecordHasEveryFieldOfTheContract() throws {
        let run = EtlRun(
            id: try #require(UUID(uuidString: "0193a1b2-0000-7000-8000-000000000001")), pipeline: "daily_sales",
            logicalDate: try #require(LogicalDate("2026-11-28")), status: .queued, trigger: .manual, createdAt: Date())
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.json().utf8), options: [.fragmentsAllowed]) as? [String: Any])
        #expect(Set(object.keys) == [
            "id", "pipeline", "logical_date", "status", "trigger", "started_at", "finished_at", "orders_extracted", "rows_loaded",
            "revenue", "output", "error",
        ])
        #expect(object["id"] as? String == "0193a1b2-0000-7000-8000-000000000001")
        #expect(object["logical_date"] as? String == "2026-11-28")
        #expect(object["status"] as? String == "queued")
        #expect(object["revenue"] is NSNull)
        var done = run
        done.status = .succeeded
        done.revenue = "123.40"
        done.output = DailySales.outputName(run.logicalDate)
        let doneObject = try #require(try JSONSerialization.jsonObject(with: Data(done.json().utf8)) as? [String: Any])
        #expect(doneObject["revenue"] as? String == "123.40")
        #expect(doneObject["output"] as? String == "lake/daily_sales/dt=2026-11-28/part-0.parquet")
    }

    @Test func pipelineFailedCarriesTheContractFields() throws {
        let run = EtlRun(
            id: UUIDv7.make(), pipeline: "daily_sales", logicalDate: try #require(LogicalDate("2026-11-28")), status: .failed,
            trigger: .schedule, createdAt: Date())
        let event = PipelineEvents(typePrefix: "org.test").pipelineFailed(run, error: "boom \"quoted\"")
        #expect(event.event.type == "org.test.pipeline.failed")
        let data = try #require(try JSONSerialization.jsonObject(with: Data(event.event.data.utf8)) as? [String: String])
        #expect(data == ["runId": run.id.uuidString.lowercased(), "pipeline": "daily_sales", "logicalDate": "2026-11-28", "error": "boom \"quoted\""])
    }

    @Test func settingsComeFromTheEnvironment() throws {
        let base = URL(fileURLWithPath: "/srv/intake")
        let defaults = try DataSettings.load(from: [:], dataDirectory: base)
        #expect(defaults.lakeDirectory.path == "/srv/intake/lake")
        #expect(defaults.warehousePath.path == "/srv/intake/warehouse.duckdb")
        #expect(defaults.etlSchedule.expression == "0 2 * * *")
        let custom = try DataSettings.load(
            from: ["INTAKE_LAKE_DIR": "/lake", "INTAKE_WAREHOUSE_PATH": "/w.duckdb", "INTAKE_ETL_SCHEDULE": "30 3 * * *", "INTAKE_DQ_WARN": "stock.conservation, orders.user_id.completeness"],
            dataDirectory: base)
        #expect(custom.lakeDirectory.path == "/lake")
        #expect(custom.warehousePath.path == "/w.duckdb")
        #expect(custom.etlSchedule.expression == "30 3 * * *")
        #expect(custom.dqWarn == ["stock.conservation", "orders.user_id.completeness"])
        #expect(throws: DataError.self) { try DataSettings.load(from: ["INTAKE_DQ_WARN": "orders.id.uniq"], dataDirectory: base) }
        #expect(throws: DataError.self) { try DataSettings.load(from: ["INTAKE_ETL_SCHEDULE": "every day"], dataDirectory: base) }
    }

    @Test func dotCommandsAreNotSQL() {
        #expect(throws: DataError.self) { try ReadOnlyWarehouse.refuseDotCommands(".shell ls") }
        #expect(throws: DataError.self) { try ReadOnlyWarehouse.refuseDotCommands("SELECT 1;\n  .output /tmp/x") }
        #expect(throws: Never.self) { try ReadOnlyWarehouse.refuseDotCommands("SELECT '.x' AS a") }
    }
}

@Suite("What a step's end leads to")
struct StepDecisionTests {
    typealias S = DailySales

    @Test func doneStepsQueueTheNextAndTheLoadSucceeds() {
        #expect(S.decide(.stepDone(.extract), attempt: 1, maxAttempts: 3) == .queueNext(.anonymize))
        #expect(S.decide(.stepDone(.anonymize), attempt: 2, maxAttempts: 3) == .queueNext(.aggregate))
        #expect(S.decide(.stepDone(.aggregate), attempt: 1, maxAttempts: 3) == .queueNext(.load))
        #expect(S.decide(.stepDone(.load), attempt: 3, maxAttempts: 3) == .markSucceeded)
    }

    @Test func aMismatchFailsTheRunAtOnceWithoutRetry() {
        #expect(S.decide(.reconciliationFailed("off by 1.00"), attempt: 1, maxAttempts: 3) == .failRun("off by 1.00"))
    }

    @Test func errorsRetryUntilTheLastAttemptThenFailTheRun() {
        #expect(S.decide(.stepFailed("disk full"), attempt: 1, maxAttempts: 3) == .retry)
        #expect(S.decide(.stepFailed("disk full"), attempt: 2, maxAttempts: 3) == .retry)
        #expect(S.decide(.stepFailed("disk full"), attempt: 3, maxAttempts: 3) == .failRunAndGiveUp("disk full"))
    }

    @Test func lostStagingStartsOver() {
        #expect(S.decide(.stagedInputMissing, attempt: 1, maxAttempts: 3) == .restartFromExtract)
    }
}
