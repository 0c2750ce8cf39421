import AsyncHTTPClient
import AtmoNode
import AtmoProtocol
import AtmoStore
import AtmoTesting
import AtmoTransfer
import Foundation
import NIOCore
import Testing

/// A Hugging Face repository downloaded through the node's queue (`POST /v1/downloads` with
/// `kind: repository`): listed with its files, installed into the Hugging Face cache named.
@Suite(.timeLimit(.minutes(3)))
struct RepositoryQueueTests {
    @Test func aRepositoryDownloadOfTheQueueCompletesIntoAHubCache() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try HubCacheFixture.make(root: directory.sub("holder-hub"))
            try await withHubNode(state: directory.sub("holder-state"), cache: fixture.root) { holder in
                try await withMeshNode(stateDirectory: directory.sub("b"), folders: []) {
                    $0.mesh.peers = [holder.baseURL]
                } _: { b in
                    let learned = try await eventually(timeout: .seconds(60)) { !b.node.repositories(id: "atmo-test--tiny").isEmpty }
                    try #require(learned, "B never learned the repository")
                    let cache = directory.sub("b-hub")
                    let body = #"{"repo_id": "\#(HubCacheFixture.repoID)", "kind": "repository", "hub_cache": "\#(cache)"}"#
                    let started = try await Client.post(b.baseURL + DownloadAPI.path, json: body)
                    #expect(started.status == 202, "\(started.text)")
                    let id = try JSONDecoder().decode(DownloadAPI.Started.self, from: Data(started.body)).requestID
                    // The same request again joins it.
                    let again = try await Client.post(b.baseURL + DownloadAPI.path, json: body)
                    #expect((try? JSONDecoder().decode(DownloadAPI.Started.self, from: Data(again.body)).requestID) == id)

                    let done = try await eventually(timeout: .seconds(60)) { try await DownloadPauseTests.status(b, id)?.isFinal == true }
                    let status = try #require(try await DownloadPauseTests.status(b, id))
                    try #require(done, "\(status)")
                    #expect(status.state == .completed, "\(status)")
                    #expect(status.kind == .repository)
                    #expect(status.modelID == "atmo-test--tiny")
                    #expect(status.filesTotal == fixture.files.count && status.filesDone == fixture.files.count, "\(status)")
                    let total = Int64(fixture.files.values.reduce(0) { $0 + $1.count })
                    #expect(status.totalBytes == total && status.bytesDone == total, "\(status)")
                    let snapshot = cache + "/models--atmo-test--tiny/snapshots/" + HubCacheFixture.commit
                    #expect(status.path == snapshot)
                    for (path, bytes) in fixture.files {
                        #expect(FileManager.default.contents(atPath: snapshot + "/" + path).map { [UInt8]($0) } == bytes, "\(path)")
                    }

                    // The library queues the same: one file into another cache.
                    let other = directory.sub("b-hub-2")
                    let one = try b.node.downloadRepository(
                        modelID: "atmo-test--tiny", files: .file("config.json"), into: .huggingFace(HubCache(root: other)))
                    let oneDone = try await eventually(timeout: .seconds(60)) {
                        b.node.downloadStatuses().first { $0.requestID == one }?.state == .completed
                    }
                    #expect(oneDone, "\(b.node.downloadStatuses().filter { $0.requestID == one })")
                    let otherSnapshot = other + "/models--atmo-test--tiny/snapshots/" + HubCacheFixture.commit
                    #expect(
                        FileManager.default.contents(atPath: otherSnapshot + "/config.json").map { [UInt8]($0) }
                            == fixture.files["config.json"])
                    #expect(!FileManager.default.fileExists(atPath: otherSnapshot + "/model.safetensors"))
                }
            }
        }
    }

    /// `atmo pull org/name` through a node: the route queues the download and streams it;
    /// a client that goes away (Ctrl-C) cancels the download it started.
    @Test func aRepositoryPullClientThatGoesAwayCancelsTheDownloadItStarted() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try HubCacheFixture.make(root: directory.sub("holder-hub"))
            try await withHubNode(
                state: directory.sub("holder-state"), cache: fixture.root, configure: { $0.bandwidth.up = ByteRate(bytesPerSecond: 40_000) }
            ) { holder in
                try await withMeshNode(stateDirectory: directory.sub("b"), folders: []) {
                    $0.mesh.peers = [holder.baseURL]
                } _: { b in
                    let learned = try await eventually(timeout: .seconds(60)) { !b.node.repositories(id: "atmo-test--tiny").isEmpty }
                    try #require(learned)
                    let start = RepositoryPullAPI.Start(modelID: "atmo-test--tiny", hubCache: directory.sub("b-hub"))
                    var request = HTTPClientRequest(url: b.baseURL + RepositoryPullAPI.path)
                    request.method = .POST
                    request.body = .bytes(ByteBuffer(data: try JSONEncoder().encode(start)))
                    let prepared = request
                    let client = Task {
                        let response = try await HTTPClient.shared.execute(prepared, timeout: .seconds(120))
                        for try await _ in response.body {}
                    }
                    defer { client.cancel() }
                    let moving = try await eventually(timeout: .seconds(60)) {
                        try await DownloadPauseTests.statuses(b).contains { $0.kind == .repository && $0.bytesDone > 0 && !$0.isFinal }
                    }
                    let seen = try await DownloadPauseTests.statuses(b)
                    try #require(moving, "\(seen)")
                    client.cancel()
                    let cancelled = try await eventually(timeout: .seconds(30)) {
                        try await DownloadPauseTests.statuses(b).first { $0.kind == .repository }?.state == .cancelled
                    }
                    let after = try await DownloadPauseTests.statuses(b)
                    #expect(cancelled, "\(after)")
                }
            }
        }
    }

    @Test func theLibraryPausesAndResumesADownload() async throws {
        try await withTemporaryDirectory { directory in
            try await withMeshNode(stateDirectory: directory.sub("b"), folders: []) { b in
                let id = try b.node.download(modelID: "nobody-offers.gguf")
                #expect(b.node.pause(requestID: id))
                let paused = b.node.downloadStatuses().first { $0.requestID == id }
                #expect(paused?.paused == true && paused?.pausedBy == .user && paused?.state == .queued, "\(String(describing: paused))")
                #expect(b.node.resume(requestID: "nobody-offers.gguf"))
                #expect(b.node.downloadStatuses().first { $0.requestID == id }?.pausedBy == nil)
                #expect(!b.node.pause(requestID: "no-such-download"))
                #expect(throws: (any Error).self) { try b.node.downloadRepository(modelID: "../escape") }
            }
        }
    }

    @Test func repositoryRequestsAreCheckedBeforeTheyAreQueued() async throws {
        try await withTemporaryDirectory { directory in
            try await withMeshNode(stateDirectory: directory.sub("b"), folders: []) { b in
                for body in [
                    #"{"repo_id": "org/name", "into": "elsewhere"}"#,
                    #"{"repo_id": "org/name", "hub_cache": "relative/folder"}"#,
                    #"{"repo_id": "org/name", "files": ["../escape"]}"#,
                    #"{"repo_id": "org/name", "revision": "main"}"#,
                    #"{"model_id": "org--name", "kind": "something-else"}"#,
                ] {
                    let answer = try await Client.post(b.baseURL + DownloadAPI.path, json: body)
                    #expect(answer.status == 400, "\(body): \(answer.text)")
                }
                #expect(try await DownloadPauseTests.statuses(b).isEmpty)
            }
        }
    }
}
