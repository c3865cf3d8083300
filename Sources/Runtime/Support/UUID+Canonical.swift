import Foundation

extension UUID {
    /// The UUID written in its canonical text form (RFC 9562 §4: 32 hex digits, either case,
    /// grouped 8-4-4-4-12 by hyphens, 36 characters), and nothing else: no braces, spaces,
    /// signs or `0x`. Foundation's `init(uuidString:)` goes through `sscanf`, a visible share
    /// of an order's parsing (its product ids); this reads the bytes once.
    public init?(canonicalUTF8 text: some Collection<UInt8>) {
        // Generic callers in other modules get this unspecialized: the bytes are read through
        // contiguous storage (an order body's `ArraySlice`, a `String`'s UTF-8) in one
        // non-generic loop instead of one protocol-witness call per byte.
        let parsed = text.withContiguousStorageIfAvailable { Self.parseCanonical($0) } ?? Self.parseCanonical(Array(text))
        guard let parsed else { return nil }
        self.init(uuid: parsed)
    }

    private static func parseCanonical(_ bytes: some RandomAccessCollection<UInt8>) -> uuid_t? {
        guard bytes.count == 36 else { return nil }
        var raw: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let parsed = withUnsafeMutableBytes(of: &raw) { out -> Bool in
            var index = 0
            var high: UInt8?
            for (position, character) in bytes.enumerated() {
                if position == 8 || position == 13 || position == 18 || position == 23 {
                    guard character == UInt8(ascii: "-") else { return false }
                    continue
                }
                let nibble: UInt8
                switch character {
                case 48...57: nibble = character - 48
                case 97...102: nibble = character - 87
                case 65...70: nibble = character - 55
                default: return false
                }
                if let first = high {
                    out[index] = first << 4 | nibble
                    index += 1
                    high = nil
                } else {
                    high = nibble
                }
            }
            return index == 16
        }
        return parsed ? raw : nil
    }

    /// `init(canonicalUTF8:)` of a string.
    public init?(canonical text: some StringProtocol) {
        self.init(canonicalUTF8: text.utf8)
    }
}
