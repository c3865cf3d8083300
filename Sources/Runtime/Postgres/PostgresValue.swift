import Foundation

/// A statement parameter: a typed value, or SQL NULL.
///
/// Each case is sent with its Postgres type, so `$1` needs no cast in SQL. Arrays feed bulk
/// statements such as `INSERT ... SELECT * FROM unnest($1::uuid[], $2::int[])`.
public enum PostgresValue: Sendable, Hashable {
    case null
    case uuid(UUID)
    case text(String)
    case bool(Bool)
    case int16(Int16)
    case int32(Int32)
    case int64(Int64)
    /// Exact decimal; never a binary float, so money stays exact.
    case numeric(Decimal)
    case timestamptz(Date)
    case bytea([UInt8])
    /// A JSON document, as its text.
    case jsonb(String)
    case uuidArray([UUID])
    case int32Array([Int32])
    case int64Array([Int64])
    case textArray([String])
    case numericArray([Decimal])
    case boolArray([Bool])
    case timestamptzArray([Date])
    /// `float8[]`; NaN and infinities are sent as Postgres spells them.
    case float8Array([Double])
    /// An array of scalars, NULLs allowed; the statement must cast its parameter
    /// (`$1::uuid[]`). Sent in binary, typed by its elements, when they are all of one kind
    /// (`binaryArrayElement`), else as untyped text for the cast to type. Group commit builds
    /// these from batched rows.
    case array([PostgresValue])

    /// The Postgres type OID sent with the parameter.
    var typeOID: UInt32 {
        switch self {
        case .null: 0  // let the server infer it from the statement
        case .uuid: PostgresType.uuid.rawValue
        case .text: PostgresType.text.rawValue
        case .bool: PostgresType.bool.rawValue
        case .int16: PostgresType.int2.rawValue
        case .int32: PostgresType.int4.rawValue
        case .int64: PostgresType.int8.rawValue
        case .numeric: PostgresType.numeric.rawValue
        case .timestamptz: PostgresType.timestamptz.rawValue
        case .bytea: PostgresType.bytea.rawValue
        case .jsonb: PostgresType.jsonb.rawValue
        case .uuidArray: PostgresType.uuidArray.rawValue
        case .int32Array: PostgresType.int4Array.rawValue
        case .int64Array: PostgresType.int8Array.rawValue
        case .textArray: PostgresType.textArray.rawValue
        case .numericArray: PostgresType.numericArray.rawValue
        case .boolArray: PostgresType.boolArray.rawValue
        case .timestamptzArray: PostgresType.timestamptzArray.rawValue
        case .float8Array: PostgresType.float8Array.rawValue
        case .array: binaryArrayElement?.arrayType?.rawValue ?? 0  // else typed by the statement's cast
        }
    }
}

extension PostgresValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .int64(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(nilLiteral: ()) { self = .null }
}

extension PostgresValue {
    /// `.text(value)`, or `.null` when `value` is nil.
    public static func optionalText(_ value: String?) -> PostgresValue { value.map { .text($0) } ?? .null }
    /// `.uuid(value)`, or `.null` when `value` is nil.
    public static func optionalUUID(_ value: UUID?) -> PostgresValue { value.map { .uuid($0) } ?? .null }
    /// `.int64(value)` from a Swift `Int`.
    public static func int(_ value: Int) -> PostgresValue { .int64(Int64(value)) }
}

/// The built-in Postgres types the client encodes and decodes, by OID.
public struct PostgresType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let bool = PostgresType(rawValue: 16)
    public static let bytea = PostgresType(rawValue: 17)
    public static let name = PostgresType(rawValue: 19)
    public static let int8 = PostgresType(rawValue: 20)
    public static let int2 = PostgresType(rawValue: 21)
    public static let int4 = PostgresType(rawValue: 23)
    public static let text = PostgresType(rawValue: 25)
    public static let oid = PostgresType(rawValue: 26)
    public static let json = PostgresType(rawValue: 114)
    public static let float4 = PostgresType(rawValue: 700)
    public static let float8 = PostgresType(rawValue: 701)
    public static let float8Array = PostgresType(rawValue: 1022)
    public static let boolArray = PostgresType(rawValue: 1000)
    public static let byteaArray = PostgresType(rawValue: 1001)
    public static let int2Array = PostgresType(rawValue: 1005)
    public static let int4Array = PostgresType(rawValue: 1007)
    public static let textArray = PostgresType(rawValue: 1009)
    public static let varcharArray = PostgresType(rawValue: 1015)
    public static let int8Array = PostgresType(rawValue: 1016)
    public static let bpchar = PostgresType(rawValue: 1042)
    public static let varchar = PostgresType(rawValue: 1043)
    public static let timestamp = PostgresType(rawValue: 1114)
    public static let timestamptz = PostgresType(rawValue: 1184)
    public static let timestamptzArray = PostgresType(rawValue: 1185)
    public static let numericArray = PostgresType(rawValue: 1231)
    public static let numeric = PostgresType(rawValue: 1700)
    public static let uuid = PostgresType(rawValue: 2950)
    public static let uuidArray = PostgresType(rawValue: 2951)
    public static let jsonb = PostgresType(rawValue: 3802)

    public var description: String { "oid \(rawValue)" }

    /// The type of an array of this type, for the element types arrays are sent in binary with.
    var arrayType: PostgresType? {
        switch self {
        case .uuid: .uuidArray
        case .text: .textArray
        case .bool: .boolArray
        case .int2: .int2Array
        case .int4: .int4Array
        case .int8: .int8Array
        case .timestamptz: .timestamptzArray
        case .bytea: .byteaArray
        case .float8: .float8Array
        default: nil
        }
    }

    var isText: Bool { [.text, .varchar, .bpchar, .name, .json, .jsonb].contains(self) }
    var isInteger: Bool { [.int2, .int4, .int8, .oid].contains(self) }
    var isArray: Bool {
        [.boolArray, .byteaArray, .int2Array, .int4Array, .textArray, .varcharArray, .int8Array, .timestamptzArray,
         .numericArray, .uuidArray, .float8Array].contains(self)
    }
}
