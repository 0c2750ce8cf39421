import Foundation

/// The piece layout of one file and the SHA-256 of each piece, in piece order: what a
/// consumer checks every piece against on arrival (docs/PROTOCOL.md, "Piece manifests").
///
/// On the wire (`GET /v1/pieces/{sha256}`) a manifest is the concatenated 32-byte digests,
/// nothing else; the catalog entry names the piece size (`piece_size`) and the SHA-256 of
/// those bytes (`pieces_sha256`), so a manifest fetched from any peer can be checked before
/// it is used. Computing the digests needs SHA-256, which this Foundation-only target does
/// not link: `FileHasher` (AtmoStore) builds manifests.
public struct PieceManifest: Sendable, Hashable {
    /// Bytes per digest.
    public static let digestSize = 32
    /// The smallest and largest piece size a manifest may use (decoding drops any other).
    public static let minPieceSize: Int64 = 1 << 16
    public static let maxPieceSize: Int64 = 1 << 26
    /// The piece sizes this node chooses from (see `pieceSize(forFileSize:)`).
    public static let smallestChosenPieceSize: Int64 = 1 << 20
    public static let largestChosenPieceSize: Int64 = 1 << 24
    /// A chosen size keeps the manifest at about this many pieces or fewer (more only for
    /// files over 32 GiB, which get `largestChosenPieceSize`).
    public static let targetPieceCount: Int64 = 2048

    public let fileSize: Int64
    public let pieceSize: Int64
    /// `pieceCount * 32` bytes: digest i at `[32 i, 32 i + 32)`.
    public let digests: [UInt8]

    /// A manifest from its parts; nil when they do not fit together (a piece size out of
    /// bounds or not a power of two, or not one digest per piece).
    public init?(fileSize: Int64, pieceSize: Int64, digests: [UInt8]) {
        guard Self.isValidPieceSize(pieceSize), (0...WireLimits.maxFileSizeBytes).contains(fileSize),
            digests.count == Self.pieceCount(fileSize: fileSize, pieceSize: pieceSize) * Self.digestSize
        else { return nil }
        self.fileSize = fileSize
        self.pieceSize = pieceSize
        self.digests = digests
    }

    public var pieceCount: Int { digests.count / Self.digestSize }

    /// The 32 bytes of piece `index`'s SHA-256.
    public func digest(of index: Int) -> ArraySlice<UInt8> {
        digests[(index * Self.digestSize)..<((index + 1) * Self.digestSize)]
    }

    /// Bytes `[offset, offset + length)` of piece `index`.
    public func range(of index: Int) -> (offset: Int64, length: Int64) {
        let offset = Int64(index) * pieceSize
        return (offset, min(pieceSize, fileSize - offset))
    }

    /// ceil(fileSize / pieceSize) without overflow; 0 for an empty file.
    public static func pieceCount(fileSize: Int64, pieceSize: Int64) -> Int {
        guard fileSize > 0, pieceSize > 0 else { return 0 }
        return Int(clamping: fileSize / pieceSize + (fileSize % pieceSize == 0 ? 0 : 1))
    }

    /// A power of two from `minPieceSize` to `maxPieceSize`.
    public static func isValidPieceSize(_ size: Int64) -> Bool {
        size >= minPieceSize && size <= maxPieceSize && size & (size - 1) == 0
    }

    /// The piece size this node uses for a file: the smallest power of two from 1 MiB that
    /// keeps the file within `targetPieceCount` pieces, at most 16 MiB. Small pieces make a
    /// bad byte cheap and let a swarm spread sooner; few pieces keep the manifest (32 bytes
    /// each) and the held-pieces bitfield small.
    public static func pieceSize(forFileSize size: Int64) -> Int64 {
        var piece = smallestChosenPieceSize
        while piece < largestChosenPieceSize && size > piece * targetPieceCount { piece <<= 1 }
        return piece
    }

    /// The largest manifest a peer may send: `maxFileSizeBytes` in the smallest pieces
    /// would be absurd, so a manifest is bounded by what `pieceSize(forFileSize:)` could
    /// produce for a 1 PiB file at 16 MiB pieces (64 Mi pieces is too many to hold: the
    /// consumer refuses manifests over this many digests).
    public static let maxPieceCount = 1 << 20

    /// The piece count and byte length of the manifest `entry` names (nil when it names
    /// none), checked against `maxPieceCount` before anything is fetched.
    public static func expectedSize(for entry: ModelEntry) throws(WireError) -> (pieceCount: Int, bytes: Int)? {
        guard let reference = entry.manifestReference else { return nil }
        let pieceCount = pieceCount(fileSize: entry.sizeBytes, pieceSize: reference.pieceSize)
        guard pieceCount <= maxPieceCount else {
            throw WireError(.tooLarge, "\(entry.modelID) names a piece manifest of \(pieceCount) pieces, more than \(maxPieceCount)")
        }
        return (pieceCount, pieceCount * digestSize)
    }
}

/// `GET /v1/pieces/{sha256}/have`: which pieces of a file a node holds, verified.
/// A node that is still pulling a file answers with the pieces it has; a node with the
/// whole file answers `complete`.
public struct PieceAvailability: Sendable, Hashable, Codable {
    public var sha256: String
    public var pieceSize: Int64
    public var pieceCount: Int
    /// True when the node holds every piece (then `have` may be omitted).
    public var complete: Bool
    /// The held pieces as a bitfield (bit i of byte i/8, least significant bit first),
    /// base64; "" when none or complete.
    public var have: String

    public init(sha256: String, pieceSize: Int64, pieceCount: Int, complete: Bool, have: [UInt8]) {
        self.sha256 = sha256
        self.pieceSize = pieceSize
        self.pieceCount = pieceCount
        self.complete = complete
        self.have = complete ? "" : Data(have).base64EncodedString()
    }

    /// The bitfield's bytes, or nil when `have` is not base64 of exactly `ceil(pieceCount/8)` bytes.
    public var haveBytes: [UInt8]? {
        if complete { return [UInt8](repeating: 0xff, count: (pieceCount + 7) / 8) }
        if have.isEmpty { return [UInt8](repeating: 0, count: (pieceCount + 7) / 8) }
        guard let data = Data(base64Encoded: have), data.count == (pieceCount + 7) / 8 else { return nil }
        return [UInt8](data)
    }

    public init(from decoder: any Decoder) throws {
        var reader = try FieldReader(decoder)
        sha256 = try reader.sha256("sha256")
        pieceSize = try reader.byteCount("piece_size")
        guard PieceManifest.isValidPieceSize(pieceSize) else { throw reader.fail("piece_size", "must be a power of two from 64 KiB to 64 MiB") }
        let count = try reader.byteCount("piece_count")
        guard count <= PieceManifest.maxPieceCount else { throw reader.fail("piece_count", .tooLarge, "more than \(PieceManifest.maxPieceCount) pieces") }
        pieceCount = Int(count)
        complete = try reader.optionalBool("complete") ?? false
        // Not `optionalString`: its 4 KiB bound would refuse the bitfield of 24,576 pieces or more.
        let have = try reader.decode(String.self, "have") ?? ""
        guard have.utf8.count <= (PieceManifest.maxPieceCount / 8) * 4 / 3 + 8 else { throw reader.fail("have", .tooLarge, "bitfield too long") }
        self.have = have
    }

    public func encode(to encoder: any Encoder) throws {
        var writer = FieldWriter(encoder)
        try writer.write("sha256", sha256)
        try writer.write("piece_size", pieceSize)
        try writer.write("piece_count", Int64(pieceCount))
        try writer.write("complete", complete)
        try writer.write("have", have)
        try writer.finish(extra: [:])
    }
}
