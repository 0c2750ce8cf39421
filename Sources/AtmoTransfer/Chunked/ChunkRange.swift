import AtmoProtocol

/// The chunks of one `websocket_chunked` transfer. Chunk indices are absolute over the file:
/// chunk `i` covers bytes `[i * chunkSize, min((i + 1) * chunkSize, totalBytes))`, whatever
/// range is being sent, so a chunk's bytes (and its SHA-256) never depend on the range. The
/// range itself is aligned: it starts on a chunk boundary and ends on one or at the file's end
/// (an empty range may sit anywhere: it holds no chunk).
public struct ChunkRange: Sendable, Hashable, CustomStringConvertible {
    /// The whole file's size.
    public let totalBytes: Int64
    /// Bytes per chunk (the last chunk of the file may be shorter).
    public let chunkSize: Int64
    /// The first byte of the range, a multiple of `chunkSize`.
    public let startByte: Int64
    /// The exclusive end of the range: a multiple of `chunkSize`, or `totalBytes`.
    public let endByte: Int64

    /// An aligned range, or nil when the values do not describe one (a non-positive chunk
    /// size, a start not on a chunk boundary, an end neither on one nor at the file's end,
    /// or `0 <= startByte <= endByte <= totalBytes` broken). An empty range needs no alignment.
    public init?(totalBytes: Int64, chunkSize: Int64, startByte: Int64, endByte: Int64) {
        guard chunkSize > 0, startByte >= 0, startByte <= endByte, endByte <= totalBytes else { return nil }
        let aligned = startByte % chunkSize == 0 && (endByte % chunkSize == 0 || endByte == totalBytes)
        guard aligned || startByte == endByte else { return nil }
        self.totalBytes = totalBytes
        self.chunkSize = chunkSize
        self.startByte = startByte
        self.endByte = endByte
    }

    /// The aligned range that covers the bytes `[from, to)` of a file: `from` rounded down
    /// and `to` rounded up to chunk boundaries, `to` clamped to the file's end. Nil when
    /// `from` is negative or beyond the end of the file, `to < from`, or `chunkSize <= 0`.
    /// An empty request (`from == to`, or `from` at the end of the file) is the empty range
    /// at `from`: nothing is re-sent.
    public static func covering(from: Int64, to: Int64?, totalBytes: Int64, chunkSize: Int64) -> ChunkRange? {
        guard chunkSize > 0, from >= 0, from <= totalBytes, totalBytes >= 0 else { return nil }
        let end = min(to ?? totalBytes, totalBytes)
        guard end >= from else { return nil }
        if end == from { return ChunkRange(totalBytes: totalBytes, chunkSize: chunkSize, startByte: from, endByte: from) }
        let start = from - from % chunkSize
        var alignedEnd = end
        if end % chunkSize != 0 {
            let (rounded, overflow) = (end - end % chunkSize).addingReportingOverflow(chunkSize)
            alignedEnd = overflow ? totalBytes : min(rounded, totalBytes)
        }
        return ChunkRange(totalBytes: totalBytes, chunkSize: chunkSize, startByte: start, endByte: alignedEnd)
    }

    /// The index of the range's first chunk.
    public var firstChunk: Int64 { startByte / chunkSize }
    /// One past the index of the range's last chunk (`firstChunk` for an empty range).
    public var endChunk: Int64 { isEmpty ? firstChunk : endByte / chunkSize + (endByte % chunkSize == 0 ? 0 : 1) }
    /// How many chunks the range holds.
    public var chunkCount: Int64 { endChunk - firstChunk }
    /// Bytes in the range.
    public var byteCount: Int64 { endByte - startByte }
    /// Whether the range holds no chunk (a resume at the end of the file, an empty request).
    public var isEmpty: Bool { startByte == endByte }
    /// `total_chunks` of the whole file, as the start message and the JSON chunks state it.
    public var fileChunkCount: Int64 { ModelTransferStart.chunkCount(totalBytes: totalBytes, chunkSize: chunkSize) }

    /// Whether chunk `index` belongs to the range.
    public func contains(_ index: Int64) -> Bool { index >= firstChunk && index < endChunk }

    /// The file offset of chunk `index`.
    public func offset(of index: Int64) -> Int64 { index * chunkSize }

    /// The byte length of chunk `index` (of the range: the last one may be short).
    public func length(of index: Int64) -> Int64 {
        let offset = offset(of: index)
        return min(chunkSize, endByte - offset)
    }

    /// Bytes of the range in chunks `firstChunk ... index` (0 for an index before the range).
    public func bytesThrough(_ index: Int64) -> Int64 {
        guard index >= firstChunk else { return 0 }
        guard index < endChunk - 1 else { return byteCount }
        return (index + 1) * chunkSize - startByte
    }

    public var description: String {
        "chunks \(firstChunk)..<\(endChunk) (bytes \(startByte)..<\(endByte) of \(totalBytes), \(chunkSize) per chunk)"
    }
}
