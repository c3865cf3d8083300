import CLibPQ
import Foundation

extension PostgresConnection {
    /// Runs `COPY (...) TO STDOUT` and writes what the server sends to the file at `path`
    /// (created or truncated), one chunk at a time: memory stays bounded whatever the size of
    /// the result. Returns the number of rows copied.
    func copyOut(_ sql: String, toFile path: String) throws -> Int {
        let handle = try requireHandle()
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw PostgresError(code: .copyFailed, message: "cannot open \(path) for writing: \(String(cString: strerror(errno)))")
        }
        // Closes the descriptor when the copy is done, whatever happens.
        let file = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        defer { withExtendedLifetime(file) {} }
        guard let start = PQexec(handle, sql) else { throw lostConnectionError(statementIndex: nil) }
        let startStatus = PQresultStatus(start)
        if startStatus != PGRES_COPY_OUT {
            defer { PQclear(start) }
            _ = try rows(from: start, statementIndex: nil)
            throw PostgresError(code: .copyFailed, message: "the statement is not a COPY ... TO STDOUT")
        }
        PQclear(start)
        var writeError: String?
        while true {
            var buffer: UnsafeMutablePointer<CChar>?
            let length = PQgetCopyData(handle, &buffer, 0)
            if length > 0, let buffer {
                if writeError == nil {
                    var offset = 0
                    while offset < Int(length) {
                        let written = write(fd, buffer + offset, Int(length) - offset)
                        if written < 0 {
                            if errno == EINTR { continue }
                            writeError = "cannot write \(path): \(String(cString: strerror(errno)))"
                            break
                        }
                        offset += written
                    }
                }
                PQfreemem(buffer)
                continue
            }
            if length == -1 { break }  // the copy is done; the command's result follows
            throw lostConnectionError(statementIndex: nil)  // -2: error
        }
        // The final result says how it ended (and how many rows); read until NULL.
        var copied = 0
        var failure: (any Error)?
        while let result = PQgetResult(handle) {
            defer { PQclear(result) }
            do {
                let rows = try rows(from: result, statementIndex: nil)
                copied = rows.affectedRows
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        if let writeError { throw PostgresError(code: .copyFailed, message: writeError) }
        return copied
    }
}

extension PostgresSession {
    /// Runs `sql`, a `COPY (...) TO STDOUT`, streaming its output into the file at `path`
    /// (bounded memory). Inside a transaction it reads the transaction's snapshot. Returns the
    /// number of rows.
    @discardableResult
    public func copyOut(_ sql: String, toFile path: String) async throws -> Int {
        try await lease.run { try $0.copyOut(sql, toFile: path) }
    }
}
