import AtmoProtocol
import AtmoStore
import AtmoTesting
import Foundation
import Testing

@testable import AtmoNode

/// "Used" means served, pulled or marked used (issue 11, storage): a pull that finds its
/// model installed already moves nothing, and still counts as a use of the node's copy.
@Suite(.timeLimit(.minutes(2)))
struct PulledAgainUsageTests {
    @Test("a download of a model the node holds already counts as a use of it")
    func pullingAnInstalledModelCountsAsAUse() async throws {
        try await withTemporaryDirectory { directory in
            let offered = directory.sub("offered")
            let sha = try ModelFixtures.writeModel(at: offered + "/zeta.gguf", size: 300 * 1024, seed: 53, header: .gguf)
            try await withMeshNode(stateDirectory: directory.sub("a"), folders: [offered]) { a in
                try await withMeshNode(stateDirectory: directory.sub("b"), folders: []) { configuration in
                    configuration.mesh.peers = [a.baseURL]
                    configuration.storage.limitBytes = 64 * 1024 * 1024
                } _: { running in
                    let b = running.node
                    for await models in b.modelUpdates where models.contains(where: { $0.entry.modelID == "zeta.gguf" }) { break }
                    for round in 0..<2 {
                        // The node's own flush (every 10 s) may write the use to the database
                        // before it is read here: what counts is the latest use, wherever it is,
                        // and that it is no older than this round's download.
                        let before = Date().timeIntervalSince1970
                        let requestID = try b.download(modelID: "zeta.gguf")
                        for await update in b.downloadUpdates where update.requestID == requestID && update.state.isFinal {
                            #expect(update.state.wireState == .completed, "\(update.state)")
                            break
                        }
                        let use = b.ledger.usage.merged(with: try b.database.usage())[sha]
                        #expect(
                            use?.kind == .pulled && use?.modelID == "zeta.gguf" && (use?.lastUsedAt ?? 0) >= before,
                            "round \(round): \(String(describing: use)), download asked at \(before)")
                    }
                }
            }
        }
    }
}
