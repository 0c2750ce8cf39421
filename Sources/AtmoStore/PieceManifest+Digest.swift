import AtmoProtocol
import Crypto

/// The digests a manifest is checked with (SHA-256 needs swift-crypto, which AtmoProtocol
/// does not link).
extension PieceManifest {
    /// SHA-256 of the manifest's wire bytes, lowercase hex: an entry's `pieces_sha256`.
    package var manifestSHA256: String { SHA256.hash(data: digests).hexString }


    /// True when `digest` is the SHA-256 this manifest lists for piece `index` (false for
    /// an index out of range).
    package func matches(piece index: Int, digest: SHA256.Digest) -> Bool {
        guard index >= 0, index < pieceCount else { return false }
        return digest.withUnsafeBytes { self.digest(of: index).elementsEqual($0) }
    }

    /// True when `bytes` are piece `index` of the file: its length and its SHA-256.
    package func matches(piece index: Int, bytes: UnsafeRawBufferPointer) -> Bool {
        guard index >= 0, index < pieceCount, Int64(bytes.count) == range(of: index).length else { return false }
        return matches(piece: index, digest: SHA256.hash(data: bytes))
    }

    /// The manifest of `entry` from wire bytes fetched from a peer, checked against what
    /// the entry says: its `piece_size`, one digest per piece of `size_bytes`, and the
    /// SHA-256 of the bytes equal to `pieces_sha256`. Throws a `WireError` naming what
    /// does not match (`missingField` when the entry names no manifest).
    package static func decode(_ bytes: [UInt8], for entry: ModelEntry) throws(WireError) -> PieceManifest {
        guard let reference = entry.manifestReference else {
            throw WireError(.missingField, "\(entry.modelID): the entry names no piece manifest (piece_size, pieces_sha256)")
        }
        let expected = pieceCount(fileSize: entry.sizeBytes, pieceSize: reference.pieceSize)
        guard expected <= maxPieceCount else {
            throw WireError(.tooLarge, "\(entry.modelID): \(expected) pieces is more than a manifest may have (\(maxPieceCount))")
        }
        guard bytes.count == expected * digestSize else {
            throw WireError(
                .invalidValue,
                "\(entry.modelID): manifest is \(bytes.count) bytes, expected \(expected * digestSize) (\(expected) pieces of \(reference.pieceSize) bytes)"
            )
        }
        let actual = SHA256.hash(data: bytes).hexString
        guard actual == reference.sha256.lowercased() else {
            throw WireError(.invalidValue, "\(entry.modelID): manifest SHA-256 is \(actual), the entry's pieces_sha256 is \(reference.sha256)")
        }
        guard let manifest = PieceManifest(fileSize: entry.sizeBytes, pieceSize: reference.pieceSize, digests: bytes) else {
            throw WireError(.invalidValue, "\(entry.modelID): piece_size \(reference.pieceSize) or size_bytes \(entry.sizeBytes) cannot have a manifest")
        }
        return manifest
    }
}

/// What a catalog entry says of a manifest (`piece_size`, `pieces_sha256`), without its
/// digests: what the inventory keeps per file.
package struct ManifestReference: Sendable, Hashable {
    package var pieceSize: Int64
    /// SHA-256 of the manifest's bytes, lowercase hex.
    package var sha256: String

    package init(pieceSize: Int64, sha256: String) {
        self.pieceSize = pieceSize
        self.sha256 = sha256
    }

    package init(_ manifest: PieceManifest) {
        self.init(pieceSize: manifest.pieceSize, sha256: manifest.manifestSHA256)
    }
}
