import AtmoProtocol
import Foundation

extension RelayState {
    /// `register_mesh` on a connection to `/relay/{meshID}`: the founder proof is checked
    /// every time, a registered mesh keeps its key, and the founder is admitted.
    mutating func register(
        _ conn: ConnectionID, meshID: String, claimedMeshID: String, key: Data, proof: Data, candidate: RelayPeerInfo
    ) -> [RelayAction] {
        let failed = RelayErrorCode.registrationFailed
        guard claimedMeshID == meshID else {
            return refuse(
                conn, failed, "mesh_id \(claimedMeshID) does not match the URL's \(meshID)",
                reason: "register_mesh for another mesh")
        }
        if let registeredKey = registeredMeshes[meshID], registeredKey != key {
            return refuse(
                conn, failed, "Mesh \(meshID) is registered with another key", reason: "register_mesh with another key")
        }
        guard verifier.isValidFounderProof(proof, meshID: meshID, meshPublicKey: key) else {
            return refuse(conn, failed, "Invalid founder proof for mesh \(meshID)", reason: "invalid founder proof")
        }
        guard hasRoom(in: meshID, for: candidate.nodeID) else { return refuseFull(conn, meshID: meshID) }
        var actions: [RelayAction] = []
        if registeredMeshes[meshID] == nil {
            registeredMeshes[meshID] = key
            actions.append(.persistMesh(meshID: meshID, publicKey: key))
        }
        actions.append(.send(conn, .meshRegistered))
        return actions + admit(conn, meshID: meshID, as: candidate)
    }

    /// `join` on a connection to `/relay/{meshID}`: a registered mesh needs a valid token,
    /// an unregistered one admits anyone.
    mutating func join(
        _ conn: ConnectionID, meshID: String, token: MeshToken?, unreadableToken: String?, candidate: RelayPeerInfo,
        now: Int64
    ) -> [RelayAction] {
        if let meshKey = registeredMeshes[meshID] {
            if let unreadableToken {
                return refuse(conn, .tokenInvalid, "Token unreadable: \(unreadableToken)", reason: "unreadable token")
            }
            guard let token else {
                return refuse(
                    conn, .tokenRequired, "Mesh \(meshID) requires a token to join", reason: "join without a token")
            }
            if let problem = tokenProblem(token, meshID: meshID, meshKey: meshKey, nodeID: candidate.nodeID, now: now) {
                return refuse(conn, .tokenInvalid, problem, reason: "invalid token: \(problem)")
            }
        }
        guard hasRoom(in: meshID, for: candidate.nodeID) else { return refuseFull(conn, meshID: meshID) }
        return admit(conn, meshID: meshID, as: candidate)
    }

    /// Why `token` does not admit `nodeID` to `meshID` at `now` (epoch ms), or nil when it does.
    /// The claims (`MeshToken.claimsRejection`) are checked before the signature, which is
    /// the expensive part.
    func tokenProblem(_ token: MeshToken, meshID: String, meshKey: Data, nodeID: String, now: Int64) -> String? {
        if let rejection = token.claimsRejection(
            meshID: meshID, nodeID: nodeID, now: now / 1000, maxLifetime: configuration.maxTokenLifetimeSeconds,
            clockSkew: configuration.tokenClockSkewSeconds)
        {
            return "Token refused: \(rejection)"
        }
        if !verifier.isValidTokenSignature(token, meshPublicKey: meshKey) { return "Token signature is invalid" }
        return nil
    }

    /// Whether `meshID` can take `nodeID` (a node replacing its own connection always fits);
    /// a mesh with no peer yet needs room for one more mesh on the relay.
    func hasRoom(in meshID: String, for nodeID: String) -> Bool {
        guard let room = rooms[meshID] else { return configuration.maxPeersPerMesh > 0 && rooms.count < configuration.maxMeshes }
        return room[nodeID] != nil || room.count < configuration.maxPeersPerMesh
    }

    mutating func refuseFull(_ conn: ConnectionID, meshID: String) -> [RelayAction] {
        guard rooms[meshID] != nil || configuration.maxPeersPerMesh < 1 else {
            let limit = configuration.maxMeshes
            return [.send(conn, .error(code: .relayFull, message: "The relay holds its most meshes (\(limit)); try again later"))]
                + close(conn, code: .tryAgainLater, reason: "relay full")
        }
        let limit = configuration.maxPeersPerMesh
        return [.send(conn, .error(code: .meshFull, message: "Mesh \(meshID) is full (\(limit) peers)"))]
            + close(conn, code: .tryAgainLater, reason: "mesh full")
    }

    /// Admits `conn` as `candidate`: closes an older connection of the same node, tells the
    /// others `peer_joined`, and sends the newcomer `joined` then `peers`.
    mutating func admit(_ conn: ConnectionID, meshID: String, as candidate: RelayPeerInfo) -> [RelayAction] {
        var actions: [RelayAction] = []
        if let older = rooms[meshID]?[candidate.nodeID], older != conn {
            // The node is still in the mesh: the others get `peer_joined` with its new details, no `peer_left`.
            connections[older] = nil
            counters.connectionsClosed += 1
            actions.append(.close(older, code: .normalClosure, reason: "replaced by a newer connection of the same node"))
        }
        let others = peers(of: meshID).filter { $0.nodeID != candidate.nodeID }
        actions += sendToMesh(meshID, .peerJoined(candidate), except: candidate.nodeID)
        connections[conn]?.member = candidate
        rooms[meshID, default: [:]][candidate.nodeID] = conn
        actions.append(.send(conn, .joined(meshID: meshID, nodeCount: others.count + 1)))
        actions.append(.send(conn, .peers(others)))
        return actions
    }
}

extension RelayState {
    /// Storing the registration of `meshID` (a `persistMesh`) failed. The relay forgets it,
    /// since it would not survive a restart, and closes the mesh's connections with 1011
    /// after an `error`, so nobody relies on it; the founder can register again later.
    public mutating func registrationNotPersisted(meshID: String) -> [RelayAction] {
        guard registeredMeshes.removeValue(forKey: meshID) != nil else { return [] }
        let message = "The relay could not store the registration of mesh \(meshID); try again later"
        var actions: [RelayAction] = []
        for conn in connections.filter({ $0.value.meshID == meshID }).keys.sorted() where connections[conn] != nil {
            actions.append(.send(conn, .error(code: .registrationFailed, message: message)))
            actions += close(conn, code: .internalError, reason: "the relay could not store the registration")
        }
        return actions
    }
}
