import AtmoMesh
import AtmoProtocol
import AtmoTesting
import AtmoTransfer
import Foundation
import Logging
import Testing

@testable import AtmoNode

/// A peer this node meets only through a relay (issue 9, item 13): its HTTP endpoint is
/// unproven, so a pull takes the relay first, and a direct WebSocket that is refused fails
/// at once instead of after its open timeout.
@Suite("relay-only peers")
struct RelayOnlyPeerTests {
    static let entry = ModelEntry(
        modelID: "alpha.gguf", name: "alpha", type: "llm", format: "gguf", sizeBytes: 10,
        sha256: String(repeating: "a", count: 64))

    static func meshState() -> MeshState {
        let gossip = GossipState<String>(
            nodeID: "self", nodeName: "self", transferEndpoints: .init(http: nil), models: [], random: SplitMix64(seed: 1),
            peerAddress: { catalog in catalog.transferEndpoints.http.map(MeshClient.trimmed) })
        return MeshState(gossip: gossip, catalog: MeshCatalog())
    }

    static func plannedRoutes(_ mesh: MeshState) -> [PullSource.Route] {
        let versions = mesh.versions(of: "alpha.gguf", localSHA256s: [], ownNodeID: "self")
        guard case .pull(let plan) = SourcePlanner.plan(modelID: "alpha.gguf", versions: versions) else { return [] }
        return plan.sources.map(\.route)
    }

    @Test func aPeerMetThroughARelayIsPulledThroughTheRelayBeforeItsUnprovenEndpointWhichIsProbedAtOnce() async {
        let mesh = Self.meshState()
        mesh.relayPeerPresent(nodeID: "b", name: "bee", relay: "ws://relay.test")
        let catalog = ModelCatalog(
            nodeID: "b", nodeName: "bee", timestamp: 1, models: [Self.entry],
            transferEndpoints: .init(http: "http://127.0.0.1:1", websocket: true))
        #expect(mesh.receiveOverRelay(catalog, from: "b"))

        #expect(Self.plannedRoutes(mesh) == [.relay, .http])
        #expect(mesh.peerList().first { $0.nodeID == "b" }?.transports == ["relay"])

        // Its probe answers: HTTP and its WebSocket come first.
        mesh.updatePeers { peers, now in
            peers.probeSucceeded("http://127.0.0.1:1", health: .init(nodeID: "b", nodeName: "bee"), latencyMs: 1, now: now)
        }
        #expect(Self.plannedRoutes(mesh) == [.http, .websocket, .relay])

        mesh.finish()
        var asked: [String] = []
        for await url in mesh.probeRequests { asked.append(url) }
        #expect(asked == ["http://127.0.0.1:1"])
    }

    @Test func aDirectSocketWhoseConnectionIsRefusedFailsAtOnce() async throws {
        let port = try HTTPProbe.unusedPort()  // bound, then closed: connecting is refused
        // An open timeout far longer than a refused connect takes even on a loaded machine
        // (CI once took over 5 s, the default, to schedule it).
        let link = DirectSocketLink(
            url: "ws://127.0.0.1:\(port)/v1/transfers/ws", nodeID: "b", hub: TransferHub(), logger: Logger(label: "test"),
            openTimeout: .seconds(120))
        // It fails for the refused connect, not at the open timeout: the error names the
        // connect's failure instead of the timeout. (No wall-clock bound: a busy machine may
        // take seconds to schedule even a refused connect.)
        let error = await #expect(throws: TransferError.self) { try await link.open() }
        #expect(error?.message.contains("within") == false, "\(String(describing: error))")
        // A later piece of the same pull fails at once too.
        await #expect(throws: TransferError.self) { try await link.open() }
    }
}
