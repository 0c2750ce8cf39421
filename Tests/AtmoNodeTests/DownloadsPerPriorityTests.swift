import AtmoNode
import AtmoProtocol
import AtmoStore
import AtmoTesting
import Foundation
import Testing

/// The per-level concurrency setting: one active download per priority is the default (the
/// seed's rule), `downloads_per_priority` in config.json and `atmo serve
/// --downloads-per-priority` raise it, within the node's download slots (`max_downloads`).
@Suite(.timeLimit(.minutes(2)))
struct DownloadsPerPriorityTests {
    @Test("config.json's max_downloads and downloads_per_priority reach the node's configuration; below 1 reads as 1")
    func theConfigFileSetsThem() throws {
        var configuration = NodeConfiguration.defaults(environment: [:], home: "/nonexistent")
        #expect(configuration.downloadsPerPriority == 1 && configuration.maxConcurrentDownloads == 2)
        let file = try JSONDecoder().decode(NodeConfigFile.self, from: Data(#"{"max_downloads": 4, "downloads_per_priority": 2}"#.utf8))
        file.apply(to: &configuration)
        #expect(configuration.downloadsPerPriority == 2 && configuration.maxConcurrentDownloads == 4)
        let zero = try JSONDecoder().decode(NodeConfigFile.self, from: Data(#"{"max_downloads": 0, "downloads_per_priority": -3}"#.utf8))
        zero.apply(to: &configuration)
        #expect(configuration.downloadsPerPriority == 1 && configuration.maxConcurrentDownloads == 1)
    }

    @Test("with two downloads per priority, two high downloads transfer at once")
    func twoAtOneLevel() async throws {
        try await withTemporaryDirectory { directory in
            let offered = directory.sub("offered")
            for (index, name) in ["first.gguf", "second.gguf"].enumerated() {
                try ModelFixtures.writeModel(at: offered + "/" + name, size: 1 << 20, seed: UInt64(60 + index), header: .gguf)
            }
            try await withMeshNode(stateDirectory: directory.sub("a"), folders: [offered]) { a in
                try await withMeshNode(stateDirectory: directory.sub("b"), folders: []) { configuration in
                    configuration.mesh.peers = [a.baseURL]
                    configuration.downloadsPerPriority = 2
                    // Slow enough that neither download ends before the other starts.
                    configuration.bandwidth.down = ByteRate(bytesPerSecond: 96 * 1024)
                } _: { running in
                    let b = running.node
                    let names = ["first.gguf", "second.gguf"]
                    for await models in b.modelUpdates where models.filter({ names.contains($0.entry.modelID) }).count == 2 { break }
                    let ids = try names.map { try b.download(modelID: $0, priority: .high) }
                    let both = try await eventually(timeout: .seconds(60)) {
                        let statuses = try await DownloadPriorityQueueTests.statuses(running).filter { ids.contains($0.requestID) }
                        return statuses.count == 2 && statuses.allSatisfy { $0.state == .downloading && $0.bytesDone > 0 }
                    }
                    let statuses = try await DownloadPriorityQueueTests.statuses(running)
                    #expect(both, "\(statuses)")
                    for id in ids { _ = b.cancel(requestID: id) }
                }
            }
        }
    }
}
