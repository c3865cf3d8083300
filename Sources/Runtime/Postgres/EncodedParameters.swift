import CLibPQ

/// A statement's parameters in libpq's wire layout: one buffer of NUL-terminated values, their
/// lengths, formats (text 0, binary 1) and type OIDs. Encoding can fail (a NUL inside a text
/// value); doing it before anything is sent lets a pipeline refuse a batch whole.
struct EncodedParameters {
    private(set) var types: [Oid] = []
    private var lengths: [Int32] = []
    private var formats: [Int32] = []
    private var offsets: [Int?] = []
    private var storage: [UInt8] = []

    var count: Int { types.count }

    /// Throws `.encoding` naming the parameter (`$n`) that cannot be sent.
    init(_ parameters: [PostgresValue]) throws {
        types.reserveCapacity(parameters.count)
        for (index, parameter) in parameters.enumerated() {
            types.append(parameter.typeOID)
            // Text parameters are NUL-terminated (libpq ignores their length), so a NUL inside
            // one would silently cut it short; no text element of a binary array can hold one.
            let nulError = { PostgresError(
                code: .encoding, message: "parameter $\(index + 1) contains a NUL character, which Postgres text cannot hold") }
            let encoded: (bytes: [UInt8], isBinary: Bool)?
            do {
                encoded = try parameter.encoded()
            } catch {
                throw nulError()
            }
            guard let (bytes, isBinary) = encoded else {
                offsets.append(nil)
                lengths.append(0)
                formats.append(0)
                continue
            }
            if !isBinary, bytes.contains(0) { throw nulError() }
            offsets.append(storage.count)
            storage.append(contentsOf: bytes)
            storage.append(0)
            lengths.append(Int32(bytes.count))
            formats.append(isBinary ? 1 : 0)
        }
        storage.append(0)
    }

    /// Calls `body` with libpq's parameter arrays (types, values, lengths, formats), valid
    /// for the call only.
    func withPointers<T>(
        _ body: (
            UnsafePointer<Oid>?, UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int32>?, UnsafePointer<Int32>?
        ) throws -> T
    ) rethrows -> T {
        try storage.withUnsafeBufferPointer { buffer in
            // `storage` ends with a NUL, so it is never empty and has a base address.
            let base = buffer.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }
            let pointers: [UnsafePointer<CChar>?] = offsets.map { offset in
                guard let offset, let base else { return nil }
                return base + offset
            }
            return try pointers.withUnsafeBufferPointer { values in
                try body(types, values.baseAddress, lengths, formats)
            }
        }
    }
}
