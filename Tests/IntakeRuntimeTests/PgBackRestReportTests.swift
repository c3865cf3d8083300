@testable import IntakeRuntime
import Testing

/// pgBackRest 2.45's `verify` exits 0 whatever it finds: its text report decides.
@Suite("pgBackRest verify reports")
struct PgBackRestReportTests {
    @Test func onlyAStanzaStatusOfOkIsValid() {
        let valid = """
            stanza: intake
            status: ok
              archiveId: 15-1, total WAL checked: 34, total valid WAL: 34
                missing: 0, checksum invalid: 0, size invalid: 0, other: 0
              backup: 20261130-133015F, status: valid, total files checked: 1350, total valid files: 1350
                missing: 0, checksum invalid: 0, size invalid: 0, other: 0
            """
        #expect(PgBackRest.reportsValid(valid))
        let damaged = """
            stanza: intake
            status: error
              backup: 20261130-133015F_20261130-133618I, status: invalid, total files checked: 1368, total valid files: 1367
                checksum invalid: 1
            """
        #expect(!PgBackRest.reportsValid(damaged))
        #expect(!PgBackRest.reportsValid(""), "no report says nothing was checked")
    }
}
