import Foundation
import Testing

@testable import IntakeData
@testable import IntakeRuntime

/// The nightly incremental becomes a full backup once a week, so that pgBackRest's retention
/// (the last three fulls) expires old backups and their WAL.
@Suite struct BackupTypeTests {
    static func backup(_ type: String, daysAgo: Double, now: Date) -> PgBackRest.Backup {
        let start = now.addingTimeInterval(-daysAgo * 86_400)
        return PgBackRest.Backup(
            label: "label-\(daysAgo)", type: type, start: start, stop: start.addingTimeInterval(60), databaseBytes: 1, repositoryBytes: 1,
            walStart: "0", walStop: "0")
    }

    @Test func anIncrementalIsAFullOnceTheNewestFullIsAWeekOld() {
        let now = Date()
        func type(_ existing: [PgBackRest.Backup], requested: String = "incr") -> String {
            BackupJobs.backupType(requested: requested, existing: existing, now: now)
        }
        #expect(type([]) == "full", "no full yet")
        #expect(type([Self.backup("full", daysAgo: 1, now: now)]) == "incr")
        #expect(type([Self.backup("full", daysAgo: 6.4, now: now), Self.backup("incr", daysAgo: 0.5, now: now)]) == "incr")
        // A week after the last full's start, less the seconds the job took to start it.
        #expect(type([Self.backup("full", daysAgo: 7 - 10.0 / 86_400, now: now), Self.backup("incr", daysAgo: 1, now: now)]) == "full")
        // The newest full counts, not the first.
        #expect(type([Self.backup("full", daysAgo: 20, now: now), Self.backup("full", daysAgo: 2, now: now), Self.backup("incr", daysAgo: 1, now: now)]) == "incr")
        // Differentials and incrementals are not fulls.
        #expect(type([Self.backup("full", daysAgo: 9, now: now), Self.backup("diff", daysAgo: 1, now: now)]) == "full")
        // What was asked for by hand is taken as asked.
        #expect(type([Self.backup("full", daysAgo: 30, now: now)], requested: "diff") == "diff")
        #expect(type([], requested: "full") == "full")
    }
}
