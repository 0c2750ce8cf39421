import AtmoProtocol
import AtmoRelay
import AtmoStore
import Foundation
import Logging
import Testing

@testable import AtmoRelayServer

/// The hub's budget drops without sockets: what a dropped peer's queue holds once the
/// actions of one frame are carried out.
@Suite struct RelayHubBudgetTests {
    /// A broadcast goes to `b` and then `c` (node id order). At `b`'s frame the queues are at
    /// the budget and `c`, with the largest backlog, is dropped: `c`'s own frame of the same
    /// broadcast must not be queued onto it again (before, its close waited until after the
    /// pass, and the frame was queued and counted).
    @Test func aPeerDroppedForTheBudgetGetsNothingMoreInTheSamePass() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("relay-hub-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let budget = 20_000
        let configuration = RelayServerConfiguration(
            stateDirectory: directory.path, sendQueue: .init(maxFrames: 1 << 20, maxBytes: 1 << 30), maxQueuedBytes: budget)
        let keys = MeshKeys.generate()
        let hub = RelayHub(
            configuration: configuration, database: try StateDatabase(path: configuration.databasePath),
            registeredMeshes: [keys.meshID: keys.publicKey.rawRepresentation], verifier: Ed25519RelayVerifier(),
            logger: Logger(label: "relay-hub-test", factory: { _ in SwiftLogNoOpLogHandler() }))
        var peers: [String: (conn: ConnectionID, queue: SendQueue)] = [:]
        for name in ["a", "b", "c"] {
            let (conn, queue) = try #require(hub.open(meshID: keys.meshID))
            peers[name] = (conn, queue)
            await hub.received(text: try RelayCoding.encodeText(Wire.join(name, token: try Wire.token(keys, for: name))), on: conn)
        }
        let (a, b, c) = (try #require(peers["a"]), try #require(peers["b"]), try #require(peers["c"]))
        func blob(_ count: Int) -> [String: JSONValue] {
            ["type": .string("blob"), "data": .string(String(repeating: "x", count: count))]
        }
        // `c` holds the most; the queues together are within one broadcast frame of the budget.
        let frame = 4_000
        let fill = budget - frame / 2 - hub.queuedBytes.value
        await hub.received(text: try RelayCoding.encodeText(.direct(RelayDirect(target: "c", payload: blob(fill)))), on: a.conn)
        #expect(hub.queuedBytes.value > budget - frame && hub.queuedBytes.value <= budget, "\(hub.queuedBytes.value)")

        await hub.received(text: try RelayCoding.encodeText(.broadcast(RelayBroadcast(payload: blob(frame)))), on: a.conn)
        #expect(c.queue.backlog().bytes == 0, "the dropped peer holds \(c.queue.backlog().bytes) bytes")
        #expect(b.queue.backlog().bytes > frame)
        #expect(hub.queuedBytes.value == a.queue.backlog().bytes + b.queue.backlog().bytes)
    }
}
