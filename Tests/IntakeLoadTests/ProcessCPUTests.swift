import Foundation
@testable import IntakeLoad
import Testing

@Suite("intake load --cpu: CPU per order from /proc")
struct ProcessCPUTests {
    @Test func statFieldsAreCountedAfterTheCommandName() throws {
        // A command name with spaces and parentheses must not shift the fields.
        let line = "4242 (post (gres) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 567 89 10 20 0 1 0 777 0 0"
        let stat = try #require(ProcessCPU.parse(stat: line))
        #expect(stat.own == 1234 + 567)
        #expect(stat.reapedChildren == 89 + 10)
        #expect(stat.startTime == 777)
        #expect(ProcessCPU.parse(stat: "4242 (truncated) S 1 2") == nil)
    }

    @Test func labelsAndPidsAreChecked() throws {
        #expect(try ProcessCPU(parsing: "postgres=123") == ProcessCPU(label: "postgres", pid: 123))
        #expect(try ProcessCPU(parsing: "intake=self").pid == ProcessCPU.ownProcess)
        for bad in ["postgres", "=12", "pg=0", "pg=-3", "pg=12x", "pg=99999999999", "a b=12", "pg="] {
            #expect(throws: LoadError.self, "\(bad)") { try ProcessCPU(parsing: bad) }
        }
        var options = LoadOptions()
        options.mode = .inProcess
        options.cpu = [ProcessCPU(label: "gone", pid: Int32.max)]
        #expect(throws: LoadError.self) { try options.validate() }
        options.cpu = [ProcessCPU(label: "a", pid: ProcessCPU.ownProcess), ProcessCPU(label: "a", pid: ProcessCPU.ownProcess)]
        #expect(throws: LoadError.self) { try options.validate() }
    }

    /// A process that exits during the run, or whose pid then names another process, has no
    /// figure (not a failed run, not a negative one).
    @Test func aProcessThatExitedOrWhosePidWasReusedReportsNothing() throws {
        // The child lives until the test closes its stdin, not for a time of its own.
        let child = Process()
        let stdin = Pipe()
        child.executableURL = URL(fileURLWithPath: "/bin/sh")
        child.arguments = ["-c", "read _"]
        child.standardInput = stdin
        try child.run()
        let short = ProcessCPU(label: "short", pid: child.processIdentifier)
        let start = try short.sample()
        try stdin.fileHandleForWriting.close()
        child.waitUntilExit()
        #expect(short.used(since: start) == nil)
        let own = ProcessCPU(label: "own", pid: ProcessCPU.ownProcess)
        let mine = try own.sample()
        #expect(own.used(since: mine) != nil)
        #expect(own.used(since: .init(microseconds: mine.microseconds, startTime: mine.startTime + 1)) == nil, "another process under the pid")
    }

    /// A parent's figure takes in what its children burn, running and once reaped: the
    /// postmaster's pid stands for every backend of the cluster.
    @Test func childrenCountLiveAndReaped() throws {
        let parent = Process()
        parent.executableURL = URL(fileURLWithPath: "/bin/sh")
        // The child burns CPU (~3 s here) while the parent waits for it (the parent's own
        // time stays ~0); then the parent, having reaped it, becomes a sleep.
        parent.arguments = ["-c", "sh -c 'i=0; while [ $i -lt 3000000 ]; do i=$((i+1)); done'; exec sleep 30"]
        try parent.run()
        defer { parent.terminate(); parent.waitUntilExit() }
        let process = ProcessCPU(label: "parent", pid: parent.processIdentifier)
        let path = "/proc/\(parent.processIdentifier)"
        // Read while the child runs (it is listed before and after the read) until it has
        // burnt 100 ms: the parent's own time is ~0, so only the live child can account for it.
        var live: Int64 = 0
        let start = ContinuousClock.now
        while ProcessCPU.children(path).isEmpty, ContinuousClock.now - start < .seconds(10) {
            Thread.sleep(forTimeInterval: 0.01)
        }
        while ContinuousClock.now - start < .seconds(20) {
            let before = ProcessCPU.children(path)
            live = try process.microseconds()
            guard !before.isEmpty, !ProcessCPU.children(path).isEmpty else {
                Issue.record("the child ended before 100 ms of its CPU were seen: \(live) µs")
                return
            }
            if live > 100_000 { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        #expect(live > 100_000, "the running child's CPU counts: \(live) µs")
        // Once the child has exited and been reaped, its time moves to the parent's cutime.
        while !ProcessCPU.children(path).isEmpty, ContinuousClock.now - start < .seconds(30) {
            Thread.sleep(forTimeInterval: 0.05)
        }
        Thread.sleep(forTimeInterval: 0.1)
        let reaped = try process.microseconds()
        #expect(ProcessCPU.children(path).isEmpty)
        #expect(reaped > live + 300_000, "reaped: \(reaped) µs, live: \(live) µs")
    }
}
