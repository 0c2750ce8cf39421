import Foundation
import GRDB

/// The node's durable local state in one SQLite file (`{state}/atmo.sqlite`): the hash
/// cache of the inventory (with the piece manifests of hashed files) and the resume state
/// of downloads. WAL mode, so readers never wait for the writer, and every write is one
/// transaction.
public final class StateDatabase: Sendable {
    let queue: DatabaseQueue
    public let path: String

    /// Opens (creating and migrating as needed) the database at `path`.
    public init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.label = "atmo.state"
        // WAL: readers never block the writer; NORMAL: a commit costs no fsync (the data
        // files are fsynced by their owners; see DownloadRecord for what that means).
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        do {
            try FileIO.makeDirectory((path as NSString).deletingLastPathComponent)
            queue = try DatabaseQueue(path: path, configuration: configuration)
            try Self.migrator.migrate(queue)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.database(error, "cannot open the state database \(path)")
        }
    }

    /// An in-memory database, for tests.
    public init() throws {
        path = ":memory:"
        queue = try DatabaseQueue()
        try Self.migrator.migrate(queue)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "file_hash") { table in
                table.primaryKey("path", .text)
                table.column("size", .integer).notNull()
                table.column("mtime_ns", .integer).notNull()
                table.column("inode", .integer).notNull()
                table.column("device", .integer).notNull()
                table.column("sha256", .text).notNull()
                table.column("hashed_at", .double).notNull()
            }
            try db.create(table: "download") { table in
                table.primaryKey("sha256", .text)
                table.column("model_id", .text).notNull()
                table.column("size", .integer).notNull()
                table.column("piece_size", .integer).notNull()
                table.column("partial_path", .text).notNull()
                table.column("source_url", .text).notNull()
                table.column("durable_pieces", .blob).notNull()
                table.column("written_pieces", .blob).notNull()
                table.column("boot_id", .text).notNull()
                table.column("entry_json", .blob).notNull()
                table.column("updated_at", .double).notNull()
            }
        }
        // Peers and their measurements, so ranking survives restarts (StateDatabase+Peers).
        migrator.registerMigration("v2-peer") { db in
            try db.create(table: "peer") { table in
                table.primaryKey("node_id", .text)
                table.column("node_name", .text).notNull()
                table.column("http_url", .text)
                table.column("websocket", .boolean).notNull().defaults(to: false)
                table.column("latency_ms", .double)
                table.column("active_transfers", .integer)
                table.column("reliability", .double).notNull().defaults(to: 1.0)
                table.column("last_seen_ms", .integer).notNull()
                table.column("source", .text).notNull()
            }
        }
        // Downloads queued through the node, so they resume when it restarts
        // (StateDatabase+Queue).
        migrator.registerMigration("v3-queue") { db in
            try db.create(table: "queued_download") { table in
                table.primaryKey("request_id", .text)
                table.column("model_id", .text).notNull()
                table.column("sha256", .text)
                table.column("preferred_node", .text)
                table.column("created_at_ms", .integer).notNull()
            }
        }
        // Meshes registered with `atmo relay`, so registrations survive its restarts
        // (StateDatabase+RelayMeshes).
        migrator.registerMigration("v4-relay-mesh") { db in
            try db.create(table: "relay_mesh") { table in
                table.primaryKey("mesh_id", .text)
                table.column("public_key", .blob).notNull()
                table.column("registered_at", .double).notNull()
            }
        }
        // Piece manifests of hashed files, computed in the same read as their SHA-256
        // (StateDatabase+Manifests).
        migrator.registerMigration("v5-piece-manifest") { db in
            try db.create(table: "piece_manifest") { table in
                table.primaryKey("sha256", .text)
                table.column("file_size", .integer).notNull()
                table.column("piece_size", .integer).notNull()
                table.column("manifest_sha256", .text).notNull()
                table.column("digests", .blob).notNull()
                table.column("stored_at", .double).notNull()
            }
        }
        // When each pulled model was last used (served, pulled, or marked used), and the
        // pinned model ids, for the storage limit's eviction (StateDatabase+Usage).
        migrator.registerMigration("v6-storage") { db in
            try db.create(table: "model_usage") { table in
                table.primaryKey("sha256", .text)
                table.column("model_id", .text).notNull()
                table.column("last_used_at", .double).notNull()
                table.column("last_use", .text).notNull()
            }
            try db.create(table: "model_pin") { table in
                table.primaryKey("model_id", .text)
                table.column("pinned_at", .double).notNull()
            }
        }
        // The priority of each queued download, so a restarted node keeps it (earlier rows:
        // `high`, the default of `atmo pull`).
        migrator.registerMigration("v7-download-priority") { db in
            try db.alter(table: "queued_download") { table in
                table.add(column: "priority", .text).notNull().defaults(to: "high")
            }
        }
        // Followed models, sightings of their versions, previous versions (StateDatabase+Follows).
        registerFollowMigration(in: &migrator)
        // Final downloads kept (the last 100), pauses and repository downloads of the queue
        // (StateDatabase+DownloadHistory).
        registerDownloadHistoryMigration(in: &migrator)
        // The commits the Hub endpoint fills from the mesh (StateDatabase+HubFilling).
        registerHubFillingMigration(in: &migrator)
        return migrator
    }

    func read<T: Sendable>(_ body: @Sendable (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try queue.read(body)
        } catch {
            throw StoreError.database(error, "state database read failed")
        }
    }

    func write<T: Sendable>(_ body: @Sendable (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try queue.write(body)
        } catch {
            throw StoreError.database(error, "state database write failed")
        }
    }
}
