import Foundation
import GRDB

/// config.json's `follow` list as a base that `atmo follow`/`unfollow` (and the API) override
/// for good. Migration v10 keeps, per id, the config entry last applied (`config_follow`)
/// and where each follow came from (`model_follow.origin`: `config` or `runtime`). At each
/// start (`applyConfigFollows`):
/// - an entry that is new, or whose mode changed in config.json since it was last applied,
///   is followed with that mode (over a runtime change: config.json changed that entry);
/// - an entry unchanged since last time changes nothing: a mode set at runtime stays, and
///   an id unfollowed at runtime stays unfollowed;
/// - an entry gone from config.json is forgotten, and so is its follow if it still is the
///   config's (a follow made or changed at runtime stays).
extension StateDatabase {
    static func registerConfigFollowMigration(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v10-config-follows") { db in
            try db.alter(table: "model_follow") { table in
                // Earlier follows were made by `atmo follow` or config.json alike: runtime.
                table.add(column: "origin", .text).notNull().defaults(to: "runtime")
            }
            try db.create(table: "config_follow") { table in
                table.primaryKey("model_id", .text)
                table.column("mode", .text).notNull()
            }
        }
    }

    /// The config.json entries last applied: model id → mode.
    package func configFollows() throws(StoreError) -> [String: String] {
        try read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT model_id, mode FROM config_follow")
            return Dictionary(rows.map { ($0["model_id"], $0["mode"]) }, uniquingKeysWith: { first, _ in first })
        }
    }

    /// Where the follow of `modelID` came from: `config`, `runtime`, or nil when not followed.
    package func followOrigin(modelID: String) throws(StoreError) -> String? {
        try read { db in try String.fetchOne(db, sql: "SELECT origin FROM model_follow WHERE model_id = ?", arguments: [modelID]) }
    }

    /// Applies config.json's follows (`entries`: id → mode, already valid) over the runtime
    /// ones, as the type's comment says. Returns the ids it followed or changed, and those it
    /// could not follow (beyond `maxFollows`).
    @discardableResult
    package func applyConfigFollows(_ entries: [String: String]) throws(StoreError) -> (applied: [String], refused: [String]) {
        let now = Date().timeIntervalSince1970
        return try write { db in
            let rows = try Row.fetchAll(db, sql: "SELECT model_id, mode FROM config_follow")
            let applied = Dictionary(rows.map { (String($0["model_id"]), String($0["mode"])) }, uniquingKeysWith: { first, _ in first })
            for (modelID, _) in applied where entries[modelID] == nil {
                try db.execute(sql: "DELETE FROM config_follow WHERE model_id = ?", arguments: [modelID])
                try db.execute(sql: "DELETE FROM model_follow WHERE model_id = ? AND origin = 'config'", arguments: [modelID])
                if db.changesCount > 0 {
                    try db.execute(sql: "DELETE FROM version_sighting WHERE model_id = ?", arguments: [modelID])
                }
            }
            var (done, refused) = ([String](), [String]())
            for (modelID, mode) in entries.sorted(by: { $0.key < $1.key }) where applied[modelID] != mode {
                let exists = try Bool.fetchOne(db, sql: "SELECT 1 FROM model_follow WHERE model_id = ?", arguments: [modelID]) ?? false
                if !exists, try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM model_follow") ?? 0 >= Self.maxFollows {
                    refused.append(modelID)
                    continue
                }
                try db.execute(
                    sql: """
                        INSERT INTO model_follow (model_id, mode, declined, followed_at, origin) VALUES (?, ?, '', ?, 'config')
                        ON CONFLICT(model_id) DO UPDATE SET mode = excluded.mode, origin = 'config'
                        """,
                    arguments: [modelID, mode, now])
                try db.execute(
                    sql: "INSERT INTO config_follow (model_id, mode) VALUES (?, ?) ON CONFLICT(model_id) DO UPDATE SET mode = excluded.mode",
                    arguments: [modelID, mode])
                done.append(modelID)
            }
            return (done, refused)
        }
    }
}
