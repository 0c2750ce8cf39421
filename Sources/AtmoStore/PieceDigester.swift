import AtmoProtocol
import Crypto

/// The SHA-256 of each fixed-size piece of a byte stream fed in order, in any chunk sizes:
/// what `FileHasher.hashWithManifest` runs beside the whole-file hash, and what a consumer
/// can use to hash pieces as they arrive.
package struct PieceDigester: Sendable {
    package let pieceSize: Int64
    private var hasher = SHA256()
    /// Bytes of the current piece fed so far.
    private var inPiece: Int64 = 0
    /// Bytes fed in all.
    package private(set) var byteCount: Int64 = 0
    /// The digests of the pieces completed so far, 32 bytes each, in order.
    package private(set) var digests: [UInt8] = []

    /// `pieceSize` must be positive (a manifest accepts only powers of two from 64 KiB).
    package init(pieceSize: Int64, expectedSize: Int64 = 0) {
        precondition(pieceSize > 0, "piece size must be positive")
        self.pieceSize = pieceSize
        let pieces = PieceManifest.pieceCount(fileSize: max(0, expectedSize), pieceSize: pieceSize)
        digests.reserveCapacity(min(pieces, PieceManifest.maxPieceCount) * PieceManifest.digestSize)
    }

    /// Feeds the next bytes of the stream.
    package mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var rest = bytes
        while !rest.isEmpty {
            let take = Int(min(Int64(rest.count), pieceSize - inPiece))
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: rest[0..<take]))
            inPiece += Int64(take)
            byteCount += Int64(take)
            rest = UnsafeRawBufferPointer(rebasing: rest[take...])
            if inPiece == pieceSize { closePiece() }
        }
    }

    /// The manifest of everything fed: the last piece may be short. Nil when the piece
    /// size is not one a manifest may use.
    package mutating func finish() -> PieceManifest? {
        if inPiece > 0 { closePiece() }
        return PieceManifest(fileSize: byteCount, pieceSize: pieceSize, digests: digests)
    }

    private mutating func closePiece() {
        digests.append(contentsOf: hasher.finalize())
        hasher = SHA256()
        inPiece = 0
    }
}
