import AtmoProtocol
import Foundation
import Testing

@testable import AtmoRelay

/// A stand-in for Ed25519: a founder proof is valid when it is the key followed by the mesh
/// id, a token signature when it equals the mesh key. Enough to tell right from wrong keys.
struct FakeVerifier: RelaySignatureVerifier {
    func isValidFounderProof(_ proof: Data, meshID: String, meshPublicKey: Data) -> Bool {
        proof == meshPublicKey + Data(meshID.utf8)
    }

    func isValidTokenSignature(_ token: MeshToken, meshPublicKey: Data) -> Bool {
        token.signature == meshPublicKey
    }
}

enum Fixture {
    static let meshID = "mesh-a"
    static let founderKey = Data("founder-key".utf8)
    static let strangerKey = Data("stranger-key".utf8)
    /// 2025-01-01T00:00:00Z in epoch milliseconds.
    static let start: Int64 = 1_735_689_600_000

    static func proof(key: Data = founderKey, meshID: String = meshID) -> Data { key + Data(meshID.utf8) }

    static func register(
        _ nodeID: String = "founder", meshID: String = meshID, key: Data = founderKey, proof: Data? = nil
    ) -> RelayIncomingMessage {
        .registerMesh(
            meshID: meshID, meshPublicKey: key, founderProof: proof ?? Fixture.proof(key: key, meshID: meshID),
            nodeID: nodeID, name: "\(nodeID) name", capabilities: ["participant"])
    }

    static func token(
        meshID: String = meshID, nodeID: String? = nil, issuedAt: Int64 = start / 1000,
        lifetime: Int64 = 86_400, signedWith key: Data = founderKey
    ) -> MeshToken {
        MeshToken(
            meshID: meshID, nodeID: nodeID, issuedAt: issuedAt, expiresAt: issuedAt + lifetime, issuerID: "founder",
            nonce: String(repeating: "ab", count: 16), signature: key)
    }

    static func join(_ nodeID: String, token: MeshToken? = nil) -> RelayIncomingMessage {
        .join(nodeID: nodeID, token: token, capabilities: ["participant"], name: "\(nodeID) name")
    }

    static let payload = Data(#"{"type":"model_request","model_id":"m"}"#.utf8)
}

/// A relay with a clock and a few helpers, so a test reads as a scenario.
struct RelayHarness {
    var relay: RelayState
    var now = Fixture.start

    init(registeredMeshes: [String: Data] = [:], configuration: RelayConfiguration = RelayConfiguration()) {
        relay = RelayState(registeredMeshes: registeredMeshes, configuration: configuration, verifier: FakeVerifier())
    }

    @discardableResult
    mutating func connect(_ id: UInt64, meshID: String = Fixture.meshID) -> [RelayAction] {
        relay.connected(ConnectionID(id), meshID: meshID, now: now)
    }

    @discardableResult
    mutating func send(_ message: RelayIncomingMessage, on id: UInt64, frameBytes: Int = 100) -> [RelayAction] {
        relay.received(message, on: ConnectionID(id), frameBytes: frameBytes, now: now)
    }

    /// Connects `id` and sends `message` as its first message.
    @discardableResult
    mutating func open(_ id: UInt64, _ message: RelayIncomingMessage, meshID: String = Fixture.meshID) -> [RelayAction] {
        connect(id, meshID: meshID)
        return send(message, on: id)
    }

    mutating func advance(seconds: Double) { now += Int64(seconds * 1000) }

    /// A registered mesh with the founder on connection 1 and members on 2, 3... (with tokens).
    mutating func meshWithPeers(_ members: [String]) {
        open(1, Fixture.register())
        for (index, nodeID) in members.enumerated() {
            open(UInt64(index + 2), Fixture.join(nodeID, token: Fixture.token()))
        }
    }
}

/// The messages `actions` send to `conn`, in order.
func sent(to id: UInt64, in actions: [RelayAction]) -> [RelayOutgoingMessage] {
    actions.compactMap { action in
        if case .send(let conn, let message) = action, conn == ConnectionID(id) { return message }
        return nil
    }
}

/// The close of `conn` in `actions`, if any.
func closure(of id: UInt64, in actions: [RelayAction]) -> (code: RelayCloseCode, reason: String)? {
    for action in actions {
        if case .close(let conn, let code, let reason) = action, conn == ConnectionID(id) { return (code, reason) }
    }
    return nil
}

/// The error codes `actions` send to `conn`.
func errorCodes(to id: UInt64, in actions: [RelayAction]) -> [RelayErrorCode] {
    sent(to: id, in: actions).compactMap { message in
        if case .error(let code, _) = message { return code }
        return nil
    }
}
