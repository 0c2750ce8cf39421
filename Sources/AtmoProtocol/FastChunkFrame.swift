import Foundation

/// **Extension**: one chunk of a `fast_binary` transfer, carried as the opaque payload of a
/// relay binary `direct` frame (`RelayBinaryFrame`). No JSON, no base64.
///
/// Layout (integers big-endian):
///
/// | bytes | meaning |
/// |---|---|
/// | 0 ..< 4 | magic `ATC1` (`0x41 0x54 0x43 0x31`) |
/// | 4 | L, the length of the request id, 1...64 |
/// | 5 ..< 5+L | the `request_id`, printable ASCII without spaces (a UUID string) |
/// | 5+L ..< 13+L | u64 chunk index (absolute over the file), at most `Int64.max` |
/// | 13+L ..< 17+L | u32 data length N, at most `WireLimits.maxBinaryChunkBytes` (4 MiB) |
/// | 17+L ..< 49+L | the raw SHA-256 of the data (32 bytes) |
/// | 49+L ..< 49+L+N | the data; the frame ends exactly here |
public struct FastChunkFrame: Sendable, Hashable {
    /// The first four bytes of every frame: ASCII `ATC1` (Atmosphere transfer chunk, v1).
    public static let magic: [UInt8] = [0x41, 0x54, 0x43, 0x31]
    /// The longest request id a frame carries.
    public static let maxRequestIDBytes = 64
    /// Bytes of the SHA-256 digest.
    public static let digestBytes = 32
    /// Header bytes besides the request id: magic, id length, index, data length, digest.
    public static let fixedHeaderBytes = 4 + 1 + 8 + 4 + digestBytes

    /// The header of a frame, read without touching the data.
    public struct Header: Sendable, Hashable {
        /// The transfer's `request_id`.
        public var requestID: String
        /// The chunk index, absolute over the file.
        public var chunkIndex: Int64
        /// Bytes of data after the header.
        public var dataLength: Int
        /// The raw SHA-256 of the data, as the sender states it (the receiver verifies it).
        public var sha256: [UInt8]
        /// Bytes before the data: `fixedHeaderBytes + requestID.utf8.count`.
        public var length: Int

        /// A header; `length` is derived from the request id.
        public init(requestID: String, chunkIndex: Int64, dataLength: Int, sha256: [UInt8]) {
            self.requestID = requestID
            self.chunkIndex = chunkIndex
            self.dataLength = dataLength
            self.sha256 = sha256
            self.length = FastChunkFrame.fixedHeaderBytes + requestID.utf8.count
        }
    }

    /// The transfer's `request_id`.
    public var requestID: String
    /// The chunk index, absolute over the file.
    public var chunkIndex: Int64
    /// The raw SHA-256 of `data` (32 bytes).
    public var sha256: [UInt8]
    /// The chunk's bytes.
    public var data: Data

    /// A frame of `data`, whose SHA-256 the caller computed.
    public init(requestID: String, chunkIndex: Int64, sha256: [UInt8], data: Data) {
        self.requestID = requestID
        self.chunkIndex = chunkIndex
        self.sha256 = sha256
        self.data = data
    }

    /// The header bytes of a frame, for a sender that writes the data after it without
    /// copying. Throws a `WireError` when a field cannot be carried: a request id that is
    /// empty, longer than 64 bytes or not printable ASCII without spaces; a negative index; a
    /// data length outside 0...4 MiB; a digest that is not 32 bytes.
    public static func headerBytes(requestID: String, chunkIndex: Int64, dataLength: Int, sha256: [UInt8]) throws(WireError) -> [UInt8] {
        let id = Array(requestID.utf8)
        guard (1...maxRequestIDBytes).contains(id.count), id.allSatisfy(isIDByte) else {
            throw WireError(
                .invalidValue, "chunk frame: the request id must be 1-\(maxRequestIDBytes) printable ASCII bytes without spaces")
        }
        guard chunkIndex >= 0 else { throw WireError(.invalidValue, "chunk frame: negative chunk index \(chunkIndex)") }
        guard (0...WireLimits.maxBinaryChunkBytes).contains(dataLength) else {
            throw WireError(.tooLarge, "chunk frame: data length \(dataLength) is outside 0...\(WireLimits.maxBinaryChunkBytes)")
        }
        guard sha256.count == digestBytes else {
            throw WireError(.invalidValue, "chunk frame: the SHA-256 must be \(digestBytes) bytes, not \(sha256.count)")
        }
        var bytes = magic
        bytes.reserveCapacity(fixedHeaderBytes + id.count)
        bytes.append(UInt8(id.count))
        bytes.append(contentsOf: id)
        bytes.append(contentsOf: bigEndianBytes(UInt64(chunkIndex), count: 8))
        bytes.append(contentsOf: bigEndianBytes(UInt64(dataLength), count: 4))
        bytes.append(contentsOf: sha256)
        return bytes
    }

    /// The whole frame: header then data.
    public func encoded() throws(WireError) -> Data {
        var frame = Data(try Self.headerBytes(requestID: requestID, chunkIndex: chunkIndex, dataLength: data.count, sha256: sha256))
        frame.append(data)
        return frame
    }

    /// Reads and checks the header of `frame` (the whole payload: header and data). Throws a
    /// `WireError` that says what is wrong: a wrong magic, a request id length outside
    /// 1...64 or bytes that are not printable ASCII, an index above `Int64.max`, a data
    /// length above 4 MiB, or a frame shorter or longer than its header says.
    public static func parseHeader<Bytes: Collection<UInt8>>(_ frame: Bytes) throws(WireError) -> Header {
        var reader = ByteReader(iterator: frame.makeIterator())
        let start = reader.take(magic.count)
        guard start.count == magic.count else {
            throw WireError(.missingField, "chunk frame: \(frame.count) bytes, shorter than its magic")
        }
        guard start == magic else { throw WireError(.invalidValue, "chunk frame: wrong magic (expected ATC1)") }
        guard let idLength = reader.take(1).first else { throw WireError(.missingField, "chunk frame: no request id length") }
        guard (1...maxRequestIDBytes).contains(Int(idLength)) else {
            throw WireError(.invalidValue, "chunk frame: request id length \(idLength) is outside 1...\(maxRequestIDBytes)")
        }
        let headerLength = fixedHeaderBytes + Int(idLength)
        guard frame.count >= headerLength else {
            throw WireError(.missingField, "chunk frame: \(frame.count) bytes, shorter than its \(headerLength)-byte header")
        }
        let id = reader.take(Int(idLength))
        guard id.allSatisfy(isIDByte) else {
            throw WireError(.invalidValue, "chunk frame: the request id must be printable ASCII without spaces")
        }
        let index = bigEndianValue(reader.take(8))
        guard index <= UInt64(Int64.max) else { throw WireError(.invalidValue, "chunk frame: chunk index \(index) exceeds Int64.max") }
        let dataLength = bigEndianValue(reader.take(4))
        guard dataLength <= UInt64(WireLimits.maxBinaryChunkBytes) else {
            throw WireError(.tooLarge, "chunk frame: data length \(dataLength) exceeds \(WireLimits.maxBinaryChunkBytes)")
        }
        let digest = reader.take(digestBytes)
        let expected = headerLength + Int(dataLength)
        guard frame.count == expected else {
            let relation = frame.count < expected ? "shorter" : "longer"
            throw WireError(
                frame.count < expected ? .missingField : .invalidValue,
                "chunk frame: \(frame.count) bytes, \(relation) than its header says (\(headerLength) + \(dataLength))")
        }
        return Header(requestID: String(decoding: id, as: UTF8.self), chunkIndex: Int64(index), dataLength: Int(dataLength), sha256: digest)
    }

    /// Decodes a whole frame (header checks of `parseHeader`). The digest is not verified
    /// here: the transfer's receiver does that. The data is copied in one block from
    /// contiguous storage (`Data`, `[UInt8]`, a NIO `ByteBufferView`), byte by byte otherwise.
    public static func decode<Bytes: Collection<UInt8>>(_ frame: Bytes) throws(WireError) -> FastChunkFrame {
        let header = try parseHeader(frame)
        let contiguous = frame.withContiguousStorageIfAvailable { Data(buffer: UnsafeBufferPointer(rebasing: $0[header.length...])) }
        let data = contiguous ?? Data(frame.dropFirst(header.length))
        return FastChunkFrame(requestID: header.requestID, chunkIndex: header.chunkIndex, sha256: header.sha256, data: data)
    }

    private static func isIDByte(_ byte: UInt8) -> Bool { byte > 0x20 && byte < 0x7F }

    private static func bigEndianBytes(_ value: UInt64, count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64(count - 1 - $0))) }
    }

    private static func bigEndianValue(_ bytes: [UInt8]) -> UInt64 {
        bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }
}

/// Reads bytes from the front of a collection, one field at a time.
private struct ByteReader<Iterator: IteratorProtocol<UInt8>> {
    var iterator: Iterator

    /// Up to `count` bytes; fewer when the collection ends first.
    mutating func take(_ count: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        while bytes.count < count, let byte = iterator.next() { bytes.append(byte) }
        return bytes
    }
}
