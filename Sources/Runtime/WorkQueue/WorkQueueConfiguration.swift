/// Settings of a process's queue workers.
public struct WorkQueueConfiguration: Sendable {
    /// Names this process in `jobs.locked_by`; unique per process.
    public var workerName: String
    /// How long a fetched job stays leased without a heartbeat; a job whose lease expires is
    /// rescued and runs again.
    public var lease: Duration
    /// How often producers look for work without a notification (scheduled jobs, retries,
    /// notifications lost while disconnected).
    public var pollInterval: Duration
    public var retrySchedule: RetrySchedule
    /// At shutdown, how long running jobs may take to finish before they are cancelled and
    /// released.
    public var shutdownDeadline: Duration

    public init(
        workerName: String = WorkQueueConfiguration.defaultWorkerName(), lease: Duration = .seconds(60),
        pollInterval: Duration = .seconds(1), retrySchedule: RetrySchedule = RetrySchedule(),
        shutdownDeadline: Duration = .seconds(10)
    ) {
        self.workerName = workerName
        self.lease = lease
        self.pollInterval = pollInterval
        self.retrySchedule = retrySchedule
        self.shutdownDeadline = shutdownDeadline
    }

    /// `host:pid:random`, so that two processes never share a name.
    public static func defaultWorkerName() -> String {
        let host = ProcessInfoLite.hostName()
        return "\(host):\(ProcessInfoLite.pid()):\(UInt32.random(in: 0...UInt32.max))"
    }
}
