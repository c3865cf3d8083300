import Foundation
import Logging
import Synchronization

/// The DuckDB CLI, driven as a subprocess speaking SQL.
///
/// Why a subprocess: Debian packages neither DuckDB nor its C library, while PyPI's
/// `duckdb-cli` is one self-contained binary with Parquet built in; a process per statement
/// batch also keeps DuckDB's one-writer-per-file rule visible (a file is written by exactly
/// the process Intake started for it) and a crash in DuckDB out of Intake's address space.
/// Its output goes to temporary files, not pipes, so nothing can deadlock on a full pipe.
public struct DuckDB: Sendable {
    /// The CLI binary.
    public let executable: String
    /// The longest a `background` call (a pipeline or lifecycle step) may run before it is
    /// killed and fails (`DataError.timeout`), so that a DuckDB that hangs fails its step —
    /// retried, then failed — instead of holding a run `running` forever. Default 30 minutes:
    /// a day of 1M orders takes seconds (BENCHMARKS.md).
    public let backgroundTimeLimit: Duration

    public init(executable: String, backgroundTimeLimit: Duration = .seconds(1800)) {
        self.executable = executable
        self.backgroundTimeLimit = backgroundTimeLimit
    }

    /// The binary Intake uses: `INTAKE_DUCKDB` (or `explicit`), then the project's venv
    /// (`.build/duckdb-venv`, from the working directory or beside the running executable's
    /// build directory: the binary the package ships, else its `bin/duckdb` wrapper), then
    /// `duckdb` on `PATH`.
    public static func locate(explicit: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> DuckDB {
        let fileManager = FileManager.default
        if let path = explicit ?? environment["INTAKE_DUCKDB"].flatMap({ $0.isEmpty ? nil : $0 }) {
            guard fileManager.isExecutableFile(atPath: path) else {
                throw DataError(code: .duckdb, message: "INTAKE_DUCKDB=\(path) is not an executable file")
            }
            return DuckDB(executable: path)
        }
        // `.build/<config>/intake` → `.build/duckdb-venv`.
        let executableDirectory = URL(fileURLWithPath: CommandLine.arguments.first ?? "").deletingLastPathComponent()
        var candidates: [String] = []
        for venv in [fileManager.currentDirectoryPath + "/.build/duckdb-venv", executableDirectory.deletingLastPathComponent().path + "/duckdb-venv"] {
            let lib = venv + "/lib"
            // No venv (or no lib in it): no candidate there, nothing else to know.
            let pythons = ((try? fileManager.contentsOfDirectory(atPath: lib)) ?? []).filter { $0.hasPrefix("python") }.sorted()
            candidates += pythons.map { "\(lib)/\($0)/site-packages/duckdb_cli/duckdb" }
            candidates.append(venv + "/bin/duckdb")
        }
        for directory in (environment["PATH"] ?? "").split(separator: ":") {
            candidates.append("\(directory)/duckdb")
        }
        for candidate in candidates where fileManager.isExecutableFile(atPath: candidate) {
            return DuckDB(executable: candidate)
        }
        throw DataError(
            code: .duckdb,
            message: "the DuckDB CLI was not found: set INTAKE_DUCKDB, or run scripts/run or scripts/test, which install PyPI duckdb-cli into .build/duckdb-venv")
    }

    /// How a database file is opened.
    public enum Mode: Sendable {
        /// Read and write (only the loader, on a file no other process writes).
        case readWrite
        /// `-readonly`, with external access (files, other databases) switched off first.
        case readOnly
    }

    /// Runs `sql` (one or more statements, stopping at the first error) against `database`
    /// (a file path, or `:memory:`) and returns what it printed in JSON mode: the rows of
    /// the statement(s) that return rows.
    ///
    /// `background` work (the pipeline's steps) runs at a lower CPU priority (nice 10), so that
    /// a run gives way to order intake on a busy machine; reads answer at normal priority.
    ///
    /// `timeLimit`: past it the process is killed and the call fails (`DataError.timeout`);
    /// `background` calls default to `backgroundTimeLimit`. With `streamingTo`, what DuckDB
    /// prints goes straight there and the call returns "".
    /// A cancelled caller kills it too: no `duckdb` outlives the work that asked for it.
    public func run(
        _ sql: String, database: String = ":memory:", mode: Mode = .readWrite, output: OutputMode = .json, background: Bool = false,
        timeLimit: Duration? = nil, streamingTo destination: FileHandle? = nil
    ) async throws -> String {
        var arguments = ["-no-init", "-bail"] + output.flags
        if mode == .readOnly { arguments.append("-readonly") }
        arguments.append(database)
        // Read-only: no spill directory first (DuckDB keeps its temp directory writable after
        // external access is off, so a query that spilled once could `COPY` files into
        // `<database>.tmp/`: hostile review, session 12), then no file outside the database.
        // A query too big for memory fails with DuckDB's out-of-memory error instead.
        if mode == .readOnly { arguments += ["-c", "SET temp_directory = ''", "-c", "SET enable_external_access = false"] }
        arguments += ["-c", sql]
        let result = try await Self.spawn(
            executable, arguments, niceness: background ? 10 : 0, timeLimit: timeLimit ?? (background ? backgroundTimeLimit : nil),
            streamingTo: destination)
        guard result.status == 0 else {
            let message = result.standardError.trimmingCharacters(in: .whitespacesAndNewlines)
            throw DataError(code: .duckdb, message: message.isEmpty ? "duckdb exited with status \(result.status)" : message)
        }
        return result.standardOutput
    }

    /// Like `run`, decoding the rows of the last row-returning statement as `Row`s.
    public func rows<Row: Decodable>(
        _ type: Row.Type, _ sql: String, database: String = ":memory:", mode: Mode = .readWrite, background: Bool = false
    ) async throws -> [Row] {
        let text = try await run(sql, database: database, mode: mode, output: .json, background: background)
        // Each row-returning statement prints one JSON array; the last one is the answer. A
        // statement returning no rows prints nothing.
        let start: String.Index
        if let newline = text.range(of: "\n[", options: .backwards) {
            start = text.index(after: newline.lowerBound)
        } else if text.hasPrefix("[") {
            start = text.startIndex
        } else {
            return []
        }
        do {
            return try JSONDecoder().decode([Row].self, from: Data(text[start...].utf8))
        } catch {
            throw DataError(code: .duckdb, message: "cannot decode duckdb's rows as \(Row.self): \(error)")
        }
    }

    public enum OutputMode: Sendable {
        case json, box, csv
        /// The CLI's flags for the mode. In CSV a NULL is an empty field, as DuckDB's and
        /// Postgres's COPY write it: the CLI's default, the word `NULL`, could not be told
        /// from the text 'NULL' (hostile review, session 13).
        var flags: [String] {
            switch self {
            case .json: ["-json"]
            case .box: ["-box"]
            case .csv: ["-csv", "-nullvalue", ""]
            }
        }
    }

    struct Result: Sendable {
        var status: Int32
        var standardOutput: String
        var standardError: String
    }

    /// One spawned process, shared by its waiter, its cancellation handler and its timer: its
    /// pid once started (-1: cancelled before it started) and whether the timer killed it.
    final class Child: Sendable {
        let pid = Mutex<Int32?>(nil)
        let timedOut = Mutex(false)
        /// The time limit's timer, cancelled as soon as the process ends.
        let timer = Mutex<Task<Void, Never>?>(nil)
    }

    /// The `duckdb` processes this process is running now.
    static let running = Mutex<Set<Int32>>([])

    /// Kills (SIGKILL) every `duckdb` this process started that is still running: for a
    /// command line interrupted by a signal, which would otherwise leave them behind.
    public static func killRunning() {
        for pid in running.withLock({ $0 }) { killTree(pid) }
    }

    /// SIGKILL to `pid` and every process under it. The `duckdb` on `PATH` may be PyPI's
    /// wrapper script, which runs the real binary as its child: killing the wrapper alone
    /// would leave the query running under init. Children are found from /proc and stopped
    /// (SIGSTOP) first, so none can start another meanwhile.
    static func killTree(_ pid: Int32) {
        kill(pid, SIGSTOP)
        for child in children(of: pid) { killTree(child) }
        kill(pid, SIGKILL)
        kill(pid, SIGCONT)
    }

    static func children(of pid: Int32) -> [Int32] {
        let tasks = "/proc/\(pid)/task"
        let threads = (try? FileManager.default.contentsOfDirectory(atPath: tasks)) ?? []
        return threads.flatMap { thread -> [Int32] in
            let text = (try? String(contentsOfFile: "\(tasks)/\(thread)/children", encoding: .utf8)) ?? ""
            return text.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
    }

    /// Starts the process and waits for it off the cooperative pool (the termination handler
    /// resumes the caller). Killed when the caller is cancelled or `timeLimit` passes.
    /// `streamingTo`: the process writes its standard output there directly (nothing is kept:
    /// the result's `standardOutput` is empty), so a result of any size costs no memory here.
    static func spawn(
        _ executable: String, _ arguments: [String], niceness: Int32 = 0, timeLimit: Duration? = nil, streamingTo destination: FileHandle? = nil
    ) async throws -> Result {
        let directory = NSTemporaryDirectory()
        let token = UUID().uuidString
        let outPath = directory + "intake-duckdb-\(token).out"
        let errPath = directory + "intake-duckdb-\(token).err"
        defer {
            unlink(outPath)
            unlink(errPath)
        }
        guard FileManager.default.createFile(atPath: outPath, contents: nil), FileManager.default.createFile(atPath: errPath, contents: nil),
            let out = FileHandle(forWritingAtPath: outPath), let err = FileHandle(forWritingAtPath: errPath)
        else {
            throw DataError(code: .storage, message: "cannot create temporary files in \(directory) for duckdb's output")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = destination ?? out
        process.standardError = err
        let child = Child()
        let status: Int32 = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                process.terminationHandler = { finished in
                    running.withLock { _ = $0.remove(finished.processIdentifier) }
                    continuation.resume(returning: finished.terminationStatus)
                }
                do {
                    try process.run()
                    let started = process.processIdentifier
                    running.withLock { _ = $0.insert(started) }
                    // Cancelled between the check below and here: the handler found no pid yet.
                    let cancelled = child.pid.withLock { current -> Bool in
                        if current == -1 { return true }
                        current = started
                        return false
                    }
                    if cancelled { killTree(started) }
                    if niceness != 0 {
                        // Best effort: at worst the step runs at normal priority.
                        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(started), niceness)
                    }
                    if let timeLimit {
                        child.timer.withLock { $0 = Task {
                            try? await Task.sleep(for: timeLimit)
                            if child.pid.withLock({ $0 }) == started, running.withLock({ $0.contains(started) }) {
                                child.timedOut.withLock { $0 = true }
                                killTree(started)
                            }
                        } }
                    }
                } catch {
                    process.terminationHandler = nil
                    continuation.resume(throwing: DataError(code: .duckdb, message: "cannot run \(executable): \(error.localizedDescription)"))
                }
            }
        } onCancel: {
            let started = child.pid.withLock { current -> Int32? in
                defer { if current == nil { current = -1 } }
                return current
            }
            if let started, started > 0 { killTree(started) }
        }
        child.timer.withLock { $0?.cancel() }
        if child.timedOut.withLock({ $0 }), let timeLimit {
            throw DataError(code: .timeout, message: "the query ran longer than \(timeLimit) and was stopped")
        }
        try Task.checkCancellation()
        do {
            try out.close()
            try err.close()
            return Result(
                status: status, standardOutput: destination == nil ? try String(contentsOfFile: outPath, encoding: .utf8) : "",
                standardError: try String(contentsOfFile: errPath, encoding: .utf8))
        } catch {
            throw DataError(code: .storage, message: "cannot read duckdb's output: \(error.localizedDescription)")
        }
    }
}

