import AtmoProtocol
import AtmoRelay
import AtmoStore
import Foundation

/// Which mesh a node joins on its relays and how it introduces itself there, worked out
/// from `{state}/mesh.json` (and the founder's `{state}/mesh.key`), or from a relay URL that
/// names its mesh (`.../relay/{mesh_id}`: an open join, for a mesh nobody registered).
struct RelayIntroduction: Sendable {
    /// The capabilities this node announces on a relay: it offers models, takes binary
    /// frames (fast chunked transfers) from peers, and answers piece queries.
    static let capabilities = ["models", RelayBinaryFrame.capability, PieceQueryLimits.capability]

    let meshID: String
    let hello: RelayHello

    /// The introduction for the membership in `stateDirectory`; nil when the node is in no mesh.
    static func fromMembership(
        stateDirectory: String, identity: NodeIdentity, nodeName: String
    ) throws -> (RelayIntroduction, relays: [String])? {
        guard let membership = try MeshMembership.load(stateDirectory: stateDirectory) else { return nil }
        if membership.isFounder {
            let keys = try MeshKeys.load(path: MeshMembership.keyPath(stateDirectory: stateDirectory))
            guard keys.meshID == membership.meshID else {
                throw StoreError(
                    .corrupt,
                    "\(MeshMembership.keyPath(stateDirectory: stateDirectory)) holds the key of mesh \(keys.meshID), "
                        + "but mesh.json names \(membership.meshID); restore the right key or run `atmo mesh leave --force`")
            }
            let register = try founderHello(keys: keys, nodeID: identity.nodeID, nodeName: nodeName)
            return (RelayIntroduction(meshID: keys.meshID, hello: .founder(register)), membership.relays)
        }
        let join = RelayJoin(nodeID: identity.nodeID, token: membership.token, capabilities: capabilities, name: nodeName)
        return (RelayIntroduction(meshID: membership.meshID, hello: .member(join)), membership.relays)
    }

    /// The founder's `register_mesh`, valid on both relays. The proof is signed with the mesh
    /// key, and `node_public_key` carries that same key: the older Python relay verifies the
    /// proof against `node_public_key` whenever it is present (PROTOCOL-NOTES §4), so the
    /// node's own key there made it answer `REGISTRATION_FAILED`; `atmo relay` always checks
    /// against `mesh_public_key`. An older Python founder sends the same pair.
    static func founderHello(keys: MeshKeys, nodeID: String, nodeName: String) throws -> RelayRegisterMesh {
        let meshKey = keys.publicKey.rawRepresentation
        return RelayRegisterMesh(
            meshID: keys.meshID, meshPublicKey: meshKey, founderProof: try keys.founderProof(meshID: keys.meshID),
            nodeID: nodeID, name: nodeName, displayName: nodeName, nodePublicKey: meshKey, capabilities: capabilities)
    }

    /// An open join of the mesh a relay URL names, for a node in no mesh.
    static func open(meshID: String, nodeID: String, nodeName: String) -> RelayIntroduction {
        RelayIntroduction(
            meshID: meshID, hello: .member(RelayJoin(nodeID: nodeID, token: nil, capabilities: capabilities, name: nodeName)))
    }
}

/// Relay addresses: what a person writes (`ws://host:8765`, `http://host:8765`,
/// `wss://host/relay/abc`) and the WebSocket URL of one mesh on it.
enum RelayAddress {
    /// The mesh a URL names in its path (`.../relay/{mesh_id}`), if any.
    static func meshID(in url: String) -> String? {
        guard let path = URLComponents(string: url)?.path, let meshID = MeshInvite.meshNamed(inRelayPath: path) else { return nil }
        return RelayValidation.isValidMeshID(meshID) ? meshID : nil
    }

    /// The WebSocket URL of `meshID` on the relay at `url`; nil when `url` is not a
    /// `ws`/`wss`/`http`/`https` URL with a host, or names another mesh.
    static func webSocketURL(_ url: String, meshID: String) -> String? {
        guard var components = URLComponents(string: url.trimmingCharacters(in: .whitespaces)), components.host != nil else {
            return nil
        }
        switch components.scheme?.lowercased() {
        case "ws", "http": components.scheme = "ws"
        case "wss", "https": components.scheme = "wss"
        default: return nil
        }
        if let named = Self.meshID(in: url) {
            guard named == meshID else { return nil }
        } else {
            let base = components.path.hasSuffix("/") ? String(components.path.dropLast()) : components.path
            components.path = base + "/relay/" + meshID
        }
        components.query = nil
        components.fragment = nil
        return components.string
    }
}
