import AtmoProtocol
import AtmoRelayServer
import AtmoStore
import Foundation
import Testing

/// The relay's global budget of queued bytes (issue 9, item 4), on real sockets.
@Suite struct RelayServerBudgetTests {
    /// Peers that never read fill their queues until the queues together reach the budget;
    /// then the slowest are dropped (1013), the total never goes over the budget, and the
    /// peers that read go on receiving everything.
    @Test func atTheBudgetTheSlowestPeersAreDroppedAndTheOthersGoOn() async throws {
        let keys = MeshKeys.generate()
        let budget = 8 << 20
        let slowNames = ["slow-1", "slow-2", "slow-3"]
        try await withRelay(configure: { configuration in
            configuration.maxQueuedBytes = budget
            // Each queue alone could hold far more than the budget: only the budget drops.
            configuration.sendQueue = .init(maxFrames: 1 << 20, maxBytes: 1 << 30)
            configuration.relay.messagesPerSecond = 5_000
            configuration.relay.messageBurst = 5_000
            configuration.closeTimeout = .seconds(60)  // a slow peer reads its close later in the test
        }) { relay in
            let founder = relay.connect("founder", meshID: keys.meshID)
            try await founder.registerAsFounder(keys)
            let bob = relay.connect("bob", meshID: keys.meshID)
            try await bob.join(as: "bob", token: try Wire.token(keys, for: "bob"))
            _ = try await founder.nextMessage { $0.type == "peer_joined" }
            var slowPeers: [TestPeer] = []
            for name in slowNames {
                let slow = relay.connect(name, meshID: keys.meshID, reading: false)
                try slow.send(Wire.join(name, token: try Wire.token(keys, for: name)))
                _ = try await founder.nextMessage { $0.type == "peer_joined" }
                slowPeers.append(slow)
            }

            // Bob broadcasts 64 KiB messages in batches of 20; the founder reads each batch
            // whole, the slow peers nothing, until the relay dropped all three (at most ~200 MB).
            let blob: [String: JSONValue] = ["type": .string("blob"), "data": .string(String(repeating: "x", count: 64 << 10))]
            var left: Set<String> = []
            var delivered = 0
            var batches = 0
            while left.count < slowNames.count, batches < 160 {
                batches += 1
                for _ in 0..<20 { try bob.send(.broadcast(RelayBroadcast(payload: blob))) }
                var inBatch = 0
                while inBatch < 20 {
                    let event = try await founder.next()
                    guard case .text(let text) = event else { throw UnexpectedEvent(peer: "founder", expected: "text", got: event) }
                    if text.hasPrefix(#"{"from":"bob""#) {
                        inBatch += 1
                    } else if case .peerLeft(let gone) = try RelayCoding.decode(text) {
                        left.insert(gone.nodeID)
                    }
                }
                delivered += inBatch
            }
            let stats = try await relay.stats()
            #expect(left == Set(slowNames), "dropped: \(left.sorted()) after \(batches) batches")
            #expect(stats.queuedBytesPeak <= budget, "the queues held \(stats.queuedBytesPeak) bytes at once, over the \(budget) budget")
            #expect(stats.queuedBytesPeak > budget / 2, "the budget was reached (peak \(stats.queuedBytesPeak))")
            #expect(delivered == batches * 20, "the founder received every broadcast")

            // The peers that read are unaffected.
            let hello: [String: JSONValue] = ["type": .string("hello")]
            try bob.send(.direct(RelayDirect(target: "founder", payload: hello)))
            #expect(try await founder.nextMessage { $0.type == "message" } == .message(RelayDelivery(from: "bob", payload: hello)))
            try founder.send(.direct(RelayDirect(target: "bob", payload: hello)))
            #expect(try await bob.nextMessage { $0.type == "message" } == .message(RelayDelivery(from: "founder", payload: hello)))

            // A slow peer, once it reads, finds the relay's close: 1013 (try again later).
            slowPeers[0].startReading()
            #expect(try await slowPeers[0].closeCode() == 1013)
        }
    }

    /// `--max-meshes`: a join that would open one more mesh is refused (RELAY_FULL, 1013).
    @Test func aMeshBeyondTheCapIsRefused() async throws {
        try await withRelay(configure: { $0.relay.maxMeshes = 1 }) { relay in
            let first = relay.connect("first", meshID: "open-one")
            try await first.join(as: "first", token: nil)
            let second = relay.connect("second", meshID: "open-two")
            try second.send(Wire.join("second"))
            #expect(try await second.nextError().code == "RELAY_FULL")
            #expect(try await second.closeCode() == 1013)
            let stats = try await relay.stats()
            #expect(stats.meshesActive == 1)
        }
    }
}
