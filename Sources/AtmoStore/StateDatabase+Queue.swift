import AtmoProtocol
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
    /// `user` when its user paused it (it waits for a resume, also across restarts); nil
    /// otherwise (migration v11).
    public var pausedBy: String?
    /// `model` or `repository` (migration v11; earlier rows are models).
    public var kind: String
    /// A repository download's files, destination and (once chosen) revision.
    public var repository: DownloadAPI.Repository?

    public init(
        requestID: String, modelID: String, sha256: String?, preferredNode: String?, createdAtMs: Int64, priority: String = "high",
        pausedBy: String? = nil, kind: String = "model", repository: DownloadAPI.Repository? = nil
    ) {
        self.requestID = requestID
        self.modelID = modelID
        self.sha256 = sha256
        self.preferredNode = preferredNode
        self.createdAtMs = createdAtMs
        self.priority = priority
        self.pausedBy = pausedBy
        self.kind = kind
        self.repository = repository
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
        var paused_by: String?
        var kind: String
        var options_json: Data?
    }

    public func saveQueuedDownload(_ download: QueuedDownload) throws(StoreError) {
        let options: Data?
        do {
            options = try download.repository.map { try WireCoding.encode($0) }
        } catch {
            throw StoreError(.database, "cannot encode the repository choices of download \(download.requestID): \(error)")
        }
        let row = QueuedDownloadRow(
            request_id: download.requestID, model_id: download.modelID, sha256: download.sha256,
            preferred_node: download.preferredNode, created_at_ms: download.createdAtMs, priority: download.priority,
            paused_by: download.pausedBy, kind: download.kind, options_json: options)
        try write { db in try row.save(db) }
    }

    /// Every queued download, oldest first. A row whose repository choices do not read back
    /// (a newer node's) reads as a repository download with the default choices.
    public func queuedDownloads() throws(StoreError) -> [QueuedDownload] {
        try read { db in try QueuedDownloadRow.order(Column("created_at_ms")).fetchAll(db) }.map { row in
            let repository = row.options_json.map { (try? WireCoding.decode(DownloadAPI.Repository.self, from: $0)) ?? .init() }
            return QueuedDownload(
                requestID: row.request_id, modelID: row.model_id, sha256: row.sha256, preferredNode: row.preferred_node,
                createdAtMs: row.created_at_ms, priority: row.priority, pausedBy: row.paused_by, kind: row.kind,
                repository: repository)
        }
    }

    public func deleteQueuedDownload(requestID: String) throws(StoreError) {
        _ = try write { db in try QueuedDownloadRow.deleteOne(db, key: requestID) }
    }
}
