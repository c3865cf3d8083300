import Foundation
import Logging

/// File operations of the lake and the warehouse, with errors that name the path.
enum Files {
    static func createDirectory(_ url: URL) throws {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw DataError(code: .storage, message: "cannot create \(url.path): \(error.localizedDescription)")
        }
    }

    /// Removes `url` if it exists.
    static func remove(_ url: URL) throws {
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        do {
            try FileManager.default.removeItem(at: url)
        } catch {
            throw DataError(code: .storage, message: "cannot remove \(url.path): \(error.localizedDescription)")
        }
    }

    /// Removes `url` if it exists, logging (not throwing) a failure: for cleanup after the
    /// work is decided.
    static func removeQuietly(_ url: URL, logger: Logger) {
        do {
            try remove(url)
        } catch {
            logger.warning("cannot remove a temporary file", metadata: ["path": "\(url.path)", "error": "\(error)"])
        }
    }

    /// `rename(2)`: atomic on one file system; readers see the old file or the new one.
    static func rename(_ from: URL, to: URL) throws {
        guard Foundation.rename(from.path, to.path) == 0 else {
            throw DataError(code: .storage, message: "cannot rename \(from.path) to \(to.path): \(String(cString: strerror(errno)))")
        }
    }

    /// Flushes a file's data to disk, so that a rename never exposes a file the kernel has not
    /// written yet.
    static func sync(_ url: URL) throws {
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { throw DataError(code: .storage, message: "cannot open \(url.path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw DataError(code: .storage, message: "cannot fsync \(url.path): \(String(cString: strerror(errno)))") }
    }

    /// Makes a rename in `directory` durable.
    static func syncDirectory(_ directory: URL) throws {
        try sync(directory)
    }

    /// A temporary name beside `url`, unique to this attempt: a process killed mid-write can
    /// leave a DuckDB child writing its file, which must never be the file of the next attempt.
    static func temporary(for url: URL) -> URL {
        url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().lowercasedString).tmp")
    }

    /// Removes `.<name>.*.tmp` files beside `url` last modified more than `age` ago: what
    /// attempts killed mid-write left behind (younger ones may still be being written).
    static func sweepTemporaries(of url: URL, olderThan age: TimeInterval, logger: Logger) {
        let directory = url.deletingLastPathComponent()
        let prefix = ".\(url.lastPathComponent)."
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            return  // no directory yet: nothing left behind
        }
        let limit = Date().addingTimeInterval(-age)
        for name in names where name.hasPrefix(prefix) && name.hasSuffix(".tmp") {
            let file = directory.appendingPathComponent(name)
            // A file that vanished meanwhile (another sweep) counts as new: left alone.
            let modified = (try? FileManager.default.attributesOfItem(atPath: file.path)[.modificationDate] as? Date) ?? Date()
            if modified < limit { removeQuietly(file, logger: logger) }
        }
    }
}
