import AtmoProtocol
import Crypto
import Foundation

/// SHA-256 of chunks, and the hex form JSON chunks carry. Pure functions: the state
/// machines that use them stay deterministic.
public enum ChunkDigest {
    /// The raw SHA-256 (32 bytes) of `data`.
    public static func sha256(_ data: Data) -> [UInt8] {
        Array(SHA256.hash(data: data))
    }

    /// Lowercase hex of `bytes`.
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The bytes of a hex string (either case), or nil when it is not an even number of hex digits.
    public static func bytes(hex: String) -> [UInt8]? {
        let text = Array(hex.utf8)
        guard text.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.count / 2)
        var index = 0
        while index < text.count {
            guard let high = nibble(text[index]), let low = nibble(text[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// A chunk as the consumer received it, from a JSON `model_transfer_chunk` (text modes) or
/// a `FastChunkFrame` (`fast_binary`): the input of `ChunkReceiver.receive(chunk:now:)`.
public struct ReceivedChunk: Sendable, Hashable {
    /// The transfer it claims to belong to.
    public var requestID: String
    /// Its absolute chunk index.
    public var chunkIndex: Int64
    /// Its bytes.
    public var data: Data
    /// The SHA-256 the sender stated; nil when it sent none (an older provider may omit
    /// `chunk_sha256`: such a chunk is accepted unverified, the whole-file hash still decides).
    public var sha256: [UInt8]?
    /// `total_chunks` of the file, when the carrier states it (JSON chunks do).
    public var totalChunks: Int64?

    /// A chunk from its parts.
    public init(requestID: String, chunkIndex: Int64, data: Data, sha256: [UInt8]?, totalChunks: Int64? = nil) {
        self.requestID = requestID
        self.chunkIndex = chunkIndex
        self.data = data
        self.sha256 = sha256
        self.totalChunks = totalChunks
    }

    /// A JSON chunk (its `chunk_sha256` was checked to be 64 hex digits when decoded).
    public init(_ message: ModelTransferChunk) {
        self.init(
            requestID: message.requestID, chunkIndex: message.chunkIndex, data: message.chunkBytes,
            sha256: message.chunkSHA256.flatMap(ChunkDigest.bytes(hex:)), totalChunks: message.totalChunks)
    }

    /// A binary chunk frame.
    public init(_ frame: FastChunkFrame) {
        self.init(requestID: frame.requestID, chunkIndex: frame.chunkIndex, data: frame.data, sha256: frame.sha256)
    }
}
