import AtmoProtocol
import Foundation
import GRDB

/// The commits the Hub endpoint fills from the mesh's listing (`HubFillingCommits` in
/// AtmoNode), kept so a snapshot left half filled is still listed as the mesh's after a
/// restart. At most `limit` rows, the most recently recorded; migration v12 adds the table.
extension StateDatabase {
    /// One recorded commit.
    public struct HubFillingCommit: Sendable, Hashable {
        public var repoID: String
        public var revision: String

        public init(repoID: String, revision: String) {
            self.repoID = repoID
            self.revision = revision
        }
    }

    static func registerHubFillingMigration(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v12-hub-filling-commit") { db in
            try db.create(table: "hub_filling_commit") { table in
                table.column("repo_id", .text).notNull()
                table.column("revision", .text).notNull()
                table.column("recorded_at_ms", .integer).notNull()
                table.primaryKey(["repo_id", "revision"])
            }
            try db.create(index: "hub_filling_commit_recorded", on: "hub_filling_commit", columns: ["recorded_at_ms"])
        }
    }

    /// Records `commit` (again: its time is renewed) and drops `evicted`, in one transaction;
    /// then keeps only the `limit` most recent rows.
    public func recordHubFillingCommit(
        _ commit: HubFillingCommit, evicting evicted: [HubFillingCommit] = [], atMs: Int64, limit: Int
    ) throws(StoreError) {
        try write { db in
            for old in evicted {
                try db.execute(
                    sql: "DELETE FROM hub_filling_commit WHERE repo_id = ? AND revision = ?", arguments: [old.repoID, old.revision])
            }
            try db.execute(
                sql: "INSERT OR REPLACE INTO hub_filling_commit (repo_id, revision, recorded_at_ms) VALUES (?, ?, ?)",
                arguments: [commit.repoID, commit.revision, atMs])
            try Self.pruneHubFilling(db, limit: limit)
        }
    }

    /// The recorded commits, most recent first, at most `limit`; a row whose repository id or
    /// commit is not valid (not written by this node) is skipped.
    public func hubFillingCommits(limit: Int) throws(StoreError) -> [HubFillingCommit] {
        let rows = try read { db in
            try Row.fetchAll(
                db, sql: "SELECT repo_id, revision FROM hub_filling_commit ORDER BY recorded_at_ms DESC, rowid DESC LIMIT ?",
                arguments: [max(0, limit)]
            ).map { row -> (String?, String?) in (row["repo_id"], row["revision"]) }
        }
        return rows.compactMap { repoID, revision in
            guard let repoID, let revision, Validation.isValidRepositoryID(repoID), Validation.isValidRevision(revision) else { return nil }
            return HubFillingCommit(repoID: repoID, revision: revision)
        }
    }

    static func pruneHubFilling(_ db: Database, limit: Int) throws {
        try db.execute(
            sql: """
                DELETE FROM hub_filling_commit WHERE rowid NOT IN
                (SELECT rowid FROM hub_filling_commit ORDER BY recorded_at_ms DESC, rowid DESC LIMIT ?)
                """, arguments: [max(0, limit)])
    }
}
