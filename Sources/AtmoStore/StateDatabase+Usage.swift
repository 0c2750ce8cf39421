import Foundation
import GRDB

/// How a model was last used: what counts as use for the storage limit's eviction (least
/// recently used first). The file's access time is never read: backups, scans and hashing
/// touch it too.
public enum UsageKind: String, Sendable, Hashable, Codable {
    /// This node sent (some of) the file to another node.
    case served
    /// This node pulled the file.
    case pulled
    /// An app or a person said it used the model (`atmo use`, `MeshNode.markUsed`).
    case used
}

/// When a file (by its SHA-256) was last used, and how.
public struct ModelUsage: Sendable, Hashable {
    public var sha256: String
    public var modelID: String
    /// Seconds since 1970.
    public var lastUsedAt: Double
    public var kind: UsageKind

    public init(sha256: String, modelID: String, lastUsedAt: Double, kind: UsageKind) {
        self.sha256 = sha256.lowercased()
        self.modelID = modelID
        self.lastUsedAt = lastUsedAt
        self.kind = kind
    }

    /// The later of two records of one file.
    func later(_ other: ModelUsage?) -> ModelUsage {
        guard let other, other.lastUsedAt > lastUsedAt else { return self }
        return other
    }
}

/// The `model_usage` and `model_pin` tables (migration v6): last use by file, pins by model
/// id (a pin follows the id to its next version).
extension StateDatabase {
    /// Records uses in one transaction; a record older than the stored one changes nothing.
    package func recordUsage(_ records: [ModelUsage]) throws(StoreError) {
        guard !records.isEmpty else { return }
        try write { db in
            for record in records {
                try db.execute(
                    sql: """
                        INSERT INTO model_usage (sha256, model_id, last_used_at, last_use) VALUES (?, ?, ?, ?)
                        ON CONFLICT(sha256) DO UPDATE SET
                          model_id = excluded.model_id, last_used_at = excluded.last_used_at, last_use = excluded.last_use
                        WHERE excluded.last_used_at > model_usage.last_used_at
                        """,
                    arguments: [record.sha256, record.modelID, record.lastUsedAt, record.kind.rawValue])
            }
        }
    }

    /// Every recorded use, by SHA-256.
    package func usage() throws(StoreError) -> [String: ModelUsage] {
        let rows = try read { db in
            try Row.fetchAll(db, sql: "SELECT sha256, model_id, last_used_at, last_use FROM model_usage").map { row in
                ModelUsage(
                    sha256: row["sha256"], modelID: row["model_id"], lastUsedAt: row["last_used_at"],
                    kind: UsageKind(rawValue: row["last_use"]) ?? .used)
            }
        }
        return Dictionary(rows.map { ($0.sha256, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Forgets the uses of files that are gone (evicted or removed).
    package func forgetUsage(sha256s: [String]) throws(StoreError) {
        guard !sha256s.isEmpty else { return }
        let keys = sha256s.map { $0.lowercased() }
        try write { db in
            for key in keys { try db.execute(sql: "DELETE FROM model_usage WHERE sha256 = ?", arguments: [key]) }
        }
    }

    /// Most pinned ids a node keeps (as many as follows: an id may be pinned before it is
    /// pulled, so the bound is on ids, not on models present).
    public static let maxPins = 1_024

    /// Pins `modelID`: eviction never takes it. Pinning a pinned id changes nothing. Fails
    /// with `conflict` beyond `maxPins`.
    package func pin(modelID: String) throws(StoreError) {
        let now = Date().timeIntervalSince1970
        let added = try write { db -> Bool in
            let exists = try Bool.fetchOne(db, sql: "SELECT 1 FROM model_pin WHERE model_id = ?", arguments: [modelID]) ?? false
            if !exists, try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM model_pin") ?? 0 >= Self.maxPins { return false }
            try db.execute(sql: "INSERT OR IGNORE INTO model_pin (model_id, pinned_at) VALUES (?, ?)", arguments: [modelID, now])
            return true
        }
        guard added else {
            throw StoreError(.conflict, "this node has \(Self.maxPins) pinned models already; unpin one first (`atmo unpin ID`)")
        }
    }

    /// Unpins `modelID`; false when it was not pinned.
    @discardableResult
    package func unpin(modelID: String) throws(StoreError) -> Bool {
        try write { db in
            try db.execute(sql: "DELETE FROM model_pin WHERE model_id = ?", arguments: [modelID])
            return db.changesCount > 0
        }
    }

    /// The pinned model ids.
    package func pins() throws(StoreError) -> Set<String> {
        Set(try read { db in try String.fetchAll(db, sql: "SELECT model_id FROM model_pin") })
    }
}
