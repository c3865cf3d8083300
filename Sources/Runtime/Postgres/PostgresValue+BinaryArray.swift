import Foundation

/// Array parameters in Postgres's binary format (`array_recv`): no quoting and escaping here,
/// no `array_in`/`uuid_in`/timestamp parsing on the server, which were 7% of its CPU on the
/// order path (BENCHMARKS.md, session 6), and the batched event JSON goes as its bytes instead
/// of with every `"` escaped.
///
/// Layout (`src/backend/utils/adt/arrayfuncs.c`, `array_recv`): dimensions (1, or 0 for an
/// empty array), a has-NULLs flag, the element type OID, per dimension its length and lower
/// bound (1); then per element its length (-1 for NULL) and its bytes in the element type's
/// binary form (`uuid_recv`: 16 bytes; `int2/4/8recv`, `float8recv`: big-endian;
/// `boolrecv`: one byte; `textrecv`, `bytearecv`: the bytes; `timestamptz_recv`: microseconds
/// since 2000-01-01 UTC as a big-endian int8).
extension PostgresValue {
    /// The element type of an array sent in binary; nil: the parameter goes as text. An
    /// untyped `.array` qualifies when every non-NULL element is of one binary-encodable kind
    /// (a `numeric`, a `jsonb`, a nested array, mixed kinds or only NULLs keep the text form
    /// and the statement's cast).
    var binaryArrayElement: PostgresType? {
        switch self {
        case .uuidArray: .uuid
        case .int32Array: .int4
        case .int64Array: .int8
        case .textArray: .text
        case .boolArray: .bool
        case .timestamptzArray: .timestamptz
        case .float8Array: .float8
        case .array(let elements): Self.commonBinaryElement(elements)
        default: nil
        }
    }

    private static func commonBinaryElement(_ elements: [PostgresValue]) -> PostgresType? {
        var common: PostgresType?
        for element in elements {
            let type: PostgresType
            switch element {
            case .null: continue
            case .uuid: type = .uuid
            case .text: type = .text
            case .bool: type = .bool
            case .int16: type = .int2
            case .int32: type = .int4
            case .int64: type = .int8
            case .timestamptz: type = .timestamptz
            case .bytea: type = .bytea
            default: return nil
            }
            if let common, common != type { return nil }
            common = type
        }
        return common
    }

    /// A text element holding NUL, which no Postgres text value can.
    struct NULInText: Error {}

    /// The array in binary format; `binaryArrayElement` must be non-nil.
    func binaryArray() throws(NULInText) -> [UInt8] {
        guard let element = binaryArrayElement else { preconditionFailure("\(typeOID) is not sent in binary") }
        var writer = BinaryArrayWriter(element: element)
        switch self {
        case .uuidArray(let values): writer.append(values) { Self.appendUUID($0, to: &$1); return true }
        case .int32Array(let values): writer.append(values) { Self.appendBigEndian($0, to: &$1); return true }
        case .int64Array(let values): writer.append(values) { Self.appendBigEndian($0, to: &$1); return true }
        case .boolArray(let values): writer.append(values) { $1.append($0 ? 1 : 0); return true }
        case .float8Array(let values): writer.append(values) { Self.appendBigEndian($0.bitPattern, to: &$1); return true }
        case .timestamptzArray(let values): writer.append(values) { Self.appendTimestamp($0, to: &$1); return true }
        case .textArray(let values):
            try writer.append(values) { (value, out) throws(NULInText) in
                try Self.appendText(value, to: &out)
                return true
            }
        case .array(let values): try writer.appendScalars(values)
        default: preconditionFailure("\(typeOID) is not sent in binary")
        }
        return writer.finish()
    }

    fileprivate static func appendUUID(_ value: UUID, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.uuid) { out.append(contentsOf: $0) }
    }

    fileprivate static func appendBigEndian<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { out.append(contentsOf: $0) }
    }

    fileprivate static func appendText(_ value: String, to out: inout [UInt8]) throws(NULInText) {
        var value = value
        let clean = value.withUTF8 { bytes in
            guard !bytes.contains(0) else { return false }
            out.append(contentsOf: bytes)
            return true
        }
        guard clean else { throw NULInText() }
    }

    /// Microseconds since 2000-01-01 UTC, rounded as the text form rounds them. A date beyond
    /// Int64 microseconds is sent as the largest one, which the server refuses as out of range
    /// like any other date past its years.
    fileprivate static func appendTimestamp(_ value: Date, to out: inout [UInt8]) {
        let micros = (value.timeIntervalSince1970 * 1_000_000).rounded() - 946_684_800_000_000
        appendBigEndian(Int64(exactly: micros) ?? (micros < 0 ? .min : .max), to: &out)
    }
}

/// Writes one binary array: a header whose counts are filled in at the end, then the
/// elements, each behind its length.
private struct BinaryArrayWriter {
    private static let headerSize = 20
    private var bytes = [UInt8](repeating: 0, count: headerSize)
    private var count: Int32 = 0
    private var hasNull = false
    private let element: PostgresType

    init(element: PostgresType) {
        self.element = element
    }

    /// `write` appends an element's bytes, or returns false for NULL (writing nothing).
    mutating func append<Elements: Collection, Failure: Error>(
        _ values: Elements, _ write: (Elements.Element, inout [UInt8]) throws(Failure) -> Bool
    ) throws(Failure) {
        bytes.reserveCapacity(bytes.count + values.count * 24)
        for value in values {
            let start = bytes.count
            bytes.append(contentsOf: repeatElement(0, count: 4))
            if try write(value, &bytes) {
                set(Int32(bytes.count - start - 4), at: start)
            } else {
                set(-1, at: start)
                hasNull = true
            }
            count += 1
        }
    }

    /// Elements of an untyped `.array` whose non-NULL elements all have the writer's type.
    mutating func appendScalars(_ values: [PostgresValue]) throws(PostgresValue.NULInText) {
        try append(values) { (value, out) throws(PostgresValue.NULInText) in
            switch value {
            case .uuid(let uuid): PostgresValue.appendUUID(uuid, to: &out)
            case .text(let text): try PostgresValue.appendText(text, to: &out)
            case .bool(let flag): out.append(flag ? 1 : 0)
            case .int16(let number): PostgresValue.appendBigEndian(number, to: &out)
            case .int32(let number): PostgresValue.appendBigEndian(number, to: &out)
            case .int64(let number): PostgresValue.appendBigEndian(number, to: &out)
            case .timestamptz(let date): PostgresValue.appendTimestamp(date, to: &out)
            case .bytea(let data): out.append(contentsOf: data)
            default: return false  // NULL (`binaryArrayElement` let no other kind through)
            }
            return true
        }
    }

    consuming func finish() -> [UInt8] {
        set(Int32(bitPattern: element.rawValue), at: 8)
        guard count > 0 else {
            // No dimensions: the header is dimensions (0), flags (0) and the element type.
            return Array(bytes[0..<12])
        }
        set(1, at: 0)
        set(hasNull ? 1 : 0, at: 4)
        set(count, at: 12)
        set(1, at: 16)  // lower bound
        return bytes
    }

    private mutating func set(_ value: Int32, at offset: Int) {
        withUnsafeBytes(of: value.bigEndian) { raw in
            for index in 0..<4 { bytes[offset + index] = raw[index] }
        }
    }
}
