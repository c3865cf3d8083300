import Crypto
import Foundation

enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    /// Lowercase hex of `bytes`.
    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Lowercase hex of the SHA-256 of `text`'s UTF-8.
    static func sha256(_ text: String) -> String {
        encode(SHA256.hash(data: Data(text.utf8)))
    }
}
