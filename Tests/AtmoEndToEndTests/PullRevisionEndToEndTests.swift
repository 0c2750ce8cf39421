import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

extension EndToEnd {
    /// `atmo pull org/name --revision REV`: node B holds commit X as tag `v1` beside its
    /// `main` Y, so it offers X only under a hashed id; node C pulls X by the tag or the
    /// commit, through itself and from B's URL, Y by `main`; a revision no node offers and a
    /// single-file model with `--revision` are clear errors.
    @Suite("pull --revision")
    struct PullRevision {
        static let repo = "atmo-test/tiny"
        static let commitX = String(repeating: "1", count: 40)
        static let commitY = String(repeating: "2", count: 40)
        // The README's exit statuses: 4 not found or offered, 64 usage.

        @Test("a tag, a branch and a commit of a mesh repository are pulled by name")
        func aTagIsPulledByName() async throws {
            try await withAtmoSandbox { sandbox in
                let hub = sandbox.path("b-hub")
                let x = try HubRepositoryFixture.make(
                    root: hub, repoID: Self.repo, commit: Self.commitX, weights: [("model.safetensors", mebibyte, 81)],
                    texts: ["config.json": #"{"model_type": "gpt2", "n_embd": 16}"# + "\n"])
                let y = try HubRepositoryFixture.make(
                    root: hub, repoID: Self.repo, commit: Self.commitY, weights: [("model.safetensors", mebibyte / 2, 82)],
                    texts: ["config.json": #"{"model_type": "gpt2", "n_embd": 32}"# + "\n"])
                try Data(Self.commitX.utf8).write(to: URL(fileURLWithPath: hub + "/models--atmo-test--tiny/refs/v1"))
                let b = try await sandbox.serveHub(hubCache: hub, stateDirectory: sandbox.path("b"), name: "b")
                let c = try await sandbox.serveHub(
                    hubCache: sandbox.path("c-hub"), stateDirectory: sandbox.path("c"), name: "c", extraArguments: ["--peer", b.baseURL])
                try await Self.waitForBothCommits(c)

                func pull(_ arguments: [String], into cache: String, name: String) async throws -> AtmoSandbox.Finished {
                    try await sandbox.run(
                        ["pull"] + arguments + ["--state-dir", c.stateDirectory, "--json"], name: name,
                        environment: ["HF_HUB_CACHE": sandbox.path(cache)])
                }
                // By the tag, through the running node: X, which B offers under its hashed id only.
                let tag = try await pull([Self.repo, "--revision", "v1"], into: "by-tag", name: "pull-tag")
                #expect(tag.status == 0, "\(tag.stderr)")
                #expect(try EndToEnd.RepositoryCommit.result(tag).revision == Self.commitX)
                for path in x.sizes.keys {
                    #expect(filesEqual(x.snapshotFile(path, in: sandbox.path("by-tag")), x.blob(path)), "\(path)")
                }
                // By the full commit, and by the branch.
                let commit = try await pull([Self.repo, "--revision", Self.commitX], into: "by-commit", name: "pull-commit")
                #expect(commit.status == 0, "\(commit.stderr)")
                #expect(try EndToEnd.RepositoryCommit.result(commit).revision == Self.commitX)
                let main = try await pull([Self.repo, "--revision", "main"], into: "by-main", name: "pull-main")
                #expect(main.status == 0, "\(main.stderr)")
                #expect(try EndToEnd.RepositoryCommit.result(main).revision == Self.commitY)
                for path in y.sizes.keys {
                    #expect(filesEqual(y.snapshotFile(path, in: sandbox.path("by-main")), y.blob(path)), "\(path)")
                }
                // From B's URL, by the tag (B's catalog names X by its hashed id).
                let url = try await pull([Self.repo, "--from", b.baseURL, "--revision", "v1"], into: "by-url", name: "pull-url")
                #expect(url.status == 0, "\(url.stderr)")
                #expect(try EndToEnd.RepositoryCommit.result(url).revision == Self.commitX)

                // A revision no node offers: not offered, naming what is.
                let missing = try await pull([Self.repo, "--revision", "v9"], into: "missing", name: "pull-missing")
                #expect(missing.status == 4, "\(missing.stderr)")
                #expect(missing.stderr.contains("at revision v9") && missing.stderr.contains("v1"), "\(missing.stderr)")
                #expect(missing.stdout.contains(#""code":"not_offered""#), "\(missing.stdout)")
                let missingURL = try await pull(
                    [Self.repo, "--from", b.baseURL, "--revision", "v9"], into: "missing-url", name: "pull-missing-url")
                #expect(missingURL.status == 4, "\(missingURL.stderr)")
                #expect(missingURL.stderr.contains("at revision v9"), "\(missingURL.stderr)")
                // A single-file model has no revisions: a usage error.
                let single = try await pull(["tinymodel", "--revision", "v1"], into: "single", name: "pull-single")
                #expect(single.status == 64, "\(single.stderr)")
                #expect(single.stderr.contains("--revision applies to a repository"), "\(single.stderr)")
                // Not a revision at all.
                let bad = try await pull([Self.repo, "--revision", "../x"], into: "bad", name: "pull-bad")
                #expect(bad.status == 64, "\(bad.stderr)")
            }
        }

        /// Waits until C's mesh view lists both commits of the repository with B as provider.
        static func waitForBothCommits(_ node: ServeProcess) async throws {
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                let list = await HTTPProbe.getJSON(MeshAPI.RepositoryList.self, port: node.port, path: MeshAPI.repositoriesPath)
                let rows = (list?.repositories ?? []).filter { $0.repository.repoID == repo && !$0.providers.isEmpty }
                if Set(rows.map(\.repository.revision)) == [commitX, commitY] { return }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw ProcessFailure(message: "\(node.baseURL) did not list both commits of \(repo) within 60 s")
        }
    }
}
