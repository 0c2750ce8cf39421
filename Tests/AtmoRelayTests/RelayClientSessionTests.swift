import AtmoProtocol
import Foundation
import Testing

@testable import AtmoRelay

@Suite("Relay client session")
struct RelayClientSessionTests {
    static let me = "aaaaaaaaaaaaaaaa"
    static let other = "bbbbbbbbbbbbbbbb"
    static let third = "cccccccccccccccc"

    func memberSession() -> RelayClientSession {
        RelayClientSession(hello: .member(RelayJoin(nodeID: Self.me, token: nil, capabilities: ["models"], name: "me")))
    }

    func peer(_ id: String) -> RelayPeer {
        RelayPeer(nodeID: id, name: "n-\(id.prefix(2))", capabilities: [], isFounder: false)
    }

    func joinedSession(now: Int64 = 0) -> RelayClientSession {
        var session = memberSession()
        _ = session.connected(now: now)
        _ = session.received(.joined(RelayJoined(mesh: "m", meshID: "mesh1", nodeCount: 1)), now: now)
        return session
    }

    @Test func sendsItsHelloOnConnectAndIsJoinedOnlyAfterJoined() {
        var session = memberSession()
        let hello = session.connected(now: 0)
        guard case .send(.join(let join)) = hello.first else {
            Issue.record("expected a join, got \(hello)")
            return
        }
        #expect(join.nodeID == Self.me)
        #expect(session.phase == .greeting)
        #expect(session.broadcast(["type": .string("x")]).isEmpty, "nothing is broadcast before joined")
        let joined = session.received(
            .joined(RelayJoined(mesh: "m", meshID: "mesh1", nodeCount: 2, extra: ["features": .array([.string("binary_direct")])])),
            now: 1)
        #expect(joined == [.joined(meshID: "mesh1", features: ["binary_direct"])])
        #expect(session.phase == .joined)
        #expect(session.broadcast(["type": .string("x")]).count == 1)
    }

    @Test func founderSendsRegisterMesh() {
        let register = RelayRegisterMesh(
            meshID: "mesh1", meshPublicKey: Data(repeating: 1, count: 32), founderProof: Data(repeating: 2, count: 64),
            nodeID: Self.me, name: "me", displayName: "me")
        var session = RelayClientSession(hello: .founder(register))
        #expect(session.connected(now: 0) == [.send(.registerMesh(register))])
    }

    @Test func peersListReplacesTheViewAndSkipsThisNode() {
        var session = joinedSession()
        let first = session.received(.peers(RelayPeers(peers: [peer(Self.other), peer(Self.me)])), now: 1)
        #expect(first == [.peerPresent(peer(Self.other), isNew: false)])
        let joined = session.received(.peerJoined(RelayPeerJoined(peer: peer(Self.third))), now: 2)
        #expect(joined == [.peerPresent(peer(Self.third), isNew: true)])
        #expect(Set(session.peers.keys) == [Self.other, Self.third])
        // A new list drops who is not on it.
        let second = session.received(.peers(RelayPeers(peers: [peer(Self.third)])), now: 3)
        #expect(second == [.peerGone(nodeID: Self.other), .peerPresent(peer(Self.third), isNew: false)])
        #expect(session.received(.peerLeft(RelayPeerLeft(nodeID: Self.third)), now: 4) == [.peerGone(nodeID: Self.third)])
        #expect(session.received(.peerLeft(RelayPeerLeft(nodeID: Self.third)), now: 5).isEmpty, "a second peer_left is ignored")
    }

    @Test func directOnlyToPeersInTheMesh() {
        var session = joinedSession()
        _ = session.received(.peers(RelayPeers(peers: [peer(Self.other)])), now: 1)
        #expect(session.direct(["a": .bool(true)], to: Self.other).count == 1)
        #expect(session.direct(["a": .bool(true)], to: Self.third).isEmpty)
    }

    @Test func deliveriesAreHandedUpOnceJoined() {
        var session = memberSession()
        _ = session.connected(now: 0)
        let early = session.received(.message(RelayDelivery(from: Self.other, payload: ["type": .string("t")])), now: 1)
        #expect(early.isEmpty, "nothing is delivered before joined")
        _ = session.received(.joined(RelayJoined(mesh: "m", meshID: "mesh1", nodeCount: 2)), now: 2)
        let delivered = session.received(.message(RelayDelivery(from: Self.other, payload: ["type": .string("t")])), now: 3)
        #expect(delivered == [.payload(from: Self.other, ["type": .string("t")])])
    }

    @Test func anErrorBeforeJoiningIsARefusalButNotAfter() {
        var session = memberSession()
        _ = session.connected(now: 0)
        let refused = session.received(.error(RelayErrorMessage(code: "TOKEN_REQUIRED", message: "needs a token")), now: 1)
        #expect(refused == [.refused(code: "TOKEN_REQUIRED", message: "needs a token")])
        #expect(session.phase == .ended)

        var joined = joinedSession()
        #expect(joined.received(.error(RelayErrorMessage(message: "Peer x not found")), now: 1).isEmpty)
        #expect(joined.phase == .joined)
    }

    @Test func pingsWhenDueAndGivesUpOnASilentRelay() {
        var session = joinedSession(now: 0)
        #expect(session.tick(now: 10_000).isEmpty)
        #expect(session.tick(now: 20_000) == [.send(.ping(RelayPing()))])
        #expect(session.tick(now: 25_000).isEmpty, "one ping per interval")
        _ = session.received(.pong(RelayPong(timestamp: 1)), now: 30_000)
        #expect(session.tick(now: 89_000).count == 1, "heard at 30 s: alive until 90 s, pings meanwhile")
        let dead = session.tick(now: 90_000)
        #expect(dead == [.reconnect(reason: "relay silent for 60 s")])
        #expect(session.phase == .ended)
    }

    @Test func anUnansweredHelloEndsTheSession() {
        var session = memberSession()
        _ = session.connected(now: 0)
        #expect(session.tick(now: 60_000) == [.reconnect(reason: "no answer to the hello in 60 s")])
    }

    @Test func disconnectDropsEveryPeer() {
        var session = joinedSession()
        _ = session.received(.peers(RelayPeers(peers: [peer(Self.other), peer(Self.third)])), now: 1)
        #expect(session.disconnected() == [.peerGone(nodeID: Self.other), .peerGone(nodeID: Self.third)])
        #expect(session.peers.isEmpty)
    }

    @Test func backoffGrowsWithJitterUpToTheCapAndResets() {
        var backoff = RelayBackoff()
        var random = SystemRandomNumberGenerator()
        var ceilings: [Int64] = []
        for _ in 0..<12 {
            let delay = backoff.nextDelay(using: &random)
            let ceiling = min(backoff.capMs, backoff.baseMs << Int64(backoff.failures - 1))
            #expect(delay >= ceiling / 2 && delay <= ceiling, "delay \(delay) outside [\(ceiling / 2), \(ceiling)]")
            ceilings.append(ceiling)
        }
        #expect(ceilings.first == 500)
        #expect(ceilings.last == 30_000)
        backoff.succeeded()
        #expect(backoff.nextDelay(using: &random) <= 500)
    }
}
