import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

extension EndToEnd {
    /// Issue 12: one commit is one model of the mesh. Node A holds commit X as its `main`
    /// (`atmo-test--tiny`); node B holds X as tag `v1` beside its `main` Y (so it offers X as
    /// `atmo-test--tiny-{hash}`). A third node lists X once with both providers, and pulls it
    /// from both, by either id; with A killed, from B alone.
    @Suite("one commit offered under two ids")
    struct RepositoryCommit {
        static let repo = "atmo-test/tiny"
        static let plainID = "atmo-test--tiny"
        static let commitX = String(repeating: "1", count: 40)
        static let commitY = String(repeating: "2", count: 40)
        static let weights: Int64 = 24 * mebibyte
        static let config = #"{"model_type": "gpt2", "n_embd": 16}"# + "\n"

        @Test("a commit held as main by one node and as a tag by another is one row with both providers, pulled from both")
        func oneCommitTwoIDs() async throws {
            try await withAtmoSandbox { sandbox in
                let x = try HubRepositoryFixture.make(
                    root: sandbox.path("a-hub"), repoID: Self.repo, commit: Self.commitX,
                    weights: [("model.safetensors", Self.weights, 81)], texts: ["config.json": Self.config])
                // B: X, then Y as its main, and the tag v1 naming X.
                let bHub = sandbox.path("b-hub")
                _ = try HubRepositoryFixture.make(
                    root: bHub, repoID: Self.repo, commit: Self.commitX, weights: [("model.safetensors", Self.weights, 81)],
                    texts: ["config.json": Self.config])
                _ = try HubRepositoryFixture.make(
                    root: bHub, repoID: Self.repo, commit: Self.commitY, weights: [("model.safetensors", 2 * mebibyte, 82)],
                    texts: ["config.json": #"{"model_type": "gpt2", "n_embd": 32}"# + "\n"])
                // As `hf_hub_download(revision="v1")` writes it.
                try Data(Self.commitX.utf8).write(to: URL(fileURLWithPath: bHub + "/models--atmo-test--tiny/refs/v1"))

                let (portA, portB) = (try HTTPProbe.unusedPort(), try HTTPProbe.unusedPort())
                // 8 MiB/s each: the two share the weights instead of the first one taking them all.
                let capped = TCPProxy.Options(bytesPerSecond: 8 << 20)
                try await withProxies([(portA, capped), (portB, capped)]) { proxies in
                    let a = try await sandbox.serveHub(
                        hubCache: x.root, stateDirectory: sandbox.path("a"), port: portA, name: "a",
                        extraArguments: ["--advertise-url", proxies[0].baseURL])
                    let b = try await sandbox.serveHub(
                        hubCache: bHub, stateDirectory: sandbox.path("b"), port: portB, name: "b",
                        extraArguments: ["--advertise-url", proxies[1].baseURL])
                    let c = try await sandbox.serveHub(
                        hubCache: sandbox.path("c-hub"), stateDirectory: sandbox.path("c"), name: "c",
                        extraArguments: ["--peer", a.baseURL, "--peer", b.baseURL])
                    let hashedID = try await Self.tagID(of: b)
                    #expect(hashedID.hasPrefix(Self.plainID + "-") && hashedID != Self.plainID)

                    // One row for X, with both providers, found by the plain id; Y its own row.
                    let rows = try await Self.waitForRows(c)
                    let rowX = try #require(rows.first { $0.repository.revision == Self.commitX })
                    #expect(rows.count == 2, "\(rows.map { ($0.repository.modelID, $0.repository.revision) })")
                    #expect(rowX.repository.modelID == Self.plainID && rowX.repository.refs == ["main", "v1"], "\(rowX.repository)")
                    #expect(rowX.providers.count == 2 && rowX.providers.allSatisfy { $0.files == 2 })
                    // `atmo models` shows it once.
                    let models = try await sandbox.run(["models", "--state-dir", c.stateDirectory, "--json"], name: "models")
                    #expect(models.status == 0, "\(models.stderr)")
                    let listed = try JSONDecoder().decode(Listing.self, from: Data(models.stdout.utf8)).repositories ?? []
                    #expect(listed.filter { $0.repository.revision == Self.commitX }.count == 1, "\(models.stdout)")
                    #expect(listed.first { $0.repository.revision == Self.commitX }?.providers.count == 2)

                    // The Hub endpoint names X by the tag, by main (the commit more nodes offer) and by itself.
                    for revision in ["v1", "main", Self.commitX] {
                        let info = await HTTPProbe.get(port: c.port, path: "/api/models/\(Self.repo)/revision/\(revision)")
                        let body = info.map { String(decoding: $0.body, as: UTF8.self) } ?? ""
                        #expect(info?.status == 200 && body.contains(#""sha":"\#(Self.commitX)""#), "\(revision): \(body.prefix(300))")
                    }

                    // Pulled by B's id for it: from both nodes.
                    let pulled = sandbox.path("c-pulled")
                    let tagPull = try await sandbox.run(
                        ["pull", hashedID, "--into", "hf", "--state-dir", c.stateDirectory, "--json"], name: "pull-tag",
                        environment: ["HF_HUB_CACHE": pulled])
                    #expect(tagPull.status == 0, "\(tagPull.stderr)")
                    let result = try Self.result(tagPull)
                    #expect(result.revision == Self.commitX && result.files.count == 2, "\(result)")
                    for path in x.sizes.keys { #expect(filesEqual(x.snapshotFile(path, in: pulled), x.blob(path)), "\(path)") }
                    let piece = PieceManifest.pieceSize(forFileSize: Self.weights)
                    let sent = proxies.map(\.bytesToClients)
                    print("RepositoryCommit: bytes sent by A and B for X: \(sent)")
                    #expect(sent.allSatisfy { $0 >= piece }, "both nodes of the commit fed the pull: \(sent)")

                    // A killed (still listed): `atmo pull org/name` takes X, the commit most
                    // nodes offer, from B by B's ids.
                    a.process.signal(SIGKILL)
                    _ = await a.process.waitForExit(timeout: 30)
                    let again = sandbox.path("c-pulled-again")
                    let plainPull = try await sandbox.run(
                        ["pull", Self.repo, "--state-dir", c.stateDirectory, "--json"], name: "pull-plain",
                        environment: ["HF_HUB_CACHE": again])
                    #expect(plainPull.status == 0, "\(plainPull.stderr)")
                    #expect(try Self.result(plainPull).revision == Self.commitX)
                    for path in x.sizes.keys { #expect(filesEqual(x.snapshotFile(path, in: again), x.blob(path)), "\(path)") }
                }
            }
        }

        struct Listing: Decodable {
            var repositories: [MeshAPI.Repository]?
        }

        /// The id B offers X under (it holds X beside another `main`).
        static func tagID(of node: ServeProcess) async throws -> String {
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                let own = await HTTPProbe.getJSON(HTTPAPI.RepositoryList.self, port: node.port, path: HTTPAPI.repositoriesPath)
                if let tagged = own?.repositories.first(where: { $0.revision == commitX }) { return tagged.modelID }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw ProcessFailure(message: "\(node.baseURL) did not offer \(repo) at \(commitX) within 60 s")
        }

        /// The mesh view's rows of the repository once X has two providers and Y is listed.
        static func waitForRows(_ node: ServeProcess) async throws -> [MeshAPI.Repository] {
            let deadline = Date().addingTimeInterval(60)
            var rows: [MeshAPI.Repository] = []
            while Date() < deadline {
                let list = await HTTPProbe.getJSON(MeshAPI.RepositoryList.self, port: node.port, path: MeshAPI.repositoriesPath)
                rows = (list?.repositories ?? []).filter { $0.repository.repoID == repo }
                let x = rows.filter { $0.repository.revision == commitX }
                if x.reduce(0, { $0 + $1.providers.count }) >= 2, rows.contains(where: { $0.repository.revision == commitY }) {
                    return rows
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            let seen = rows.map { "\($0.repository.modelID)@\($0.repository.revision.prefix(4)): \($0.providers.count)" }
            throw ProcessFailure(message: "\(node.baseURL) did not list X from both nodes within 60 s: \(seen)")
        }

        /// The result line of a `--json` repository pull.
        static func result(_ run: AtmoSandbox.Finished) throws -> RepositoryPullAPI.Result {
            let last = run.stdout.split(separator: "\n").last.map(String.init) ?? ""
            return try JSONDecoder().decode(RepositoryPullAPI.Result.self, from: Data(last.utf8))
        }
    }
}
