import Foundation
import GRDB

/// A download the node was asked to make and has not finished: kept until it completes,
/// fails for good or is cancelled, so a node that restarts resumes it.
public struct QueuedDownload: Sendable, Hashable {
    public var requestID: String
    public var modelID: String
    /// The version asked for; nil: the one the mesh offers.
    public var sha256: String?
    /// Only this node (id or name) as the source; nil: the best peers.
    public var preferredNode: String?
    /// Unix epoch milliseconds.
    public var createdAtMs: Int64
    /// The wire name of its `DownloadPriority` (`critical`, `high`, `normal`, `low`);
    /// downloads queued before priorities existed read back as `high`.
    public var priority: String

    public init(
        requestID: String, modelID: String, sha256: String?, preferredNode: String?, createdAtMs: Int64, priority: String = "high"
    ) {
        self.requestID = requestID
        self.modelID = modelID
        self.sha256 = sha256
        self.preferredNode = preferredNode
        self.createdAtMs = createdAtMs
        self.priority = priority
    }
}

extension StateDatabase {
    struct QueuedDownloadRow: Codable, FetchableRecord, PersistableRecord, Sendable {
        static let databaseTableName = "queued_download"
        var request_id: String
        var model_id: String
        var sha256: String?
        var preferred_node: String?
        var created_at_ms: Int64
        var priority: String
    }

    public func saveQueuedDownload(_ download: QueuedDownload) throws(StoreError) {
        let row = QueuedDownloadRow(
            request_id: download.requestID, model_id: download.modelID, sha256: download.sha256,
            preferred_node: download.preferredNode, created_at_ms: download.createdAtMs, priority: download.priority)
        try write { db in try row.save(db) }
    }

    /// Every queued download, oldest first.
    public func queuedDownloads() throws(StoreError) -> [QueuedDownload] {
        try read { db in try QueuedDownloadRow.order(Column("created_at_ms")).fetchAll(db) }.map { row in
            QueuedDownload(
                requestID: row.request_id, modelID: row.model_id, sha256: row.sha256, preferredNode: row.preferred_node,
                createdAtMs: row.created_at_ms, priority: row.priority)
        }
    }

    public func deleteQueuedDownload(requestID: String) throws(StoreError) {
        _ = try write { db in try QueuedDownloadRow.deleteOne(db, key: requestID) }
    }
}
