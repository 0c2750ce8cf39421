import AtmoProtocol
import AtmoRelayServer
import AtmoStore
import Foundation
import Testing

/// Binary `direct` frames between peers that joined with `binary_direct`.
@Suite struct RelayServerBinaryTests {
    @Test func binaryDirectArrivesByteExactWithTheSendersID() async throws {
        let keys = MeshKeys.generate()
        try await withRelay { relay in
            let founder = relay.connect("founder", meshID: keys.meshID)
            try await founder.registerAsFounder(keys, capabilities: ["participant", "binary_direct"])
            let alice = relay.connect("alice", meshID: keys.meshID)
            try await alice.join(as: "alice", token: try Wire.token(keys, for: "alice"), capabilities: ["binary_direct"])
            _ = try await founder.nextMessage { $0.type == "peer_joined" }

            var generator = SystemRandomNumberGenerator()
            let payload = (0..<(1 << 20) + 17).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            alice.send(binary: [0x01, 7] + Array("founder".utf8) + payload)
            guard case .binary(let received) = try await founder.next() else {
                Issue.record("the founder got no binary frame")
                return
            }
            #expect(received.count == 2 + 5 + payload.count)
            #expect(Array(received.prefix(7)) == [0x01, 5] + Array("alice".utf8))
            #expect(Array(received.dropFirst(7)) == payload)

            // And back, from a frame without payload.
            founder.send(binary: [0x01, 5] + Array("alice".utf8))
            guard case .binary(let back) = try await alice.next() else {
                Issue.record("alice got no binary frame")
                return
            }
            #expect(back == [0x01, 7] + Array("founder".utf8))
            let stats = try await relay.stats()
            #expect(stats.messagesRelayed == 2)
            #expect(stats.bytesRelayed == UInt64(payload.count))
        }
    }

    @Test func binaryToAPeerWithoutTheCapabilityIsRefused() async throws {
        let keys = MeshKeys.generate()
        try await withRelay { relay in
            let founder = relay.connect("founder", meshID: keys.meshID)
            try await founder.registerAsFounder(keys)  // no binary_direct
            let alice = relay.connect("alice", meshID: keys.meshID)
            try await alice.join(as: "alice", token: try Wire.token(keys, for: "alice"), capabilities: ["binary_direct"])
            alice.send(binary: [0x01, 7] + Array("founder".utf8) + [1, 2, 3])
            #expect(try await alice.nextError().code == "BINARY_NOT_SUPPORTED")
            alice.send(binary: [0x01, 3] + Array("zed".utf8) + [1, 2, 3])
            #expect(try await alice.nextError().code == "PEER_NOT_FOUND")
            alice.send(binary: [0x09, 3, 1, 2, 3])
            #expect(try await alice.nextError().code == "INVALID_MESSAGE")
            // Nothing reached the founder: its next message is the answer to its own ping.
            try founder.send(.ping(RelayPing()))
            #expect(try await founder.nextMessage { $0.type != "peer_joined" }.type == "pong")
        }
    }

    @Test func binaryBeforeJoiningIsRefused() async throws {
        let keys = MeshKeys.generate()
        try await withRelay { relay in
            try await relay.connect("founder", meshID: keys.meshID).registerAsFounder(keys, capabilities: ["binary_direct"])
            let early = relay.connect("early", meshID: keys.meshID)
            early.send(binary: [0x01, 7] + Array("founder".utf8) + [1])
            #expect(try await early.nextError().code == "NOT_JOINED")
            #expect(try await early.closeCode() == 1008)
        }
    }
}
