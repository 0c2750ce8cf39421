import AtmoProtocol
import Foundation
import GRDB

/// The downloads of the node's queue that ended (completed, failed, cancelled), kept so
/// `GET /v1/downloads` still lists them after a restart: the most recent
/// `DownloadAPI.historyLimit` by end time, each as its last status. Migration v11 adds the
/// table and the queue's pause, kind and repository columns.
extension StateDatabase {
    static func registerDownloadHistoryMigration(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v11-download-history") { db in
            try db.alter(table: "queued_download") { table in
                table.add(column: "paused_by", .text)
                table.add(column: "kind", .text).notNull().defaults(to: "model")
                table.add(column: "options_json", .blob)
            }
            try db.create(table: "download_history") { table in
                table.primaryKey("request_id", .text)
                table.column("model_id", .text).notNull()
                table.column("created_at_ms", .integer).notNull()
                table.column("finished_at_ms", .integer).notNull()
                table.column("status_json", .blob).notNull()
            }
            try db.create(index: "download_history_finished", on: "download_history", columns: ["finished_at_ms"])
        }
    }

    /// A download that ended: its queue row goes and its final status joins the history, in
    /// one transaction; the history keeps its `keep` most recent rows.
    public func finishQueuedDownload(
        _ status: DownloadAPI.Status, createdAtMs: Int64, finishedAtMs: Int64, keep: Int = DownloadAPI.historyLimit
    ) throws(StoreError) {
        let json: Data
        do {
            json = try WireCoding.encode(status)
        } catch {
            throw StoreError(.database, "cannot encode the status of download \(status.requestID): \(error)")
        }
        let id = status.requestID
        let modelID = status.modelID
        try write { db in
            try db.execute(sql: "DELETE FROM queued_download WHERE request_id = ?", arguments: [id])
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO download_history (request_id, model_id, created_at_ms, finished_at_ms, status_json)
                    VALUES (?, ?, ?, ?, ?)
                    """, arguments: [id, modelID, createdAtMs, finishedAtMs, json])
            try Self.pruneHistory(db, keep: keep)
        }
    }

    /// The kept final statuses, oldest end first, with when each was asked for. A row that
    /// does not read back (a newer node's) is skipped.
    public func downloadHistory() throws(StoreError) -> [(createdAtMs: Int64, status: DownloadAPI.Status)] {
        let rows = try read { db in
            try Row.fetchAll(
                db, sql: "SELECT created_at_ms, status_json FROM download_history ORDER BY finished_at_ms, created_at_ms, request_id"
            ).map { row -> (Int64, Data) in (row["created_at_ms"], row["status_json"]) }
        }
        return rows.compactMap { created, json in
            guard let status = try? WireCoding.decode(DownloadAPI.Status.self, from: json), status.isFinal else { return nil }
            return (created, status)
        }
    }

    /// Keeps the `keep` most recent rows of the history.
    public func pruneDownloadHistory(keep: Int = DownloadAPI.historyLimit) throws(StoreError) {
        try write { db in try Self.pruneHistory(db, keep: keep) }
    }

    private static func pruneHistory(_ db: Database, keep: Int) throws {
        try db.execute(
            sql: """
                DELETE FROM download_history WHERE request_id NOT IN (
                    SELECT request_id FROM download_history ORDER BY finished_at_ms DESC, created_at_ms DESC, request_id DESC LIMIT ?)
                """, arguments: [max(0, keep)])
    }
}
