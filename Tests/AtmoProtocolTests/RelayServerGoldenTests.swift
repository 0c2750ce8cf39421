import Foundation
import Testing

@testable import AtmoProtocol

/// Relay-to-client messages in the exact shapes of PROTOCOL-NOTES §4.
struct RelayServerGoldenTests {
    @Test func meshRegisteredAndErrors() throws {
        let registered = #"{"type":"mesh_registered","success":true}"#
        #expect(try RelayFixtures.decode(registered) == .meshRegistered(RelayMeshRegistered()))
        #expect(try RelayCoding.encodeText(.meshRegistered(RelayMeshRegistered())) == #"{"success":true,"type":"mesh_registered"}"#)

        let refused = #"{"type":"error","code":"TOKEN_INVALID","message":"Token expired"}"#
        let error = RelayErrorMessage(code: RelayErrorMessage.Code.tokenInvalid, message: "Token expired")
        #expect(try RelayFixtures.decode(refused) == .error(error))
        try RelayFixtures.expectRoundTrip(.error(error), refused)

        let notFound = #"{"type":"error","message":"Peer X not found"}"#
        guard case .error(let plain) = try RelayFixtures.decode(notFound) else {
            Issue.record("not an error")
            return
        }
        #expect(plain.code == nil)
        #expect(plain.message == "Peer X not found")
        try RelayFixtures.expectRoundTrip(.error(plain), notFound)
    }

    @Test func joinedThenPeers() throws {
        let joined = #"{"type":"joined","mesh":"home","mesh_id":"56475aa75463474c","node_count":3}"#
        let expected = RelayJoined(mesh: "home", meshID: "56475aa75463474c", nodeCount: 3)
        #expect(try RelayFixtures.decode(joined) == .joined(expected))
        try RelayFixtures.expectRoundTrip(.joined(expected), joined)

        let peers = """
            {"type":"peers","peers":[
             {"node_id":"a1b2c3d4e5f60718","name":"Studio","capabilities":["llm"],"is_founder":true,"joined_at":1767225600.25},
             {"node_id":"llamafarm-mac-12345","name":"Laptop","capabilities":[],"is_founder":false,
              "joined_at":"2026-01-01T00:00:00Z"}]}
            """
        let message = try RelayFixtures.decode(peers)
        guard case .peers(let list) = message else {
            Issue.record("decoded \(message)")
            return
        }
        #expect(list.peers.map(\.nodeID) == ["a1b2c3d4e5f60718", "llamafarm-mac-12345"])
        #expect(list.peers[0].isFounder)
        #expect(list.peers[0].joinedAtSeconds == 1_767_225_600.25)
        #expect(list.peers[1].joinedAtSeconds == 1_767_225_600)
        #expect(list.rejected.isEmpty)
        try RelayFixtures.expectRoundTrip(message, peers)
    }

    @Test func invalidPeerEntryIsLeftOut() throws {
        let peers = #"{"type":"peers","peers":[{"node_id":"bad id"},{"node_id":"ok","name":"n"}]}"#
        guard case .peers(let list) = try RelayFixtures.decode(peers) else {
            Issue.record("not peers")
            return
        }
        #expect(list.peers.map(\.nodeID) == ["ok"])
        #expect(list.rejected.count == 1)
    }

    @Test func peerJoinedAndLeft() throws {
        let joined = #"{"type":"peer_joined","node_id":"n2","name":"Pi","capabilities":["participant"],"is_founder":false,"zone":"lab"}"#
        guard case .peerJoined(let announcement) = try RelayFixtures.decode(joined) else {
            Issue.record("not peer_joined")
            return
        }
        #expect(announcement.peer.nodeID == "n2")
        #expect(announcement.peer.joinedAt == nil)
        #expect(announcement.peer.extra == ["zone": .string("lab")])
        try RelayFixtures.expectRoundTrip(.peerJoined(announcement), joined)

        let left = #"{"type":"peer_left","node_id":"n2"}"#
        #expect(try RelayFixtures.decode(left) == .peerLeft(RelayPeerLeft(nodeID: "n2")))
        #expect(try RelayCoding.encodeText(.peerLeft(RelayPeerLeft(nodeID: "n2"))) == #"{"node_id":"n2","type":"peer_left"}"#)
    }

    @Test func pongCarriesFloatSeconds() throws {
        let pong = #"{"type":"pong","timestamp":1767225600.123456}"#
        #expect(try RelayFixtures.decode(pong) == .pong(RelayPong(timestamp: 1_767_225_600.123456)))
        try RelayFixtures.expectRoundTrip(.pong(RelayPong(timestamp: 1_767_225_600.123456)), pong)
        #expect(try RelayFixtures.decode(#"{"type":"pong"}"#) == .pong(RelayPong(timestamp: nil)))
    }

    @Test func deliveredMessage() throws {
        let json = #"{"type":"message","from":"a1b2c3d4e5f60718","payload":{"type":"model_request","model_id":"yolov8n"}}"#
        let message = try RelayFixtures.decode(json)
        guard case .message(let delivery) = message else {
            Issue.record("decoded \(message)")
            return
        }
        #expect(delivery.from == "a1b2c3d4e5f60718")
        #expect(delivery.payload["model_id"] == .string("yolov8n"))
        try RelayFixtures.expectRoundTrip(message, json)
    }

    @Test func unknownTypeIsKept() throws {
        let json = #"{"type":"relay_stats","peers":4,"uptime":12.5}"#
        let message = try RelayFixtures.decode(json)
        #expect(
            message
                == .unknown(type: "relay_stats", fields: ["type": .string("relay_stats"), "peers": .number(4), "uptime": .number(12.5)]))
        #expect(message.type == "relay_stats")
        try RelayFixtures.expectRoundTrip(message, json)
    }
}
