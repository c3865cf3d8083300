import Foundation

/// CPU time of a process and its children, from Linux's `/proc`: what `intake load --cpu`
/// reads at the start and at the end of the measured phase, so that set-up (password hashing
/// of the run's users, products) and verification are not charged to the orders.
///
/// A process's time is its own `utime + stime` (every thread) plus `cutime + cstime` (children
/// it has reaped) plus the `utime + stime` of its live children: a Postgres postmaster's covers
/// every backend of the cluster, the ones still running and the ones that exited.
public struct ProcessCPU: Sendable, Hashable {
    /// `--cpu` names this process as `LABEL=self`.
    public static let ownProcess: Int32 = 0

    public var label: String
    public var pid: Int32

    public init(label: String, pid: Int32) {
        self.label = label
        self.pid = pid
    }

    /// Parses `LABEL=PID` (or `LABEL=self`).
    public init(parsing text: String) throws(LoadError) {
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw LoadError("--cpu: expected LABEL=PID or LABEL=self (label: letters, digits, - and _), got \(text.debugDescription)")
        }
        if parts[1] == "self" {
            self.init(label: String(parts[0]), pid: Self.ownProcess)
        } else if let pid = Int32(parts[1]), pid > 0 {
            self.init(label: String(parts[0]), pid: pid)
        } else {
            throw LoadError("--cpu \(parts[0]): expected a process id or self, got \(String(parts[1]).debugDescription)")
        }
    }

    private var path: String { pid == Self.ownProcess ? "/proc/self" : "/proc/\(pid)" }

    /// A reading: CPU used so far, and which process it was (its start time: a pid that is
    /// reused belongs to another process).
    public struct Sample: Sendable, Hashable {
        public var microseconds: Int64
        public var startTime: Int64
    }

    /// CPU used so far. Throws when the process does not exist (or this is not Linux).
    public func sample() throws(LoadError) -> Sample {
        guard let stat = Self.stat(path) else {
            throw LoadError("--cpu \(label): no process \(pid) (its /proc/\(pid)/stat cannot be read)")
        }
        var ticks = stat.own + stat.reapedChildren
        for child in Self.children(path) {
            ticks += Self.stat("/proc/\(child)")?.own ?? 0  // a child that exited meanwhile is in reapedChildren once waited for
        }
        return Sample(microseconds: ticks * 1_000_000 / Self.ticksPerSecond, startTime: stat.startTime)
    }

    /// Microseconds of CPU used so far.
    public func microseconds() throws(LoadError) -> Int64 { try sample().microseconds }

    /// The CPU used between `start` and now; nil when the process exited meanwhile (or its pid
    /// now names another process).
    public func used(since start: Sample) -> Int64? {
        guard let end = try? sample(), end.startTime == start.startTime, end.microseconds >= start.microseconds else { return nil }
        return end.microseconds - start.microseconds
    }

    static let ticksPerSecond: Int64 = max(Int64(sysconf(Int32(_SC_CLK_TCK))), 1)

    struct Stat {
        var own: Int64
        var reapedChildren: Int64
        /// Field 22: when the process started, in clock ticks after boot.
        var startTime: Int64
    }

    /// Fields 14–17 of `/proc/PID/stat`; the command name (field 2) may hold spaces and
    /// parentheses, so fields are counted after its last `)`.
    static func stat(_ path: String) -> Stat? {
        guard let text = try? String(contentsOfFile: path + "/stat", encoding: .utf8) else { return nil }
        return parse(stat: text)
    }

    static func parse(stat text: String) -> Stat? {
        guard let close = text.lastIndex(of: ")") else { return nil }
        // After ")": field 3 (state) is the first; utime is field 14.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count >= 20, let utime = Int64(fields[11]), let stime = Int64(fields[12]),
            let cutime = Int64(fields[13]), let cstime = Int64(fields[14]), let startTime = Int64(fields[19])
        else { return nil }
        return Stat(own: utime + stime, reapedChildren: cutime + cstime, startTime: startTime)
    }

    /// Live children of every thread of the process.
    static func children(_ path: String) -> [Int32] {
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: path + "/task") else { return [] }
        return tasks.flatMap { task -> [Int32] in
            guard let text = try? String(contentsOfFile: "\(path)/task/\(task)/children", encoding: .utf8) else { return [] }
            return text.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
    }
}
