import Foundation
import IntakeRuntime
import Testing

@Suite("Data directory lock")
struct DataDirectoryLockTests {
    @Test func oneHolderAtATimeOthersReadWhatItWroteAndReleaseFreesIt() throws {
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("intake-lock-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        guard case .acquired(let first) = try DataDirectoryLock.acquire(directory, command: "serve") else {
            Issue.record("a free directory's lock is taken")
            return
        }
        try first.update {
            $0.postgresPort = 5555
            $0.httpURL = "http://127.0.0.1:8080"
        }
        // A second open of the file (as another process would) cannot take it, and reads
        // the holder's record.
        guard case .held(let owner) = try DataDirectoryLock.acquire(directory, command: "migrate") else {
            Issue.record("a held lock is not taken twice")
            return
        }
        #expect(owner == DataDirectoryLock.Owner(pid: getpid(), command: "serve", postgresPort: 5555, httpURL: "http://127.0.0.1:8080"))
        #expect(owner?.summary == "intake serve (pid \(getpid())) on http://127.0.0.1:8080")
        first.release()
        guard case .acquired(let second) = try DataDirectoryLock.acquire(directory, command: "migrate") else {
            Issue.record("a released lock is free")
            return
        }
        #expect(second.current.command == "migrate")
        #expect(second.current.postgresPort == nil, "a new holder's record starts afresh")
        second.release()
    }
}
