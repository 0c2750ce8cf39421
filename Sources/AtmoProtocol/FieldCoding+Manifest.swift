/// The piece-manifest extension (`piece_size`, `pieces_sha256`) as model entries and
/// repository files carry it: both or neither.
extension FieldReader {
    /// Both fields, or nil when either is absent or wrong: a bad manifest reference costs
    /// the manifest, never the entry (older peers never send it, and the whole-file hash is
    /// what a pull trusts in the end).
    mutating func optionalManifestReference() -> (pieceSize: Int64, sha256: String)? {
        let pieceSize = try? optionalByteCount("piece_size")
        let piecesSHA256 = try? optionalSHA256("pieces_sha256")
        guard let pieceSize, PieceManifest.isValidPieceSize(pieceSize), let piecesSHA256 else { return nil }
        return (pieceSize, piecesSHA256)
    }
}

extension FieldWriter {
    /// Writes both fields when both are set.
    mutating func writeManifestReference(pieceSize: Int64?, sha256: String?) throws {
        guard let pieceSize, let sha256 else { return }
        try write("piece_size", pieceSize)
        try write("pieces_sha256", sha256)
    }
}
