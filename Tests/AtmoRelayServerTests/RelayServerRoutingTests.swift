import AtmoProtocol
import AtmoRelayServer
import AtmoStore
import Foundation
import Testing

/// Broadcasts, direct messages and departures between real clients.
@Suite struct RelayServerRoutingTests {
    let catalog: [String: JSONValue] = ["type": .string("model_catalog"), "node_id": .string("alice"), "models": .array([])]

    /// A registered mesh with the founder and the given members admitted, in order.
    func mesh(_ relay: RelayTestBed, keys: MeshKeys, members: [String]) async throws -> [TestPeer] {
        let founder = relay.connect("founder", meshID: keys.meshID)
        try await founder.registerAsFounder(keys)
        var peers = [founder]
        for member in members {
            let peer = relay.connect(member, meshID: keys.meshID)
            try await peer.join(as: member, token: try Wire.token(keys, for: member))
            for earlier in peers { _ = try await earlier.nextMessage { $0.type == "peer_joined" } }
            peers.append(peer)
        }
        return peers
    }

    @Test func broadcastReachesTheOthersWithItsSender() async throws {
        let keys = MeshKeys.generate()
        try await withRelay { relay in
            let peers = try await mesh(relay, keys: keys, members: ["alice", "bob"])
            let (founder, alice, bob) = (peers[0], peers[1], peers[2])
            try alice.send(.broadcast(RelayBroadcast(payload: catalog)))
            let expected = RelayMessage.message(RelayDelivery(from: "alice", payload: catalog))
            #expect(try await founder.nextMessage() == expected)
            #expect(try await bob.nextMessage() == expected)
            // The sender gets no copy: the next thing it hears is the answer to its ping.
            try alice.send(.ping(RelayPing()))
            #expect(try await alice.nextMessage().type == "pong")
        }
    }

    @Test func directReachesOnlyItsTarget() async throws {
        let keys = MeshKeys.generate()
        try await withRelay { relay in
            let peers = try await mesh(relay, keys: keys, members: ["alice", "bob"])
            let (founder, alice, bob) = (peers[0], peers[1], peers[2])
            let request: [String: JSONValue] = ["type": .string("model_request"), "model_id": .string("m")]
            try alice.send(.direct(RelayDirect(target: "bob", payload: request)))
            #expect(try await bob.nextMessage() == .message(RelayDelivery(from: "alice", payload: request)))
            try founder.send(.ping(RelayPing()))
            #expect(try await founder.nextMessage().type == "pong")
        }
    }

    @Test func directToAnUnknownPeerIsAnError() async throws {
        let keys = MeshKeys.generate()
        try await withRelay { relay in
            let alice = try await mesh(relay, keys: keys, members: ["alice"])[1]
            try alice.send(.direct(RelayDirect(target: "zed", payload: catalog)))
            let error = try await alice.nextError()
            #expect(error.code == "PEER_NOT_FOUND")
            #expect(error.message == "Peer zed not found")
            // The connection stays usable.
            try alice.send(.ping(RelayPing()))
            #expect(try await alice.nextMessage().type == "pong")
        }
    }

    @Test func theOthersAreToldWhenAPeerLeaves() async throws {
        let keys = MeshKeys.generate()
        try await withRelay { relay in
            let peers = try await mesh(relay, keys: keys, members: ["alice", "bob"])
            await peers[1].close()
            #expect(try await peers[0].nextMessage() == .peerLeft(RelayPeerLeft(nodeID: "alice")))
            #expect(try await peers[2].nextMessage() == .peerLeft(RelayPeerLeft(nodeID: "alice")))
            #expect(try await relay.stats().peers == 2)
        }
    }

    @Test func malformedFramesAreErrorsAndTheConnectionStays() async throws {
        let keys = MeshKeys.generate()
        try await withRelay { relay in
            let alice = try await mesh(relay, keys: keys, members: ["alice"])[1]
            alice.send(text: "not json at all")
            #expect(try await alice.nextError().code == "INVALID_MESSAGE")
            alice.send(text: #"{"type":"direct","payload":{}}"#)
            let missingTarget = try await alice.nextError()
            #expect(missingTarget.code == "INVALID_MESSAGE")
            #expect(missingTarget.message.contains("target"))
            try alice.send(.ping(RelayPing()))
            #expect(try await alice.nextMessage().type == "pong")
            #expect(try await relay.stats().messagesDropped == 2)
        }
    }

    @Test func incompleteRegistrationIsMissingFields() async throws {
        let keys = MeshKeys.generate()
        try await withRelay { relay async throws in
            let founder = relay.connect("founder", meshID: keys.meshID)
            founder.send(text: #"{"type":"register_mesh","mesh_id":"\#(keys.meshID)","node_id":"founder"}"#)
            #expect(try await founder.nextError().code == "MISSING_FIELDS")
            #expect(try await founder.closeCode() == 1008)
        }
    }
}
