import Foundation
import GRDB

/// The hash cache: a file's SHA-256 is computed once and remembered, keyed by path and
/// checked against size, mtime (ns), inode and device; any change means "hash again".
extension StateDatabase {
    struct FileHashRow: Codable, FetchableRecord, PersistableRecord, Sendable {
        static let databaseTableName = "file_hash"
        var path: String
        var size: Int64
        var mtime_ns: Int64
        var inode: Int64
        var device: Int64
        var sha256: String
        var hashed_at: Double
    }

    /// The remembered hash of `path`, if the file is unchanged since it was hashed.
    package func cachedHash(path: String, stat: FileIO.Stat) throws(StoreError) -> String? {
        let row = try read { db in try FileHashRow.fetchOne(db, key: path) }
        guard let row, row.size == stat.size, row.mtime_ns == stat.modificationTimeNanos,
            row.inode == Int64(bitPattern: stat.inode), row.device == Int64(bitPattern: stat.device)
        else { return nil }
        return row.sha256
    }

    /// Every remembered hash, keyed by path (one query for a whole rescan).
    package func allCachedHashes() throws(StoreError) -> [String: (stat: FileIO.Stat, sha256: String)] {
        let rows = try read { db in try FileHashRow.fetchAll(db) }
        var result: [String: (stat: FileIO.Stat, sha256: String)] = [:]
        for row in rows {
            let stat = FileIO.Stat(
                size: row.size, modificationTimeNanos: row.mtime_ns,
                inode: UInt64(bitPattern: row.inode), device: UInt64(bitPattern: row.device))
            result[row.path] = (stat, row.sha256)
        }
        return result
    }

    package func rememberHash(path: String, stat: FileIO.Stat, sha256: String) throws(StoreError) {
        let row = FileHashRow(
            path: path, size: stat.size, mtime_ns: stat.modificationTimeNanos, inode: Int64(bitPattern: stat.inode),
            device: Int64(bitPattern: stat.device), sha256: sha256, hashed_at: Date().timeIntervalSince1970)
        try write { db in try row.save(db) }
    }

    /// Drops remembered hashes of files that no longer exist.
    package func forgetHashes(except paths: Set<String>) throws(StoreError) {
        try write { db in
            let stale = try String.fetchAll(db, sql: "SELECT path FROM file_hash").filter { !paths.contains($0) }
            for path in stale { _ = try FileHashRow.deleteOne(db, key: path) }
        }
    }
}
