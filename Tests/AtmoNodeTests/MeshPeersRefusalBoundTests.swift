import AtmoMesh
import AtmoProtocol
import Foundation
import Testing

@testable import AtmoNode

/// `GET /v1/mesh/peers` stays small however many peers a hostile host makes up and however
/// many refusals it causes (review R-dec08 M1): a refusal is listed beside a peer only when it
/// concerns that very peer (its catalog, pulled from its endpoint, relayed by it), at most
/// `refusalsPerPeer` on one peer and `refusalsOnPeers` on all of them.
@Suite
struct MeshPeersRefusalBoundTests {
    @Test func manyPeersAtOneHostDoNotMultiplyItsRefusalsInThePeersAnswer() throws {
        let mesh = RelayOnlyPeerTests.meshState()
        // 300 peers, all at the host 10.0.0.9, half of them at one endpoint.
        mesh.update { state, now in
            for index in 0..<300 {
                let http = index.isMultiple(of: 2) ? "http://10.0.0.9:7000" : "http://10.0.0.9:\(8000 + index)"
                _ = state.peers.learned(nodeID: "peer-\(index)", nodeName: "n\(index)", httpURL: http, websocket: false, now: now)
            }
            return []
        }
        // 256 refusals from that host: pushed from it, pulled from its shared endpoint, of its peers' catalogs.
        let detail = String(repeating: "d", count: 200)
        mesh.state.withLock { state in
            for index in 0..<256 {
                let sender = ["10.0.0.9", "pull:http://10.0.0.9:7000", "relay:peer-\(index % 300)"][index % 3]
                let origin = String(repeating: "o", count: 100) + "\(index)"
                state.refusedCatalogs.record(
                    MeshAPI.RefusedCatalog(
                        origin: index.isMultiple(of: 5) ? "peer-\(index)" : origin, sender: sender, reason: "entries_refused",
                        bytes: 9_000_000, entries: 1, detail: detail, refusedAt: Int64(index)))
            }
        }
        let answer = mesh.peerListAnswer()
        #expect(answer.peers.count == 300)
        let onPeers = answer.peers.map { $0.refusedCatalogs?.count ?? 0 }
        #expect(onPeers.allSatisfy { $0 <= MeshState.refusalsPerPeer }, "\(onPeers.max() ?? 0) on one peer")
        #expect(onPeers.reduce(0, +) <= MeshState.refusalsOnPeers)
        #expect(onPeers.reduce(0, +) > 0, "the refusals that concern a peer still show beside it")
        let pushed = answer.peers.contains { peer in
            peer.refusedCatalogs?.contains { $0.sender == "10.0.0.9" && $0.origin != peer.nodeID } == true
        }
        #expect(!pushed, "a push is known by its host only: listed at the top level, not on every peer there")
        let encoded = try JSONEncoder().encode(answer)
        // 300 peers and every refusal of the memory once, plus at most 512 beside the peers.
        #expect(encoded.count < 400_000, "\(encoded.count) bytes")
    }
}
