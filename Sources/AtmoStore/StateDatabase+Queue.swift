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
    /// A repository download: the SHA-256s of its selected files, once its revision is
    /// chosen (their partials are in use, as a model download's `sha256`).
    public var fileSHA256s: [String]

    public init(
        requestID: String, modelID: String, sha256: String?, preferredNode: String?, createdAtMs: Int64, priority: String = "high",
        pausedBy: String? = nil, kind: String = "model", repository: DownloadAPI.Repository? = nil, fileSHA256s: [String] = []
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
        self.fileSHA256s = fileSHA256s
    }

    /// The SHA-256s of the partial files this download continues from: its version, or a
    /// repository's files.
    public var partialSHA256s: [String] { ([sha256].compactMap { $0 } + fileSHA256s).map { $0.lowercased() } }
}

/// `options_json` of a repository download: its choices, and its files' SHA-256s.
struct QueuedRepositoryOptions: Codable {
    var choices: DownloadAPI.Repository
    var fileSHA256s: [String]

    enum CodingKeys: String, CodingKey { case fileSHA256s = "file_sha256s" }

    init(choices: DownloadAPI.Repository, fileSHA256s: [String]) {
        self.choices = choices
        self.fileSHA256s = fileSHA256s
    }

    init(from decoder: any Decoder) throws {
        choices = try DownloadAPI.Repository(from: decoder)
        fileSHA256s = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent([String].self, forKey: .fileSHA256s) ?? []
    }

    func encode(to encoder: any Encoder) throws {
        try choices.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(fileSHA256s, forKey: .fileSHA256s)
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
            options = try download.repository.map {
                try WireCoding.encode(QueuedRepositoryOptions(choices: $0, fileSHA256s: download.fileSHA256s))
            }
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
            let options = row.options_json.map {
                (try? WireCoding.decode(QueuedRepositoryOptions.self, from: $0)) ?? QueuedRepositoryOptions(choices: .init(), fileSHA256s: [])
            }
            return QueuedDownload(
                requestID: row.request_id, modelID: row.model_id, sha256: row.sha256, preferredNode: row.preferred_node,
                createdAtMs: row.created_at_ms, priority: row.priority, pausedBy: row.paused_by, kind: row.kind,
                repository: options?.choices, fileSHA256s: options?.fileSHA256s ?? [])
        }
    }

    public func deleteQueuedDownload(requestID: String) throws(StoreError) {
        _ = try write { db in try QueuedDownloadRow.deleteOne(db, key: requestID) }
    }
}
