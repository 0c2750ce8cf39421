import AtmoMesh
import AtmoNode
import AtmoProtocol
import AtmoStore
import AtmoTesting
import Foundation
import Testing

/// The public API an app uses: two in-process nodes, the second told of the first only.
@Suite(.timeLimit(.minutes(2)))
struct LibraryAPITests {
    @Test func aNodeSeesTheMeshDownloadsByIDAndReportsEachState() async throws {
        try await withTemporaryDirectory { directory in
            let offered = directory.sub("offered")
            let sha = try ModelFixtures.writeModel(at: offered + "/gamma.gguf", size: 9 * 1024 * 1024 + 5, seed: 41, header: .gguf)
            try await withMeshNode(stateDirectory: directory.sub("a"), folders: [offered]) { a in
                try await withMeshNode(stateDirectory: directory.sub("b"), folders: []) { configuration in
                    configuration.mesh.peers = [a.baseURL]
                } _: { running in
                    let b = running.node
                    // The merged list arrives as an AsyncSequence.
                    var seen: [MeshAPI.Model] = []
                    for await models in b.modelUpdates where models.contains(where: { $0.entry.modelID == "gamma.gguf" }) {
                        seen = models
                        break
                    }
                    let gamma = try #require(seen.first { $0.entry.modelID == "gamma.gguf" })
                    #expect(gamma.entry.sha256 == sha)
                    #expect(!gamma.installed)
                    #expect(b.chosenProvider(for: "gamma.gguf")?.http == a.baseURL)
                    #expect(b.models(matching: MeshQuery(type: "llm")).map(\.entry.modelID) == ["gamma.gguf"])
                    #expect(b.models(matching: MeshQuery(format: "onnx")).isEmpty)
                    #expect(b.models(id: "gamma.gguf").count == 1)

                    #expect(throws: WireError.self) { try b.download(modelID: "../etc/passwd") }
                    #expect(!b.cancel(requestID: "no-such-request"))

                    let requestID = try b.download(modelID: "gamma.gguf")
                    var states: [DownloadState] = []
                    for await update in b.downloadUpdates where update.requestID == requestID {
                        states.append(update.state)
                        if case .completed = update.state { break }
                        if case .failed = update.state { break }
                    }
                    guard case .completed(let path) = states.last else {
                        Issue.record("the download did not complete: \(states)")
                        return
                    }
                    // The first update is the state when the sequence began (queued or preparing).
                    #expect(states.first == .queued || states.first == .preparing, "\(states)")
                    #expect(!states.contains(.waiting), "only a download an earlier run queued waits: \(states)")
                    #expect(states.contains { if case .downloading = $0 { true } else { false } })
                    #expect(path == directory.sub("b") + "/models/gamma.gguf")
                    #expect(try ModelFixtures.sha256(of: path) == sha)
                    // A second request for the same installed model completes without a transfer.
                    let again = try b.download(modelID: "gamma.gguf")
                    var secondStates: [DownloadState] = []
                    for await update in b.downloadUpdates where update.requestID == again {
                        secondStates.append(update.state)
                        switch update.state {
                        case .completed, .failed, .cancelled: break
                        default: continue
                        }
                        break
                    }
                    #expect(secondStates.last == .completed(path: path), "\(secondStates)")
                    #expect(!secondStates.contains { if case .downloading = $0 { true } else { false } }, "no transfer: \(secondStates)")
                }
            }
        }
    }

    @Test func aNodeRunsOnce() async throws {
        try await withTemporaryDirectory { directory in
            try await withMeshNode(stateDirectory: directory.sub("a"), folders: []) { running in
                let error = await #expect(throws: StoreError.self) { try await running.node.run() }
                #expect(error?.message.contains("run already") == true)
            }
        }
    }
}
