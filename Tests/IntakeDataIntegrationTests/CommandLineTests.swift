import Foundation
import IntakeActors
import IntakeData
import IntakeRuntime
import IntakeTestSupport
import Testing

extension DataIntegrationTests {
    /// The `intake` binary's data commands, as operators run them (exit codes, one-line errors).
    @Suite("intake etl / warehouse / jobs")
    struct CommandLineTests {
        struct Outcome {
            var status: Int32
            var standardOutput: String
            var standardError: String
        }

        /// Starts `intake` with `arguments` against the database at `url`.
        static func start(
            _ arguments: [String], url: String, dataDirectory: URL, extra: [String: String] = [:], executable: URL = ServerProcess.binary()
        ) throws -> (Process, URL, URL) {
            let process = Process()
            process.executableURL = executable
            process.arguments = arguments
            var environment = ProcessInfo.processInfo.environment
            environment["INTAKE_DATABASE_URL"] = url
            environment["INTAKE_REDIS_URL"] = try TestServices.redisURL()
            environment["INTAKE_DATA_DIR"] = dataDirectory.path
            environment["INTAKE_LOG_LEVEL"] = "error"
            process.environment = environment.merging(extra) { $1 }
            let out = dataDirectory.appendingPathComponent("out-\(UUID().uuidString).txt")
            let err = dataDirectory.appendingPathComponent("err-\(UUID().uuidString).txt")
            FileManager.default.createFile(atPath: out.path, contents: nil)
            FileManager.default.createFile(atPath: err.path, contents: nil)
            process.standardOutput = try FileHandle(forWritingTo: out)
            process.standardError = try FileHandle(forWritingTo: err)
            process.standardInput = FileHandle.nullDevice
            try process.run()
            return (process, out, err)
        }

        static func wait(_ started: (Process, URL, URL)) async throws -> Outcome {
            let (process, out, err) = started
            while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
            return Outcome(
                status: process.terminationStatus, standardOutput: try String(contentsOf: out, encoding: .utf8),
                standardError: try String(contentsOf: err, encoding: .utf8))
        }

        static func intake(_ arguments: [String], url: String, dataDirectory: URL, extra: [String: String] = [:]) async throws -> Outcome {
            try await wait(try start(arguments, url: url, dataDirectory: dataDirectory, extra: extra))
        }

        /// A database of its own (the CLI uses the default schema), migrated, with a scratch data
        /// directory.
        static func withDatabase(_ body: (String, PostgresClient, URL) async throws -> Void) async throws {
            try await TestServices.withDatabase { url in
                let db = PostgresClient(configuration: try PostgresConfiguration(url: url, poolSize: 4))
                defer { db.shutdown() }
                try await Migrator(client: db).migrate([try RuntimeMigrations.set(), try DomainMigrations.set(), try DataMigrations.set()])
                let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("intake-cli-\(UUID().uuidString)")
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(at: directory) }
                try await body(url, db, directory)
            }
        }

        /// `count` paid orders of one unit at 2.50 on `day`, in one statement.
        static func seed(_ db: PostgresClient, day: String, count: Int) async throws {
            try await db.query(
                "INSERT INTO products (id, sku, name, price, stock_shards) VALUES ('00000000-0000-7000-8000-000000000001', 'TEA-1', 'Tea', 2.50, 1) ON CONFLICT DO NOTHING")
            try await db.query(
                """
                WITH o AS (
                    INSERT INTO orders (id, user_id, status, amount, region, created_at, updated_at, expires_at)
                    SELECT gen_random_uuid(), gen_random_uuid(), 'PAID', 2.50, (ARRAY['north', 'south', NULL])[1 + n % 3],
                        $1::date + (n % 86400) * interval '1 second', now(), now()
                    FROM generate_series(1, $2) AS n RETURNING id
                )
                INSERT INTO order_items (order_id, product_id, shard, quantity, unit_price)
                SELECT id, '00000000-0000-7000-8000-000000000001', 0, 1, 2.50 FROM o
                """, [.text(day), .int(count)])
        }

        /// Arguments that are not UTF-8 are refused before anything runs: Swift would read them
        /// with U+FFFD in place of the bad bytes, so `admin create --password <8 invalid
        /// bytes>` made an admin whose password any eight invalid bytes matched (hostile
        /// review, session 12).
        @Test func argumentsThatAreNotUTF8AreRefused() async throws {
            try await Self.withDatabase { url, db, directory in
                // `sh` builds the argument from raw bytes; Foundation's `Process` takes only
                // strings.
                let script = #"exec "$0" admin create --email bytes@example.com --password "$(printf '\377\376\375\374\373\372\371\370')""#
                let outcome = try await Self.wait(
                    try Self.start(["-c", script, ServerProcess.binary().path], url: url, dataDirectory: directory, executable: URL(fileURLWithPath: "/bin/sh")))
                #expect(outcome.status == 64)
                #expect(outcome.standardError == "intake: argument 6 is not valid UTF-8\n")
                #expect(try await db.query("SELECT 1 FROM users").isEmpty)
            }
        }

        /// `intake help <path>` for a path that names no command is an error a script can
        /// see, not the root help and exit 0; a real path still prints its help.
        @Test func helpForAnUnknownCommandIsAnError() async throws {
            try await Self.withDatabase { url, _, directory in
                let unknown = try await Self.intake(["help", "frob"], url: url, dataDirectory: directory)
                #expect(unknown.status == 64)
                #expect(unknown.standardError == "intake: no such command: frob (see 'intake --help')\n")
                let nested = try await Self.intake(["help", "etl", "frob"], url: url, dataDirectory: directory)
                #expect(nested.status == 64)
                let known = try await Self.intake(["help", "etl", "run"], url: url, dataDirectory: directory)
                #expect(known.status == 0)
                #expect(known.standardOutput.contains("USAGE: intake etl run"))
            }
        }

        /// A mistake in the arguments is one line and exit status 64 (ArgumentParser printed
        /// the usage block below it); a command group without its subcommand is not a success;
        /// a negative number is a value, refused by the command's own rule.
        @Test func argumentMistakesAreOneLineAndNotSuccess() async throws {
            try await Self.withDatabase { url, _, directory in
                let missing = try await Self.intake(["etl", "run", "daily-sales"], url: url, dataDirectory: directory)
                #expect(missing.status == 64)
                #expect(missing.standardError == "intake: Missing expected argument '--date <date>' (see 'intake etl run --help')\n")
                let unknown = try await Self.intake(["etl", "runs", "--bogus"], url: url, dataDirectory: directory)
                #expect(unknown.status == 64)
                #expect(unknown.standardError.split(separator: "\n").count == 1, "\(unknown.standardError)")
                let group = try await Self.intake(["etl"], url: url, dataDirectory: directory)
                #expect(group.status == 64)
                #expect(group.standardError.contains("USAGE: intake etl <subcommand>"))
                let negative = try await Self.intake(["etl", "runs", "--limit", "-1"], url: url, dataDirectory: directory)
                #expect(negative.status == 1)
                #expect(negative.standardError == "intake: --limit must be 1..200\n")
                let help = try await Self.intake(["etl", "--help"], url: url, dataDirectory: directory)
                #expect(help.status == 0)
            }
        }

        /// A bad value given as a flag is named as the flag, one line, exit 1; the same value
        /// from the environment still names the variable.
        @Test func aBadFlagValueNamesTheFlag() async throws {
            try await Self.withDatabase { url, _, directory in
                let flag = try await Self.intake(["serve", "--port", "99999"], url: url, dataDirectory: directory)
                #expect(flag.status == 1)
                #expect(flag.standardError == "intake: --port 99999: expected a whole number in 0...65535\n")
                let lease = try await Self.intake(["serve", "--job-lease", "soon"], url: url, dataDirectory: directory)
                #expect(lease.standardError.hasPrefix("intake: --job-lease soon: expected seconds"))
                let variable = try await Self.intake(["serve"], url: url, dataDirectory: directory, extra: ["INTAKE_PORT": "99999"])
                #expect(variable.status == 1)
                #expect(variable.standardError == "intake: INTAKE_PORT=99999: expected a whole number in 0...65535\n")
            }
        }

        @Test func runsReadsAndRefuses() async throws {
            try await Self.withDatabase { url, db, directory in
                try await Self.seed(db, day: "2026-11-20", count: 30)
                let run = try await Self.intake(["etl", "run", "daily-sales", "--date", "2026-11-20"], url: url, dataDirectory: directory)
                #expect(run.status == 0, "\(run.standardError)")
                let record = try #require(try JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: Any])
                #expect(record["status"] as? String == "succeeded")
                #expect(record["orders_extracted"] as? Int == 30)
                #expect(record["revenue"] as? String == "75.00")
                #expect(record["rows_loaded"] as? Int == 3)

                let read = try await Self.intake(
                    ["warehouse", "sql", "SELECT region, orders, revenue FROM daily_sales ORDER BY region", "--format", "csv"], url: url,
                    dataDirectory: directory)
                #expect(read.status == 0, "\(read.standardError)")
                #expect(read.standardOutput == "region,orders,revenue\nnorth,10,25.00\nsouth,10,25.00\nunknown,10,25.00\n")
                // A NULL is an empty field, not the word a text can hold too.
                let nulls = try await Self.intake(["warehouse", "sql", "SELECT NULL AS a, 'NULL' AS b", "--format", "csv"], url: url, dataDirectory: directory)
                #expect(nulls.standardOutput == "a,b\n,NULL\n", "\(nulls.standardOutput)")

                for statement in ["DELETE FROM daily_sales", "COPY daily_sales TO '/tmp/stolen.csv'", ".shell ls", "SELEC nonsense"] {
                    let refused = try await Self.intake(["warehouse", "sql", statement], url: url, dataDirectory: directory)
                    #expect(refused.status != 0, "\(statement)")
                    #expect(refused.standardError.hasPrefix("intake: "), "\(statement): \(refused.standardError)")
                    #expect(refused.standardError.split(separator: "\n").count == 1, "\(statement): \(refused.standardError)")
                    #expect(refused.standardOutput.isEmpty)
                }
                // DuckDB keeps its spill directory writable after external access is off: a
                // query that spilled once let a `COPY` write files there (hostile review,
                // session 12). Read-only queries have no spill directory: too big for memory
                // is an error, and nothing can be written.
                let spill = try await Self.intake(
                    ["warehouse", "sql", "SET memory_limit = '20MB'; SELECT count(*) FROM (SELECT i, md5(i::varchar) AS m FROM range(3000000) t(i) ORDER BY m)"],
                    url: url, dataDirectory: directory)
                #expect(spill.status != 0 && spill.standardError.split(separator: "\n").count == 1, "\(spill.standardError)")
                let escaped = directory.appendingPathComponent("warehouse.duckdb.tmp/escaped.csv").path
                let copy = try await Self.intake(["warehouse", "sql", "COPY (SELECT 1 AS x) TO '\(escaped)'"], url: url, dataDirectory: directory)
                #expect(copy.status != 0)
                #expect(!FileManager.default.fileExists(atPath: escaped))
                let still = try await Self.intake(["warehouse", "sql", "SELECT count(*) AS n FROM daily_sales", "--format", "csv"], url: url, dataDirectory: directory)
                #expect(still.standardOutput == "n\n3\n")

                let future = try await Self.intake(["etl", "run", "daily-sales", "--date", "2999-01-01"], url: url, dataDirectory: directory)
                #expect(future.status != 0)
                #expect(future.standardError.hasPrefix("intake: date:") && future.standardError.split(separator: "\n").count == 1, "\(future.standardError)")
                // A mistyped year would queue a run per day for centuries (hostile review, session 12).
                let centuries = try await Self.intake(["etl", "backfill", "daily-sales", "--from", "0001-01-01", "--to", "2026-11-01"], url: url, dataDirectory: directory)
                #expect(centuries.status != 0)
                #expect(centuries.standardError == "intake: --from 0001-01-01 --to 2026-11-01: at most 3653 days (ten years) per backfill\n")
                #expect(try await db.query("SELECT 1 FROM etl_runs WHERE logical_date < '2000-01-01'").isEmpty)

                // A run that fails prints its record and exits non-zero.
                try await db.query("UPDATE orders SET amount = 3.00 WHERE id = (SELECT id FROM orders LIMIT 1)")
                let failed = try await Self.intake(["etl", "run", "daily-sales", "--date", "2026-11-20"], url: url, dataDirectory: directory)
                #expect(failed.status != 0)
                let failedRecord = try #require(try JSONSerialization.jsonObject(with: Data(failed.standardOutput.utf8)) as? [String: Any])
                #expect(failedRecord["status"] as? String == "failed")

                let backfill = try await Self.intake(
                    ["etl", "backfill", "daily-sales", "--from", "2026-11-17", "--to", "2026-11-19"], url: url, dataDirectory: directory)
                #expect(backfill.status == 0, "\(backfill.standardError)")
                let dates = backfill.standardOutput.split(separator: "\n").compactMap {
                    (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["logical_date"] as? String
                }
                #expect(dates == ["2026-11-17", "2026-11-18", "2026-11-19"])

                let runs = try await Self.intake(["etl", "runs"], url: url, dataDirectory: directory)
                #expect(runs.status == 0)
                #expect(runs.standardOutput.split(separator: "\n").count == 1 + 5)

                let schedule = try await Self.intake(["jobs", "schedule"], url: url, dataDirectory: directory)
                #expect(schedule.status == 0)
                #expect(schedule.standardOutput.contains("etl.daily_sales") && schedule.standardOutput.contains("0 2 * * *"))
                #expect(schedule.standardOutput.contains("intake.orders.payment-timeout"))
                #expect(schedule.standardOutput.contains("dq.checks") && schedule.standardOutput.contains("intake.outbox.prune"))
                // The schedule a server recorded is the one shown, whatever this shell's
                // INTAKE_ETL_SCHEDULE says (hostile review, session 13: the shell's was shown).
                try await db.query(
                    "INSERT INTO job_schedules (name, next_run_at, schedule) VALUES ('etl.daily_sales', now(), '*/5 * * * *') ON CONFLICT (name) DO UPDATE SET schedule = EXCLUDED.schedule")
                let recorded = try await Self.intake(["jobs", "schedule"], url: url, dataDirectory: directory, extra: ["INTAKE_ETL_SCHEDULE": "0 3 * * *"])
                let line = recorded.standardOutput.split(separator: "\n").first { $0.contains("etl.daily_sales") } ?? ""
                #expect(line.contains("*/5 * * * *") && !line.contains("0 3 * * *"), "\(recorded.standardOutput)")
                let gantt = try await Self.intake(["jobs", "schedule", "--mermaid"], url: url, dataDirectory: directory)
                #expect(gantt.standardOutput.hasPrefix("gantt\n"))
                #expect(gantt.standardOutput.contains("section etl.daily_sales"))
                let depth = try await Self.intake(["jobs"], url: url, dataDirectory: directory)
                #expect(depth.status == 0 && depth.standardOutput.contains("completed"))
            }
        }

        /// `intake jobs retry` of a discarded pipeline job whose run has failed would do nothing
        /// (the job finds its run ended): refused, with what to do instead.
        @Test func retryingTheDiscardedJobOfAFailedRunSaysToRunTheDayAgain() async throws {
            try await Self.withDatabase { url, db, directory in
                let settings = try DataSettings.load(from: ProcessInfo.processInfo.environment, dataDirectory: directory)
                let platform = try DataPlatform(db: db, settings: settings)
                let run = try await platform.runs.create(pipeline: "daily_sales", date: try #require(LogicalDate("2026-11-20")), trigger: .manual)
                let job = try await db.query(
                    """
                    UPDATE jobs SET state = 'discarded', last_error = 'lease expired', finalized_at = now() WHERE unique_key LIKE $1 RETURNING id
                    """, [.text("etl:\(run.id.lowercasedString):%")])[0].decode("id", as: Int64.self)
                #expect(try await platform.runs.failOrphans().map(\.id) == [run.id])
                let retry = try await Self.intake(["jobs", "retry", "\(job)"], url: url, dataDirectory: directory)
                #expect(retry.status == 1)
                #expect(retry.standardError.contains("run the day again: intake etl run daily-sales --date 2026-11-20"), "\(retry.standardError)")
                #expect(try await db.query("SELECT state FROM jobs WHERE id = $1", [.int64(job)])[0].decode("state", as: String.self) == "discarded")
            }
        }

        /// `intake warehouse sql` stops a query at `--timeout`, and when it is interrupted
        /// (SIGTERM, as `timeout` sends; SIGINT) its `duckdb` goes with it instead of running
        /// on under init.
        @Test func aWarehouseQueryEndsWithItsCommand() async throws {
            try await Self.withDatabase { url, db, directory in
                let settings = try DataSettings.load(from: ProcessInfo.processInfo.environment, dataDirectory: directory)
                try await DataPlatform(db: db, settings: settings).warehouse.ensureExists()
                let marker = "endless-\(UUID().uuidString.lowercased())"
                let endless = "SELECT sum(hash(a.range * b.range)) AS \"\(marker)\" FROM range(1000000000) a, range(1000000000) b"
                /// Processes whose command line names this test's query.
                func queryProcesses() -> [String] {
                    let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
                    return pids.filter { pid in
                        guard Int32(pid) != nil, let line = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
                        return String(decoding: line, as: UTF8.self).contains(marker)
                    }
                }
                let limited = try await Self.intake(["warehouse", "sql", endless, "--timeout", "1"], url: url, dataDirectory: directory)
                #expect(limited.status == 1)
                #expect(limited.standardError.contains("ran longer than") && limited.standardError.split(separator: "\n").count == 1, "\(limited.standardError)")
                try await waitUntil("no duckdb runs the query after its timeout") { queryProcesses().isEmpty }
                // PyPI's `duckdb` on PATH is a Python wrapper that runs the real binary as its
                // child: the timeout stops both.
                let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                let wrapper = root.appendingPathComponent(".build/duckdb-venv/bin/duckdb").path
                if FileManager.default.isExecutableFile(atPath: wrapper) {
                    let wrapped = try await Self.intake(
                        ["warehouse", "sql", endless, "--timeout", "2"], url: url, dataDirectory: directory, extra: ["INTAKE_DUCKDB": wrapper])
                    #expect(wrapped.standardError.contains("ran longer than"), "\(wrapped.standardError)")
                    try await waitUntil("neither the wrapper nor its duckdb runs on") { queryProcesses().isEmpty }
                }

                for signalNumber in [SIGTERM, SIGINT] {
                    let started = try Self.start(["warehouse", "sql", endless], url: url, dataDirectory: directory)
                    let pid = started.0.processIdentifier
                    var child: Int32?
                    try await waitUntil("the query's duckdb runs") {
                        let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
                        child = children.split(separator: " ").compactMap { Int32($0) }.first
                        return child != nil
                    }
                    kill(pid, signalNumber)
                    let ended = try await Self.wait(started)
                    #expect(ended.status == 128 + signalNumber)
                    let duckdb = try #require(child)
                    try await waitUntil("duckdb \(duckdb) ends with the command") { ChildProcess.exited(duckdb) }
                }
            }
        }

        @Test func aRunKilledMidLoadLeavesTheDayWholeAndIsCompletedOnce() async throws {
            try await Self.withDatabase { url, db, directory in
                try await Self.seed(db, day: "2026-11-20", count: 20_000)
                let settings = try DataSettings.load(from: ProcessInfo.processInfo.environment, dataDirectory: directory)
                let platform = try DataPlatform(db: db, settings: settings)
                struct Totals: Decodable, Equatable { var rows: Int64; var orders: Int64?; var revenue: String? }
                func totals() async throws -> Totals? {
                    try await platform.warehouse.read(
                        "SELECT count(*) AS rows, sum(orders)::BIGINT AS orders, CAST(sum(revenue) AS VARCHAR) AS revenue FROM daily_sales",
                        as: Totals.self
                    ).first
                }
                let baseline = try await Self.intake(["etl", "run", "daily-sales", "--date", "2026-11-20"], url: url, dataDirectory: directory)
                #expect(baseline.status == 0, "\(baseline.standardError)")
                #expect(try await totals() == Totals(rows: 3, orders: 20_000, revenue: "50000.00"))
                try await Self.seed(db, day: "2026-11-20", count: 1_000)

                // The test holds the warehouse's write lock, so the next run's load step starts
                // and then waits inside the load: that is when the process is killed.
                let lockKey = "intake.warehouse:" + settings.warehousePath.standardizedFileURL.path
                let killedID: UUID = try await db.withConnection { session in
                    try await session.query("SELECT pg_advisory_lock(hashtext($1))", [.text(lockKey)])
                    let first = try Self.start(
                        ["etl", "run", "daily-sales", "--date", "2026-11-20"], url: url, dataDirectory: directory,
                        extra: ["INTAKE_JOB_LEASE": "1s"])
                    try await waitUntil("the run's load step waits for the warehouse lock", timeout: .seconds(60)) {
                        try await !db.query("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").isEmpty
                    }
                    // Mid-load, readers see the previous load whole.
                    #expect(try await totals() == Totals(rows: 3, orders: 20_000, revenue: "50000.00"))
                    kill(first.0.processIdentifier, SIGKILL)
                    let killed = try await Self.wait(first)
                    #expect(killed.status != 0)
                    try await session.query("SELECT pg_advisory_unlock(hashtext($1))", [.text(lockKey)])
                    return try await db.query("SELECT id FROM etl_runs WHERE status = 'running'")[0].decode("id")
                }
                #expect(try await totals() == Totals(rows: 3, orders: 20_000, revenue: "50000.00"))

                let second = try await Self.intake(["etl", "run", "daily-sales", "--date", "2026-11-20"], url: url, dataDirectory: directory)
                #expect(second.status == 0, "\(second.standardError)")

                #expect(try await totals() == Totals(rows: 3, orders: 21_000, revenue: "52500.00"))

                // The killed run is rescued by a worker and finishes; the day is whole, once.
                let queue = WorkQueue(client: db, configuration: WorkQueueConfiguration(pollInterval: .milliseconds(50)))
                platform.register(on: queue)
                let rescuer = JobRescuer(client: db, interval: .milliseconds(100))
                let finished = try await withRunningServices([queue, rescuer]) {
                    try await platform.runs.waitUntilFinished(killedID, interval: .milliseconds(50))
                }
                #expect(finished.status == .succeeded, "\(finished.error ?? "")")
                #expect(try await totals() == Totals(rows: 3, orders: 21_000, revenue: "52500.00"))
                #expect(try await db.query("SELECT 1 FROM etl_runs WHERE status IN ('queued', 'running')").isEmpty)
            }
        }

        @Test func checkExitsNonZeroWhenAnErrorCheckFails() async throws {
            try await Self.withDatabase { url, db, directory in
                try await Self.seed(db, day: "2026-11-20", count: 5)
                // Users for the orders, and yesterday's run.
                try await db.query(
                    """
                    INSERT INTO users (id, role, email_lookup, email_cipher, password_hash, data_key)
                    SELECT user_id, 'customer', user_id::text::bytea, 'x', 'x', 'x' FROM orders
                    """)
                try await db.query("INSERT INTO stock_shards (product_id, shard, available, reserved, shipped) VALUES ('00000000-0000-7000-8000-000000000001', 0, 10, 5, 0)")
                try await db.query("INSERT INTO stock_ledger (product_id, delta) VALUES ('00000000-0000-7000-8000-000000000001', 15)")
                let yesterday = LogicalDate(containing: Date()).adding(days: -1)
                let run = try await Self.intake(["etl", "run", "daily-sales", "--date", yesterday.description], url: url, dataDirectory: directory)
                #expect(run.status == 0, "\(run.standardError)")

                let good = try await Self.intake(["check"], url: url, dataDirectory: directory)
                #expect(good.status == 0, "\(good.standardOutput)\(good.standardError)")
                let lines = good.standardOutput.split(separator: "\n")
                #expect(lines.count == 8)
                #expect(lines.allSatisfy { $0.hasPrefix("ok  ") }, "\(good.standardOutput)")
                #expect(lines.first?.contains("orders.id.unique") == true && lines.first?.contains("(threshold = 0)") == true)

                // A shard row edited by hand.
                try await db.query("UPDATE stock_shards SET reserved = reserved + 2")
                let bad = try await Self.intake(["check"], url: url, dataDirectory: directory)
                #expect(bad.status != 0)
                #expect(bad.standardOutput.split(separator: "\n").contains { $0.hasPrefix("FAIL  stock.conservation") }, "\(bad.standardOutput)")
                let warned = try await Self.intake(["check"], url: url, dataDirectory: directory, extra: ["INTAKE_DQ_WARN": "stock.conservation"])
                #expect(warned.status == 0, "\(warned.standardOutput)")
                #expect(warned.standardOutput.contains("[warn]"))
                #expect(try await db.query("SELECT count(*) AS n FROM dq_results")[0].decode("n", as: Int.self) == 24)
            }
        }
    }
}
