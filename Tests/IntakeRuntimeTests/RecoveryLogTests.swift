import IntakeRuntime
import Testing

/// A restore whose recovery stops short of the target says why, from the restored cluster's
/// log (hostile review, session 16: a damaged archived segment was reported as "cannot
/// connect ... Connection refused").
@Suite("What a recovery log says about a restore that fell short")
struct RecoveryLogTests {
    @Test func aDamagedSegmentIsNamedWithTheLastTransactionAndTheFatal() {
        let log = """
            2026-11-30 22:25:01.100 UTC [900] LOG:  starting point-in-time recovery to 2026-11-30 22:20:03.737+00
            2026-11-30 22:25:01.300 UTC [900] LOG:  restored log file "000000010000000000000009" from archive
            2026-11-30 22:25:01.310 UTC [900] LOG:  redo starts at 0/9000028
            ERROR: [042]: unable to get 00000001000000000000000A:
                   repo1: 15-1/0000000100000000/00000001000000000000000A-a5d5.lz4 [FormatError] lz4 error: [-16] ERROR_decompressionFailed
            ERROR: [042]: unable to get 00000001000000000000000A:
                   repo1: 15-1/0000000100000000/00000001000000000000000A-a5d5.lz4 [FormatError] lz4 error: [-16] ERROR_decompressionFailed
            2026-11-30 22:25:01.500 UTC [900] LOG:  redo done at 0/9FFFF80 system usage: CPU: user: 0.01 s
            2026-11-30 22:25:01.500 UTC [900] LOG:  last completed transaction was at log time 2026-11-30 22:17:54.120931+00
            2026-11-30 22:25:01.501 UTC [900] FATAL:  recovery ended before configured recovery target was reached
            2026-11-30 22:25:01.510 UTC [899] LOG:  startup process (PID 900) exited with exit code 1
            """
        let read = RecoveryLog(log)
        #expect(read.fatal == "recovery ended before configured recovery target was reached")
        #expect(read.lastTransaction == "2026-11-30 22:17:54.120931+00")
        let archiveError =
            "[042]: unable to get 00000001000000000000000A: repo1: 15-1/0000000100000000/00000001000000000000000A-a5d5.lz4 [FormatError] lz4 error: [-16] ERROR_decompressionFailed"
        #expect(read.archiveError == archiveError)
        #expect(
            read.summary
                == "recovery stopped short of the target: recovery ended before configured recovery target was reached; "
                + "the last transaction replayed was at 2026-11-30 22:17:54.120931+00; "
                + "the archive: " + archiveError)
    }

    @Test func aBrokenRecordInTheWALIsNamed() {
        let log = """
            2026-11-30 22:25:01.310 UTC [900] LOG:  redo starts at 0/9000028
            2026-11-30 22:25:01.400 UTC [900] LOG:  incorrect resource manager data checksum in record at 0/A000060
            2026-11-30 22:25:01.501 UTC [900] FATAL:  recovery ended before configured recovery target was reached
            """
        let summary = RecoveryLog(log).summary
        #expect(summary?.contains("the last transaction replayed was none after the backup") == true, "\(summary ?? "")")
        #expect(summary?.contains("reading the WAL: incorrect resource manager data checksum in record at 0/A000060") == true)
    }

    @Test func aRecoveryWithoutAFatalHasNothingToSay() {
        let log = """
            2026-11-30 22:25:01.310 UTC [900] LOG:  redo starts at 0/9000028
            2026-11-30 22:25:01.500 UTC [900] LOG:  last completed transaction was at log time 2026-11-30 22:17:54+00
            2026-11-30 22:25:01.600 UTC [899] LOG:  database system is ready to accept connections
            """
        #expect(RecoveryLog(log).summary == nil)
        #expect(RecoveryLog("").summary == nil)
    }
}
