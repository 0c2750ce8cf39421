import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

extension EndToEnd {
    /// A repository pull queued in the running node (`atmo pull org/name --detach`) is a
    /// download of its queue: killed with SIGKILL half-way, the restarted node resumes it
    /// without fetching again the files it installed, and the current file from its partial.
    @Suite("repository downloads of the node")
    struct RepositoryQueue {
        static let shard: Int64 = 32 * mebibyte
        static let rate = 8 * 1024 * 1024
        static let repo = "atmo-test/sharded"
        static let shards = (1...3).map { "model-0000\($0)-of-00003.safetensors" }

        @Test("a detached repository pull killed with SIGKILL resumes after the restart without refetching installed files")
        func killedRepositoryPullResumes() async throws {
            try await withAtmoSandbox { sandbox in
                let fixture = try HubRepositoryFixture.make(
                    root: sandbox.path("a-hub"), repoID: Self.repo,
                    weights: Self.shards.enumerated().map { ($1, Self.shard, UInt64(60 + $0)) },
                    texts: ["config.json": #"{"model_type": "gpt2", "n_embd": 16}"# + "\n"])
                let portA = try HTTPProbe.unusedPort()
                try await TCPProxy.run(upstreamPort: portA, options: .init(bytesPerSecond: Self.rate)) { proxy in
                    let a = try await sandbox.serveHub(
                        hubCache: fixture.root, stateDirectory: sandbox.path("a"), port: portA, name: "a",
                        extraArguments: ["--advertise-url", proxy.baseURL])
                    let cache = sandbox.path("c-hub")
                    let c = try await sandbox.serveHub(
                        hubCache: cache, stateDirectory: sandbox.path("c"), name: "c", extraArguments: ["--peer", a.baseURL])
                    try await Self.waitForRepository(c)

                    let started = try await sandbox.run(
                        ["pull", Self.repo, "--state-dir", c.stateDirectory, "--detach", "--json"], name: "detach",
                        environment: ["HF_HUB_CACHE": cache])
                    #expect(started.status == 0, "\(started.stderr)")
                    let requestID = try JSONDecoder().decode(DownloadAPI.Started.self, from: Data(started.stdout.utf8)).requestID

                    // Killed with config.json and the first shard installed, 20 MiB into the second.
                    let config = fixture.sizes["config.json"] ?? 0
                    let midway = try await NodeDownloads.waitForDownload(c, "two files and 20 MiB more") {
                        $0.requestID == requestID && ($0.filesDone ?? 0) >= 2 && $0.bytesDone >= config + Self.shard + 20 * mebibyte
                    }
                    #expect(midway.kind == .repository && midway.filesTotal == 4, "\(midway)")
                    c.process.signal(SIGKILL)
                    _ = await c.process.waitForExit(timeout: 30)
                    let firstShard = fixture.snapshotFile(Self.shards[0], in: cache)
                    let installed = try FileManager.default.attributesOfItem(atPath: firstShard)[.systemFileNumber] as? Int
                    #expect(installed != nil, "the first shard was installed before the kill")

                    let again = try await sandbox.serveHub(
                        hubCache: cache, stateDirectory: c.stateDirectory, name: "c-again", extraArguments: ["--peer", a.baseURL])
                    let done = try await NodeDownloads.waitForDownload(again, timeout: 120, "the repository completed") {
                        $0.requestID == requestID && $0.isFinal
                    }
                    #expect(done.state == "completed", "\(done)")
                    #expect(done.filesDone == 4 && done.filesTotal == 4 && done.bytesDone == fixture.totalBytes, "\(done)")
                    for path in fixture.sizes.keys {
                        #expect(filesEqual(fixture.snapshotFile(path, in: cache), fixture.blob(path)), "\(path)")
                    }
                    // The installed shard was not fetched or installed again, and the second one
                    // went on from its partial: A sent the repository about once in all (the
                    // pieces in flight at the kill are sent twice; 20 MiB of the second shard are not).
                    let after = try FileManager.default.attributesOfItem(atPath: firstShard)[.systemFileNumber] as? Int
                    #expect(after == installed)
                    #expect(proxy.bytesToClients < fixture.totalBytes + 16 * mebibyte, "sent \(proxy.bytesToClients)")

                    // `atmo pull org/name` through the node follows a queued download live; all
                    // is in place now.
                    let pulled = try await sandbox.run(
                        ["pull", Self.repo, "--state-dir", c.stateDirectory, "--json"], name: "pull-again",
                        environment: ["HF_HUB_CACHE": cache])
                    #expect(pulled.status == 0, "\(pulled.stderr)")
                    let last = pulled.stdout.split(separator: "\n").last.map(String.init) ?? ""
                    let result = try JSONDecoder().decode(RepositoryPullAPI.Result.self, from: Data(last.utf8))
                    #expect(result.files.count == 4 && result.files.allSatisfy { $0.outcome == "already_installed" }, "\(result)")
                    let listed = await NodeDownloads.downloads(again).filter { $0.kind == .repository }
                    #expect(listed.count == 2 && listed.allSatisfy { $0.state == "completed" }, "\(listed)")
                }
            }
        }

        /// Waits until `node`'s mesh view lists the repository.
        static func waitForRepository(_ node: ServeProcess) async throws {
            let id = repo.replacingOccurrences(of: "/", with: "--")
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                let list = await HTTPProbe.getJSON(MeshAPI.RepositoryList.self, port: node.port, path: MeshAPI.repositoriesPath)
                if list?.repositories.contains(where: { $0.repository.modelID == id && $0.repository.files.count == 4 }) == true {
                    return
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw ProcessFailure(message: "\(node.baseURL) did not list \(repo) within 60 s")
        }
    }
}
