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
}
