import Foundation
import IntakeRuntime
import Testing

@Suite("UUIDs from their canonical text")
struct UUIDCanonicalTests {
    /// Every id Foundation writes reads back, in either case, to the same UUID.
    @Test func canonicalTextReadsBack() {
        for _ in 0..<1000 {
            let id = UUID()
            #expect(UUID(canonical: id.uuidString) == id)
            #expect(UUID(canonical: id.uuidString.lowercased()) == id)
            #expect(UUID(canonicalUTF8: Array(id.uuidString.utf8)[...]) == id)
        }
        #expect(UUID(canonical: "00000000-0000-0000-0000-000000000000") == UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)))
        #expect(UUID(canonical: "01234567-89ab-cdef-0123-456789abcdef")?.uuidString == "01234567-89AB-CDEF-0123-456789ABCDEF")
    }

    /// Anything but exactly 8-4-4-4-12 hex digits is refused: what `sscanf` would skip or
    /// accept (spaces, signs, `0x`), braces, other lengths, bytes outside ASCII.
    @Test func everythingElseIsRefused() {
        let refused = [
            "", "01234567-89ab-cdef-0123-456789abcde", "01234567-89ab-cdef-0123-456789abcdef0",
            "0123456789abcdef0123456789abcdef", "{01234567-89ab-cdef-0123-456789abcdef}",
            " 1234567-89ab-cdef-0123-456789abcdef", "+1234567-89ab-cdef-0123-456789abcdef",
            "0x234567-89ab-cdef-0123-456789abcdef", "01234567-89ab-cdef-0123-456789abcdeg",
            "01234567+89ab-cdef-0123-456789abcdef", "01234567-89ab-cdef-0123-456789abcd\u{0}f",
            "01234567-89ab-cdef-0123-456789abc\u{e9}", "01234567_89ab_cdef_0123_456789abcdef",
            "01234567-89ab-cdef-0123--56789abcdef", "-1234567-89ab-cdef-0123-456789abcdef",
            "0123456-789ab-cdef-0123-456789abcdef",
        ]
        for text in refused {
            #expect(UUID(canonical: text) == nil, "\(text.debugDescription)")
        }
    }
}
