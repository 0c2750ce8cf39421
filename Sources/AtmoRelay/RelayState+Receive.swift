import Foundation

extension RelayState {
    /// A text frame of `frameBytes` bytes arrived on `conn` at `now`, decoded as `message`.
    /// Frames over `maxFrameBytes` close the connection with 1009, messages over the rate
    /// limit with 1008. Before admission only `register_mesh` and `join` are accepted; a
    /// malformed first message is refused like any other.
    public mutating func received(
        _ message: RelayIncomingMessage, on conn: ConnectionID, frameBytes: Int, now: Int64
    ) -> [RelayAction] {
        guard var connection = connections[conn] else { return [] }
        guard frameBytes <= configuration.maxFrameBytes else {
            return close(
                conn, code: .messageTooBig,
                reason: "frame of \(frameBytes) bytes exceeds the limit of \(configuration.maxFrameBytes)")
        }
        guard connection.bucket.take(now: Self.bucketTime(now)) else {
            let rate = Int(configuration.messagesPerSecond)
            return close(conn, code: .policyViolation, reason: "rate limit exceeded: more than \(rate) messages/s")
        }
        connection.lastMessageMs = now
        connections[conn] = connection
        guard let sender = connection.member else {
            return receivedBeforeAdmission(message, on: conn, meshID: connection.meshID, now: now)
        }
        switch message {
        case .registerMesh, .join:
            return [.send(conn, .error(code: .alreadyJoined, message: "Already joined mesh \(connection.meshID)"))]
        case .ping:
            return [.send(conn, .pong(timestamp: Double(now) / 1000))]
        case .broadcast(let payload):
            let deliveries = sendToMesh(
                connection.meshID, .message(from: sender.nodeID, payload: payload), except: sender.nodeID)
            countRelayed(deliveries.count, payloadBytes: payload.count)
            return deliveries
        case .direct(let target, let payload):
            guard let targetConn = rooms[connection.meshID]?[target] else {
                return [.send(conn, .error(code: .peerNotFound, message: "Peer \(target) not found"))]
            }
            countRelayed(1, payloadBytes: payload.count)
            return [.send(targetConn, .message(from: sender.nodeID, payload: payload))]
        case .other:
            counters.messagesDropped += 1
            return []
        case .malformed(let code, let message):
            counters.messagesDropped += 1
            return [.send(conn, .error(code: code, message: message))]
        }
    }

    mutating func countRelayed(_ deliveries: Int, payloadBytes: Int) {
        counters.messagesRelayed += UInt64(deliveries)
        counters.bytesRelayed += UInt64(deliveries) * UInt64(payloadBytes)
    }

    /// The first message of a connection: it registers or joins, or the connection is refused.
    mutating func receivedBeforeAdmission(
        _ message: RelayIncomingMessage, on conn: ConnectionID, meshID: String, now: Int64
    ) -> [RelayAction] {
        switch message {
        case .registerMesh(let claimedMeshID, let key, let proof, let nodeID, let name, let capabilities):
            let candidate = RelayPeerInfo(
                nodeID: nodeID, name: name, capabilities: capabilities, isFounder: true, joinedAtMs: now)
            return register(
                conn, meshID: meshID, claimedMeshID: claimedMeshID, key: key, proof: proof, candidate: candidate)
        case .join(let nodeID, let token, let capabilities, let name, let tokenProblem):
            let candidate = RelayPeerInfo(
                nodeID: nodeID, name: name, capabilities: capabilities, isFounder: false, joinedAtMs: now)
            return join(
                conn, meshID: meshID, token: token, unreadableToken: tokenProblem, candidate: candidate, now: now)
        case .malformed(let code, let message):
            counters.messagesDropped += 1
            return refuse(conn, code, message, reason: "malformed first message")
        case .ping, .broadcast, .direct, .other:
            return refuse(
                conn, .notJoined, "The first message must be register_mesh or join",
                reason: "message before register_mesh or join")
        }
    }

    /// Sends `error(code, message)` then closes `conn` with 1008.
    mutating func refuse(_ conn: ConnectionID, _ code: RelayErrorCode, _ message: String, reason: String) -> [RelayAction] {
        [.send(conn, .error(code: code, message: message))] + close(conn, code: .policyViolation, reason: reason)
    }
}
