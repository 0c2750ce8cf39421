import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

extension EndToEnd {
    /// `atmo pull org/name --from A --from B...` (hostile dec07h F4): a `--from` whose
    /// catalogs cannot be read (nothing listens, not a node) is skipped, as a single-file pull
    /// skips a bad source, and the pull takes the repository from the one that offers it;
    /// when none can be read, the failure names each one's problem.
    @Suite("repository pull from several --from")
    struct RepositorySources {
        static let repo = "atmo-test/tiny"
        static let commit = String(repeating: "3", count: 40)

        @Test("a dead and a non-node --from do not stop the pull another --from serves")
        func deadSourcesAreSkipped() async throws {
            try await withAtmoSandbox { sandbox in
                let fixture = try HubRepositoryFixture.make(
                    root: sandbox.path("b-hub"), repoID: Self.repo, commit: Self.commit, weights: [("model.safetensors", mebibyte, 83)],
                    texts: ["config.json": #"{"model_type": "gpt2", "n_embd": 16}"# + "\n"])
                let b = try await sandbox.serveHub(hubCache: fixture.root, stateDirectory: sandbox.path("b"), name: "b")
                try await Self.waitForRepository(b)
                let dead = "http://127.0.0.1:\(try HTTPProbe.unusedPort())"
                let notANode = b.baseURL + "/not-a-node"

                // The bad ones first and last: the order must not matter.
                let pulled = try await sandbox.run(
                    [
                        "pull", Self.repo, "--from", dead, "--from", b.baseURL, "--from", notANode, "--state-dir", sandbox.path("c"),
                        "--json",
                    ],
                    name: "pull-three", environment: ["HF_HUB_CACHE": sandbox.path("c-hub")])
                #expect(pulled.status == 0, "\(pulled.stderr)")
                #expect(try EndToEnd.RepositoryCommit.result(pulled).revision == Self.commit)
                for path in fixture.sizes.keys {
                    #expect(filesEqual(fixture.snapshotFile(path, in: sandbox.path("c-hub")), fixture.blob(path)), "\(path)")
                }
                #expect(pulled.stderr.contains(dead), "the skipped source is said: \(pulled.stderr)")

                // None can be read: exit 3, each one's problem named.
                let none = try await sandbox.run(
                    ["pull", Self.repo, "--from", dead, "--from", notANode, "--state-dir", sandbox.path("d"), "--json"],
                    name: "pull-none", environment: ["HF_HUB_CACHE": sandbox.path("d-hub")])
                #expect(none.status == 3, "\(none.stderr)")
                #expect(none.stderr.contains(dead) && none.stderr.contains(notANode), "\(none.stderr)")
                #expect(!none.stderr.contains("NIOConnectionError"), "\(none.stderr)")
            }
        }

        /// Waits until `node` lists the repository among its own.
        static func waitForRepository(_ node: ServeProcess) async throws {
            for _ in 0..<600 {
                if let answer = await HTTPProbe.get(port: node.port, path: HTTPAPI.repositoriesPath),
                    String(decoding: answer.body, as: UTF8.self).contains(Self.commit)
                {
                    return
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw ProcessFailure(message: "\(node.baseURL) did not list \(Self.repo) within 60 s")
        }
    }
}
