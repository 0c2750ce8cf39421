import AtmoProtocol
import Foundation
import GRDB

/// Piece manifests, keyed by the file's SHA-256 (content, not path: two copies of a file
/// share one), stored beside the hash cache. A manifest lives as long as a remembered hash
/// or a download record names its file (`forgetUnusedManifests`).
extension StateDatabase {
    struct ManifestRow: Codable, FetchableRecord, PersistableRecord, Sendable {
        static let databaseTableName = "piece_manifest"
        var sha256: String
        var file_size: Int64
        var piece_size: Int64
        var manifest_sha256: String
        var digests: Data
        var stored_at: Double
    }

    /// The manifest of the file whose SHA-256 is `sha256`, if one is stored (a row whose
    /// digests no longer match its recorded SHA-256 reads as none).
    package func manifest(sha256: String) throws(StoreError) -> PieceManifest? {
        let key = sha256.lowercased()
        guard let row = try read({ db in try ManifestRow.fetchOne(db, key: key) }) else { return nil }
        guard let manifest = PieceManifest(fileSize: row.file_size, pieceSize: row.piece_size, digests: [UInt8](row.digests)),
            manifest.manifestSHA256 == row.manifest_sha256
        else { return nil }
        return manifest
    }

    /// The piece size and manifest SHA-256 of every stored manifest, keyed by the file's
    /// SHA-256: what catalog entries carry, in one query that leaves the digests on disk.
    package func manifestReferences() throws(StoreError) -> [String: ManifestReference] {
        let rows = try read { db in
            try Row.fetchAll(db, sql: "SELECT sha256, piece_size, manifest_sha256 FROM piece_manifest")
                .map { row -> (String, Int64, String) in (row["sha256"], row["piece_size"], row["manifest_sha256"]) }
        }
        var result: [String: ManifestReference] = [:]
        for (sha256, pieceSize, manifestSHA256) in rows { result[sha256] = ManifestReference(pieceSize: pieceSize, sha256: manifestSHA256) }
        return result
    }

    /// Stores (or replaces) the manifest of the file whose SHA-256 is `sha256`.
    package func rememberManifest(sha256: String, _ manifest: PieceManifest) throws(StoreError) {
        let row = ManifestRow(
            sha256: sha256.lowercased(), file_size: manifest.fileSize, piece_size: manifest.pieceSize,
            manifest_sha256: manifest.manifestSHA256, digests: Data(manifest.digests),
            stored_at: Date().timeIntervalSince1970)
        try write { db in try row.save(db) }
    }

    /// Drops the manifests of files that no remembered hash and no download record names
    /// (run after a rescan has forgotten the hashes of files that are gone). Returns how
    /// many were dropped.
    @discardableResult
    package func forgetUnusedManifests() throws(StoreError) -> Int {
        try write { db in
            try db.execute(
                sql: """
                    DELETE FROM piece_manifest
                    WHERE sha256 NOT IN (SELECT sha256 FROM file_hash)
                      AND sha256 NOT IN (SELECT sha256 FROM download)
                    """)
            return db.changesCount
        }
    }
}
