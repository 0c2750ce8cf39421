import Foundation
import GRDB

/// A mesh registered with the relay (`atmo relay`): the founder proved it holds the key,
/// and from then on only that key's founder proofs and tokens are accepted.
public struct RelayMeshRegistration: Sendable, Hashable {
    /// The mesh id (the key).
    public var meshID: String
    /// The raw 32-byte Ed25519 public key of the mesh.
    public var publicKey: Data
    /// When it was registered, Unix epoch seconds.
    public var registeredAt: Double

    /// A registration.
    public init(meshID: String, publicKey: Data, registeredAt: Double) {
        self.meshID = meshID
        self.publicKey = publicKey
        self.registeredAt = registeredAt
    }
}

extension StateDatabase {
    struct RelayMeshRow: Codable, FetchableRecord, PersistableRecord, Sendable {
        static let databaseTableName = "relay_mesh"
        var mesh_id: String
        var public_key: Data
        var registered_at: Double
    }

    /// Stores a registration durably before returning: the commit is synced to disk
    /// (`synchronous = FULL` for this write), since a registration that a crash forgets
    /// would let the next founder claim the mesh with another key. A mesh keeps its first
    /// key: saving it again with another key throws `conflict`.
    public func saveRelayMesh(_ registration: RelayMeshRegistration) throws(StoreError) {
        let row = RelayMeshRow(
            mesh_id: registration.meshID, public_key: registration.publicKey, registered_at: registration.registeredAt)
        let stored: Data
        do {
            stored = try queue.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
                defer { try? db.execute(sql: "PRAGMA synchronous = NORMAL") }
                var stored = row.public_key
                try db.inTransaction {
                    if let existing = try RelayMeshRow.fetchOne(db, key: row.mesh_id) {
                        stored = existing.public_key
                    } else {
                        try row.insert(db)
                    }
                    return .commit
                }
                return stored
            }
        } catch {
            throw StoreError(.database, "cannot store the registration of mesh \(registration.meshID): \(error)", underlying: error)
        }
        guard stored == registration.publicKey else {
            throw StoreError(.conflict, "mesh \(registration.meshID) is already registered with another key")
        }
    }

    /// Every stored registration, by mesh id.
    public func relayMeshes() throws(StoreError) -> [RelayMeshRegistration] {
        try read { db in try RelayMeshRow.order(Column("mesh_id")).fetchAll(db) }.map { row in
            RelayMeshRegistration(meshID: row.mesh_id, publicKey: row.public_key, registeredAt: row.registered_at)
        }
    }

    /// Forgets the registration of `meshID`; returns whether there was one.
    @discardableResult
    public func deleteRelayMesh(meshID: String) throws(StoreError) -> Bool {
        try write { db in try RelayMeshRow.deleteOne(db, key: meshID) }
    }
}
