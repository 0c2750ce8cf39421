import AtmoProtocol
import Foundation

/// The mesh this node belongs to, kept in `{state}/mesh.json` (owner-only): written by
/// `atmo mesh create` (the founder, whose mesh key is `{state}/mesh.key`) and by
/// `atmo mesh join` (a member, with the token of its invite), read by the node's relay
/// client to register or join.
///
/// ```json
/// {"mesh_id": "3f2a9c0d1e4b5a67", "name": "home", "relays": ["ws://relay.example:8765"],
///  "founder": false, "token": {...MeshToken...}, "joined_at": 1764590000}
/// ```
public struct MeshMembership: Sendable, Hashable, Codable {
    /// The mesh id (16 hex characters, derived from the mesh public key).
    public var meshID: String
    /// The mesh's display name.
    public var name: String
    /// The relays (`ws://` or `wss://` base URLs, or full `/relay/{mesh_id}` URLs) to connect to.
    public var relays: [String]
    /// True on the founder's node, which holds `{state}/mesh.key` and registers the mesh.
    public var isFounder: Bool
    /// The admission token of a member (nil for the founder, who proves ownership instead).
    public var token: MeshToken?
    /// When this node created or joined the mesh, in Unix epoch seconds.
    public var joinedAt: Int64

    enum CodingKeys: String, CodingKey {
        case meshID = "mesh_id", name, relays, isFounder = "founder", token, joinedAt = "joined_at"
    }

    /// A membership described field by field.
    public init(meshID: String, name: String, relays: [String], isFounder: Bool, token: MeshToken?, joinedAt: Int64) {
        self.meshID = meshID
        self.name = name
        self.relays = relays
        self.isFounder = isFounder
        self.token = token
        self.joinedAt = joinedAt
    }

    /// `{state}/mesh.json`.
    public static func path(stateDirectory: String) -> String { stateDirectory + "/mesh.json" }
    /// `{state}/mesh.key`: the founder's raw Ed25519 mesh key (owner-only).
    public static func keyPath(stateDirectory: String) -> String { stateDirectory + "/mesh.key" }

    /// The membership saved in `stateDirectory`, or nil when this node is in no mesh.
    /// Throws `corrupt` (with what to do) when the file exists but cannot be read.
    public static func load(stateDirectory: String) throws(StoreError) -> MeshMembership? {
        let path = path(stateDirectory: stateDirectory)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StoreError(.permissionDenied, "cannot read \(path)")
        }
        do {
            return try JSONDecoder().decode(MeshMembership.self, from: data)
        } catch {
            throw StoreError(
                .corrupt, "\(path) is not a valid mesh membership (\(error)); run `atmo mesh join` or `atmo mesh create` again")
        }
    }

    /// Saves the membership to `{state}/mesh.json`, atomically, durably and owner-only
    /// (the token admits whoever holds it).
    public func save(stateDirectory: String) throws(StoreError) {
        try FileIO.makeDirectory(stateDirectory)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data: Data
        do {
            data = try encoder.encode(self)
        } catch {
            throw StoreError(.corrupt, "cannot encode the mesh membership: \(error)")
        }
        try FileIO.writeAtomically(data, to: Self.path(stateDirectory: stateDirectory), mode: 0o600)
    }
}
