import Testing

@testable import IntakeServer

/// Which client trace headers reach the tracer (W3C Trace Context): the rest start a new
/// trace without a word, since the tracer logs what it cannot decode, headers and all.
@Suite("Trace headers")
struct TraceHeadersTests {
    @Test func onlyWellFormedTraceparentsPass() {
        #expect(TraceHeaders.isValidTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
        #expect(TraceHeaders.isValidTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"), "unsampled is valid")
        #expect(TraceHeaders.isValidTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"), "a later version's extra fields")
        for bad in [
            "junk", "", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01", "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01",
            String(repeating: "00-", count: 5000),
        ] {
            #expect(!TraceHeaders.isValidTraceparent(bad), "\(bad.prefix(80))")
        }
    }

    @Test func onlyWellFormedTracestatesPass() {
        #expect(TraceHeaders.isValidTracestate("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"))
        #expect(TraceHeaders.isValidTracestate("vendor@tenant=x"))
        let forged = #"{"ts":"2026-11-29T13:00:00.000Z","level":"critical","msg":"FORGED"}"#
        #expect(!TraceHeaders.isValidTracestate(forged), "a JSON log line is no tracestate")
        #expect(!TraceHeaders.isValidTracestate((0..<33).map { "k\($0)=v" }.joined(separator: ",")), "33 members")
        #expect(!TraceHeaders.isValidTracestate("k=" + String(repeating: "v", count: 600)), "over 512 characters")
        #expect(!TraceHeaders.isValidTracestate("Upper=v") && !TraceHeaders.isValidTracestate("k=") && !TraceHeaders.isValidTracestate(""))
    }
}
