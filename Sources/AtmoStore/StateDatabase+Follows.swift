import Foundation
import GRDB

/// A model id the node follows (`atmo follow`): it pulls or shows newer versions.
public struct FollowRecord: Sendable, Hashable {
    public var modelID: String
    /// `auto` or `prompt` (`UpdatePlanner.Mode`'s names).
    public var mode: String
    /// Versions (SHA-256) a person rolled back from: never pulled by themselves again.
    public var declined: [String]
    /// Seconds since 1970.
    public var followedAt: Double

    public init(modelID: String, mode: String, declined: [String] = [], followedAt: Double = 0) {
        self.modelID = modelID
        self.mode = mode
        self.declined = declined
        self.followedAt = followedAt
    }
}

/// When this node first saw a version of a followed id in the mesh (its own clock, ms).
public struct VersionSighting: Sendable, Hashable {
    public var modelID: String
    public var sha256: String
    public var firstSeenMs: Int64

    public init(modelID: String, sha256: String, firstSeenMs: Int64) {
        self.modelID = modelID
        self.sha256 = sha256.lowercased()
        self.firstSeenMs = firstSeenMs
    }
}

/// Migration v8: `model_follow`, `version_sighting` and `previous_version` (the version an
/// update replaced, kept for `atmo rollback` in the store's `.atmo-previous/` folder).
extension StateDatabase {
    /// Most follows a node keeps.
    public static let maxFollows = 1_024
    /// Most declined versions kept per followed id (the latest).
    public static let maxDeclinedPerFollow = 8
    /// Most sightings kept per followed id (the latest).
    public static let maxSightingsPerModel = 64

    static func registerFollowMigration(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v8-follows") { db in
            try db.create(table: "model_follow") { table in
                table.primaryKey("model_id", .text)
                table.column("mode", .text).notNull()
                // SHA-256s separated by commas.
                table.column("declined", .text).notNull().defaults(to: "")
                table.column("followed_at", .double).notNull()
            }
            try db.create(table: "version_sighting") { table in
                table.column("model_id", .text).notNull()
                table.column("sha256", .text).notNull()
                table.column("first_seen_ms", .integer).notNull()
                table.primaryKey(["model_id", "sha256"])
            }
            try db.create(table: "previous_version") { table in
                table.primaryKey("model_id", .text)
                table.column("sha256", .text).notNull()
                table.column("version", .text).notNull()
                table.column("replaced_by", .text).notNull()
                table.column("kept_at", .double).notNull()
            }
        }
        // Where each follow came from, config.json's entries last applied (+ConfigFollows).
        registerConfigFollowMigration(in: &migrator)
    }

    /// Every follow, by id.
    package func follows() throws(StoreError) -> [FollowRecord] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT model_id, mode, declined, followed_at FROM model_follow ORDER BY model_id").map { row in
                let declined: String = row["declined"]
                return FollowRecord(
                    modelID: row["model_id"], mode: row["mode"], declined: declined.split(separator: ",").map(String.init),
                    followedAt: row["followed_at"])
            }
        }
    }

    /// Follows `modelID` with `mode` (a follow of a followed id changes its mode and keeps
    /// its declined versions), as a runtime follow: config.json's entry for the id no longer
    /// changes it until that entry changes. Fails with `conflict` beyond `maxFollows`.
    package func follow(modelID: String, mode: String) throws(StoreError) {
        let now = Date().timeIntervalSince1970
        let added = try write { db -> Bool in
            let exists = try Bool.fetchOne(db, sql: "SELECT 1 FROM model_follow WHERE model_id = ?", arguments: [modelID]) ?? false
            if !exists, try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM model_follow") ?? 0 >= Self.maxFollows { return false }
            try db.execute(
                sql: """
                    INSERT INTO model_follow (model_id, mode, declined, followed_at, origin) VALUES (?, ?, '', ?, 'runtime')
                    ON CONFLICT(model_id) DO UPDATE SET mode = excluded.mode, origin = 'runtime'
                    """,
                arguments: [modelID, mode, now])
            return true
        }
        guard added else { throw StoreError(.conflict, "this node follows \(Self.maxFollows) models already; unfollow one first") }
    }

    /// Stops following `modelID` (its sightings go too); false when it was not followed.
    @discardableResult
    package func unfollow(modelID: String) throws(StoreError) -> Bool {
        try write { db in
            try db.execute(sql: "DELETE FROM model_follow WHERE model_id = ?", arguments: [modelID])
            let removed = db.changesCount > 0
            try db.execute(sql: "DELETE FROM version_sighting WHERE model_id = ?", arguments: [modelID])
            return removed
        }
    }

    /// Adds (`declined` true) or removes a declined version of a followed id.
    package func setDeclined(modelID: String, sha256: String, _ declined: Bool) throws(StoreError) {
        let sha = sha256.lowercased()
        try write { db in
            guard let text = try String.fetchOne(db, sql: "SELECT declined FROM model_follow WHERE model_id = ?", arguments: [modelID])
            else { return }
            var list = text.split(separator: ",").map(String.init).filter { $0 != sha }
            if declined { list.append(sha) }
            let kept = list.suffix(Self.maxDeclinedPerFollow).joined(separator: ",")
            try db.execute(sql: "UPDATE model_follow SET declined = ? WHERE model_id = ?", arguments: [kept, modelID])
        }
    }

    /// Every recorded sighting of followed ids' versions.
    package func versionSightings() throws(StoreError) -> [VersionSighting] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT model_id, sha256, first_seen_ms FROM version_sighting ORDER BY model_id, first_seen_ms").map {
                VersionSighting(modelID: $0["model_id"], sha256: $0["sha256"], firstSeenMs: $0["first_seen_ms"])
            }
        }
    }

    /// Keeps first sightings (a version seen already keeps its first time); each id keeps
    /// its latest `maxSightingsPerModel`.
    package func recordSightings(_ sightings: [VersionSighting]) throws(StoreError) {
        guard !sightings.isEmpty else { return }
        try write { db in
            for sighting in sightings {
                try db.execute(
                    sql: "INSERT OR IGNORE INTO version_sighting (model_id, sha256, first_seen_ms) VALUES (?, ?, ?)",
                    arguments: [sighting.modelID, sighting.sha256, sighting.firstSeenMs])
            }
            for modelID in Set(sightings.map(\.modelID)) {
                try db.execute(
                    sql: """
                        DELETE FROM version_sighting WHERE model_id = ? AND sha256 NOT IN
                          (SELECT sha256 FROM version_sighting WHERE model_id = ? ORDER BY first_seen_ms DESC, sha256 LIMIT ?)
                        """,
                    arguments: [modelID, modelID, Self.maxSightingsPerModel])
            }
        }
    }

    /// Records the version of `modelID` an update replaced (kept for `atmo rollback`).
    package func recordPrevious(_ previous: PreviousVersionRecord) throws(StoreError) {
        try write { db in
            try db.execute(
                sql: """
                    INSERT INTO previous_version (model_id, sha256, version, replaced_by, kept_at) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT(model_id) DO UPDATE SET
                      sha256 = excluded.sha256, version = excluded.version, replaced_by = excluded.replaced_by, kept_at = excluded.kept_at
                    """,
                arguments: [previous.modelID, previous.sha256, previous.version, previous.replacedBy, previous.keptAt])
        }
    }

    /// The recorded previous versions, by model id.
    package func previousVersions() throws(StoreError) -> [String: PreviousVersionRecord] {
        let rows = try read { db in
            try Row.fetchAll(db, sql: "SELECT model_id, sha256, version, replaced_by, kept_at FROM previous_version").map { row in
                PreviousVersionRecord(
                    modelID: row["model_id"], sha256: row["sha256"], version: row["version"], replacedBy: row["replaced_by"],
                    keptAt: row["kept_at"])
            }
        }
        return Dictionary(rows.map { ($0.modelID, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Forgets the previous version of `modelID` (evicted, or rolled back to).
    package func forgetPrevious(modelID: String) throws(StoreError) {
        try write { db in try db.execute(sql: "DELETE FROM previous_version WHERE model_id = ?", arguments: [modelID]) }
    }
}

/// The version of a model an update replaced, as the state database records it.
public struct PreviousVersionRecord: Sendable, Hashable {
    public var modelID: String
    public var sha256: String
    public var version: String
    /// The SHA-256 of the version that replaced it.
    public var replacedBy: String
    /// Seconds since 1970.
    public var keptAt: Double

    public init(modelID: String, sha256: String, version: String, replacedBy: String, keptAt: Double) {
        self.modelID = modelID
        self.sha256 = sha256.lowercased()
        self.version = version
        self.replacedBy = replacedBy.lowercased()
        self.keptAt = keptAt
    }
}
