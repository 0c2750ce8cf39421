import AtmoProtocol
import AtmoRelayServer
import AtmoStore
import Foundation
import Logging
import ServiceLifecycle
import Testing

/// Slow consumers, frame limits and shutdown, on real sockets.
@Suite struct RelayServerLimitTests {
    /// Defect of the older relay: one slow peer stalled every broadcast. Here a peer that
    /// never reads fills its own bounded queue and is dropped (1013) while the others go on.
    @Test func aPeerThatNeverReadsIsDroppedWhileTheOthersKeepExchanging() async throws {
        let keys = MeshKeys.generate()
        try await withRelay(configure: { configuration in
            // Room for one batch of bob's (below), so only a peer that does not read overflows.
            configuration.sendQueue = .init(maxFrames: 256, maxBytes: 8 << 20)
            configuration.relay.messagesPerSecond = 5_000
            configuration.relay.messageBurst = 5_000
            configuration.closeTimeout = .seconds(60)  // the slow peer reads its close later in the test
        }) { relay in
            let founder = relay.connect("founder", meshID: keys.meshID)
            try await founder.registerAsFounder(keys)
            let bob = relay.connect("bob", meshID: keys.meshID)
            try await bob.join(as: "bob", token: try Wire.token(keys, for: "bob"))
            _ = try await founder.nextMessage { $0.type == "peer_joined" }
            let slow = relay.connect("slow", meshID: keys.meshID, reading: false)
            try slow.send(Wire.join("slow", token: try Wire.token(keys, for: "slow")))
            _ = try await founder.nextMessage { $0.type == "peer_joined" }
            _ = try await bob.nextMessage { $0.type == "peer_joined" }

            // Bob broadcasts 64 KiB messages in batches of 20; the founder reads each batch,
            // the slow peer nothing, until the relay gives up on it (at most ~130 MB in all).
            let blob: [String: JSONValue] = ["type": .string("blob"), "data": .string(String(repeating: "x", count: 64 << 10))]
            var slowLeft = false
            var batches = 0
            while !slowLeft, batches < 100 {
                batches += 1
                for _ in 0..<20 { try bob.send(.broadcast(RelayBroadcast(payload: blob))) }
                var delivered = 0
                while delivered < 20 {
                    let event = try await founder.next()
                    guard case .text(let text) = event else { throw UnexpectedEvent(peer: "founder", expected: "text", got: event) }
                    if text.hasPrefix(#"{"from":"bob""#) {
                        delivered += 1
                    } else if try RelayCoding.decode(text) == .peerLeft(RelayPeerLeft(nodeID: "slow")) {
                        slowLeft = true
                    }
                }
            }
            #expect(slowLeft, "the relay never dropped the peer that does not read")
            #expect(try await relay.stats().connectionsClosed >= 1)

            // Bob and the founder are unaffected.
            let ping: [String: JSONValue] = ["type": .string("hello")]
            try bob.send(.direct(RelayDirect(target: "founder", payload: ping)))
            #expect(try await founder.nextMessage { $0.type == "message" } == .message(RelayDelivery(from: "bob", payload: ping)))
            try founder.send(.direct(RelayDirect(target: "bob", payload: ping)))
            #expect(try await bob.nextMessage { $0.type == "message" } == .message(RelayDelivery(from: "founder", payload: ping)))

            // The slow peer, once it reads, finds the relay's close: 1013 (try again later).
            slow.startReading()
            #expect(try await slow.closeCode() == 1013)
        }
    }

    @Test func framesOverTheLimitsCloseWithMessageTooBig() async throws {
        let keys = MeshKeys.generate()
        try await withRelay(configure: { configuration in
            configuration.relay.maxFrameBytes = 64 << 10
            configuration.relay.maxBinaryFrameBytes = 256 << 10
        }) { relay in
            let founder = relay.connect("founder", meshID: keys.meshID)
            try await founder.registerAsFounder(keys)
            // A text frame over the text limit (the relay's check).
            let alice = relay.connect("alice", meshID: keys.meshID)
            try await alice.join(as: "alice", token: try Wire.token(keys, for: "alice"))
            let big: [String: JSONValue] = ["data": .string(String(repeating: "y", count: 100 << 10))]
            try alice.send(.broadcast(RelayBroadcast(payload: big)))
            #expect(try await alice.closeCode() == 1009)
            #expect(try await founder.nextMessage { $0.type == "peer_left" } == .peerLeft(RelayPeerLeft(nodeID: "alice")))
            // A binary frame over every limit (refused by the WebSocket layer before it is read whole).
            let bob = relay.connect("bob", meshID: keys.meshID)
            try await bob.join(as: "bob", token: try Wire.token(keys, for: "bob"))
            bob.send(binary: [0x01, 7] + Array("founder".utf8) + [UInt8](repeating: 7, count: 300 << 10))
            #expect(try await bob.closeCode() == 1009)
            #expect(try await founder.nextMessage { $0.type == "peer_left" } == .peerLeft(RelayPeerLeft(nodeID: "bob")))
        }
    }

    @Test func theTickerClosesSilentConnectionsAndIdlePeers() async throws {
        let keys = MeshKeys.generate()
        try await withRelay(configure: { configuration in
            configuration.tickInterval = .milliseconds(100)
            // Generous against the time from the founder's and alice's connects to their first
            // messages, on a loaded machine (500 ms closed the founder once).
            configuration.relay.firstMessageTimeoutMs = 5_000
            // Generous against the founder's 100 ms pings, on a loaded machine (4 s and 10 s
            // closed the founder in loaded runs); the loop below pings for 60 s at least.
            configuration.relay.idleTimeoutMs = 20_000
        }) { relay in
            let silent = relay.connect("silent", meshID: keys.meshID)
            #expect(try await silent.closeCode() == 1008)
            // The founder keeps pinging, alice says nothing after joining.
            let founder = relay.connect("founder", meshID: keys.meshID)
            try await founder.registerAsFounder(keys)
            let alice = relay.connect("alice", meshID: keys.meshID)
            try await alice.join(as: "alice", token: try Wire.token(keys, for: "alice"))
            var aliceLeft = false
            for _ in 0..<600 where !aliceLeft {
                try founder.send(.ping(RelayPing()))
                let message = try await founder.nextMessage { $0.type == "pong" || $0.type == "peer_left" }
                aliceLeft = message == .peerLeft(RelayPeerLeft(nodeID: "alice"))
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(aliceLeft)
            #expect(try await alice.closeCode() == 1000)
        }
    }

    @Test func aGracefulShutdownClosesEveryPeerWithGoingAway() async throws {
        let keys = MeshKeys.generate()
        let directory = try TestDirectory()
        defer { directory.remove() }
        var configuration = RelayServerConfiguration(host: "127.0.0.1", port: 0, stateDirectory: directory.path)
        configuration.closeTimeout = .seconds(5)
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let server = try RelayServer(configuration: configuration, logger: testLogger) { portContinuation.yield($0) }
        let group = ServiceGroup(services: [server], gracefulShutdownSignals: [], logger: testLogger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                defer { portContinuation.finish() }
                try await group.run()
            }
            let port = try #require(await ports.first { _ in true })
            let bed = RelayTestBed(port: port, server: server)
            let founder = bed.connect("founder", meshID: keys.meshID)
            let result = await Result { try await founder.registerAsFounder(keys) }
            await group.triggerGracefulShutdown()
            #expect(throws: Never.self) { try result.get() }
            #expect(try await founder.closeCode() == 1001)
            try await tasks.waitForAll()
            await bed.closePeers()
        }
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
