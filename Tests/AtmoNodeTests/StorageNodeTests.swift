import AtmoProtocol
import AtmoStore
import AtmoTesting
import Foundation
import Testing

@testable import AtmoNode

/// Uses and pins of a node's pulled models: what the provider serves counts as a use of it
/// (recorded in memory, not per request in the database), a pull counts as a use at the
/// puller, and the storage API shows pins and the copies the mesh holds.
@Suite(.timeLimit(.minutes(2)))
struct StorageNodeTests {
    @Test("a served model counts as used at the provider, a pulled one at the puller; pins and mesh copies show")
    func servedPulledPinned() async throws {
        try await withTemporaryDirectory { directory in
            let offered = directory.sub("offered")
            let sha = try ModelFixtures.writeModel(at: offered + "/delta.gguf", size: 3 * 1024 * 1024 + 7, seed: 51, header: .gguf)
            try await withMeshNode(stateDirectory: directory.sub("a"), folders: [offered]) { a in
                #expect(a.node.ledger.usage.unflushed[sha] == nil)
                try await withMeshNode(stateDirectory: directory.sub("b"), folders: []) { configuration in
                    configuration.mesh.peers = [a.baseURL]
                    configuration.storage.limitBytes = 64 * 1024 * 1024
                } _: { running in
                    let b = running.node
                    for await models in b.modelUpdates where models.contains(where: { $0.entry.modelID == "delta.gguf" }) { break }
                    let requestID = try b.download(modelID: "delta.gguf")
                    for await update in b.downloadUpdates where update.requestID == requestID && update.state.isFinal {
                        #expect(update.state.wireState == .completed, "\(update.state)")
                        break
                    }
                    // A served it: one in-memory record of the file, marked served.
                    let served = try #require(a.node.ledger.usage.merged(with: try a.node.database.usage())[sha])
                    #expect(served.kind == .served && served.modelID == "delta.gguf")
                    // B pulled it: a use, with A's copy counted.
                    let pulled = try await b.storageStatus()
                    let model = try #require(pulled.models.first { $0.modelID == "delta.gguf" })
                    #expect(model.lastUsedAt > 0 && model.meshCopies == 1 && model.evictable && !model.pinned, "\(model)")
                    #expect(pulled.limitBytes == Int64(64 << 20))
                    #expect(pulled.evictionOrder == ["delta.gguf"])

                    try await b.pin(modelID: "delta.gguf")
                    let pinned = try #require(await HTTPProbe.getJSON(StorageAPI.Status.self, port: running.port, path: StorageAPI.path))
                    #expect(pinned.models.first?.pinned == true && pinned.evictionOrder.isEmpty, "\(pinned)")
                    #expect(try await b.unpin(modelID: "delta.gguf"))
                    #expect(try await !b.unpin(modelID: "delta.gguf"))

                    let before = try await b.storageStatus().models.first?.lastUsedAt ?? 0
                    #expect(await b.markUsed(modelID: "delta.gguf"))
                    #expect(try await b.storageStatus().models.first?.lastUsedAt ?? 0 >= before)
                    // A model B only offers or does not hold is not B's to mark.
                    #expect(await !b.markUsed(modelID: "no-such-model"))
                }
            }
        }
    }

    @Test("a model served over the relayed-transfer route (here the node's own WebSocket) counts as used too")
    func servedOverTheRelayRoute() async throws {
        try await withTemporaryDirectory { directory in
            let offered = directory.sub("offered")
            let sha = try ModelFixtures.writeModel(at: offered + "/epsilon.gguf", size: 256 * 1024, seed: 52, header: .gguf)
            try await withMeshNode(stateDirectory: directory.sub("a"), folders: [offered]) { a in
                let entry = try #require(a.node.inventory.entries.first)
                #expect(a.node.ledger.usage.unflushed[sha] == nil)
                let channel = PartialRelayServingTests.consumer(to: a)
                defer { channel.direct?.close() }
                let piece = try await channel.fetchPiece(of: entry, offset: 0, length: 65536) { _ in }
                #expect(piece.readableBytes == 65536)
                let served = try #require(a.node.ledger.usage.merged(with: try a.node.database.usage())[sha])
                #expect(served.kind == .served && served.modelID == "epsilon.gguf")
            }
        }
    }
}
