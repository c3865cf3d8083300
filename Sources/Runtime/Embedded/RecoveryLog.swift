import Foundation

/// What a restored cluster's log (`recovery.log`) says about a recovery that ended short of
/// its target: Postgres's FATAL or PANIC, the last transaction it replayed, the first problem
/// it met reading the WAL, and the first error pgBackRest's `archive-get` gave (a segment
/// missing or damaged in the repository). A restore reports this, not the refused connection
/// to a server that has already stopped.
public struct RecoveryLog: Sendable, Hashable {
    public var fatal: String?
    public var lastTransaction: String?
    public var walProblem: String?
    public var archiveError: String?

    public init(_ text: String) {
        // pgBackRest continues an error on indented lines (the repository and the cause).
        var continuesArchiveError = false
        for line in text.split(whereSeparator: \.isNewline).map(String.init) {
            if continuesArchiveError, line.first?.isWhitespace == true, let error = archiveError {
                archiveError = error + " " + line.trimmingCharacters(in: .whitespaces)
                continue
            }
            continuesArchiveError = false
            if fatal == nil, let message = Self.after(["FATAL:", "PANIC:"], in: line) { fatal = message }
            if let time = Self.after(["last completed transaction was at log time"], in: line) { lastTransaction = time }
            if walProblem == nil, Self.walProblems.contains(where: line.contains), let message = Self.after(["LOG:", "WARNING:"], in: line) {
                walProblem = message
            }
            if archiveError == nil, line.contains("ERROR: ["), let message = Self.after(["ERROR:"], in: line) {
                archiveError = message
                continuesArchiveError = true
            }
        }
    }

    /// One line for the restore's error; nil when the log shows no FATAL or PANIC.
    public var summary: String? {
        guard let fatal else { return nil }
        var text = "recovery stopped short of the target: \(fatal)"
        text += "; the last transaction replayed was " + (lastTransaction.map { "at \($0)" } ?? "none after the backup")
        if let walProblem { text += "; reading the WAL: \(walProblem)" }
        if let archiveError { text += "; the archive: \(archiveError)" }
        return text
    }

    static let walProblems = [
        "invalid record length", "invalid magic number", "incorrect resource manager data checksum", "invalid resource manager ID",
        "could not restore file", "unexpected pageaddr", "contrecord is requested", "invalid contrecord length", "record with incorrect prev-link",
    ]

    /// The message after the first of `markers` in `line`, trimmed; nil when none is there.
    static func after(_ markers: [String], in line: String) -> String? {
        for marker in markers {
            if let range = line.range(of: marker) {
                let message = line[range.upperBound...].trimmingCharacters(in: .whitespaces)
                return message.isEmpty ? nil : message
            }
        }
        return nil
    }
}
