import AtmoNode
import AtmoProtocol
import AtmoStore
import AtmoTesting
import Foundation
import Testing

/// How long a queued download waits for a node of the mesh to offer its model.
@Suite(.timeLimit(.minutes(4)))
struct DownloadQueueTests {
    /// A new download of a model nobody offers fails once the wait is over; one an earlier
    /// run queued keeps waiting, and completes when a node offers its model.
    @Test func aRestoredDownloadWaitsForItsProvidersWhereANewOneGivesUp() async throws {
        try await withTemporaryDirectory { directory in
            let offered = directory.sub("offered")
            try FileManager.default.createDirectory(atPath: offered, withIntermediateDirectories: true)
            let consumerState = directory.sub("b")
            try FileManager.default.createDirectory(atPath: consumerState, withIntermediateDirectories: true)
            // The earlier run of the consumer queued this download, then stopped.
            do {
                let database = try StateDatabase(path: consumerState + "/atmo.sqlite")
                try database.saveQueuedDownload(
                    QueuedDownload(requestID: "queued-by-an-earlier-run", modelID: "delta.gguf", sha256: nil, preferredNode: nil, createdAtMs: 1))
            }
            try await withMeshNode(stateDirectory: directory.sub("a"), folders: [offered]) { configuration in
                configuration.rescanIntervalSeconds = 0.3
            } _: { a in
                try await withMeshNode(stateDirectory: consumerState, folders: []) { configuration in
                    configuration.mesh.peers = [a.baseURL]
                    configuration.waitForProvidersSeconds = 0.5
                } _: { b in
                    let fresh = try b.node.download(modelID: "epsilon.gguf")
                    let failed = try await eventually(timeout: .seconds(60)) { try await Self.status(b, fresh)?.state == "failed" }
                    #expect(failed)
                    #expect(try await Self.status(b, fresh)?.errorCode == "not_offered")
                    // Well past the wait, the restored one is still waiting.
                    try await Task.sleep(for: .seconds(1.5))
                    let waiting = try await Self.status(b, "queued-by-an-earlier-run")
                    #expect(waiting?.state == "waiting", "\(String(describing: waiting))")

                    // The model appears on the provider: the restored download completes.
                    let sha = try ModelFixtures.writeModel(at: offered + "/delta.gguf", size: 300_000, seed: 9, header: .gguf)
                    let completed = try await eventually(timeout: .seconds(90)) {
                        try await Self.status(b, "queued-by-an-earlier-run")?.state == "completed"
                    }
                    #expect(completed)
                    let path = try #require(try await Self.status(b, "queued-by-an-earlier-run")?.path)
                    #expect(try ModelFixtures.sha256(of: path) == sha)
                }
            }
        }
    }

    static func status(_ node: RunningNode, _ requestID: String) async throws -> DownloadAPI.Status? {
        let answer = try await Client.get(node.baseURL + DownloadAPI.path)
        let list = try JSONDecoder().decode(DownloadAPI.StatusList.self, from: Data(answer.body))
        return list.downloads.first { $0.requestID == requestID }
    }
}
