import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

extension EndToEnd {
    /// Followed models with real nodes: a provider's file changes, the follower pulls the new
    /// version by itself (auto) or shows it until a person accepts it (prompt), and a
    /// rollback puts the previous bytes back.
    @Suite("model updates")
    struct ModelUpdates {
        static let size = 2 * 1024 * 1024

        static func follows(_ node: ServeProcess) async -> [UpdatesAPI.Follow]? {
            await HTTPProbe.getJSON(UpdatesAPI.FollowList.self, port: node.port, path: UpdatesAPI.followsPath)?.follows
        }

        static func updates(_ node: ServeProcess) async -> [UpdatesAPI.Update]? {
            await HTTPProbe.getJSON(UpdatesAPI.UpdateList.self, port: node.port, path: UpdatesAPI.updatesPath)?.updates
        }

        static func downloads(_ node: ServeProcess) async -> [DownloadAPI.Status] {
            await HTTPProbe.getJSON(DownloadAPI.StatusList.self, port: node.port, path: DownloadAPI.path)?.downloads ?? []
        }

        /// The SHA-256 of the file `node` has installed as `modelID` (nil: none), read from the disk.
        static func installedSHA256(_ node: ServeProcess, _ modelID: String) -> String? {
            try? ModelFixtures.sha256(of: node.stateDirectory + "/models/" + modelID)
        }

        /// Polls `condition` every 100 ms until it holds; throws with `what` after `timeout` s.
        static func waitFor(_ what: String, timeout: Double = 60, _ condition: () async -> Bool) async throws {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if await condition() { return }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw ProcessFailure(message: "\(what) not seen within \(timeout) s")
        }

        /// Rewrites the offered file with other bytes, stamped a few minutes later (its
        /// version is its modification time), and returns the new SHA-256.
        static func rewrite(_ path: String, seed: UInt64, minutesLater: Double) throws -> String {
            let sha = try ModelFixtures.writeModel(at: path, size: size, seed: seed, header: .gguf)
            try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(minutesLater * 60)], ofItemAtPath: path)
            return sha
        }

        @Test("a followed model updates by itself when its provider's file changes, then rolls back to the previous bytes")
        func autoUpdateThenRollback() async throws {
            try await withAtmoSandbox { sandbox in
                let folder = sandbox.path("offered")
                let file = folder + "/tracked.gguf"
                let first = try ModelFixtures.writeModel(at: file, size: Self.size, seed: 71, header: .gguf)
                let a = try await sandbox.serve(
                    folders: [folder], stateDirectory: sandbox.path("a"), name: "a", readyModels: ["tracked.gguf"],
                    extraArguments: ["--rescan-interval", "0.5"])
                let b = try await sandbox.serve(
                    folders: [], stateDirectory: sandbox.path("b"), name: "b", extraArguments: ["--peer", a.baseURL])
                let followed = try await sandbox.run(["follow", "tracked.gguf", "--state-dir", b.stateDirectory], name: "follow")
                #expect(followed.status == 0, "\(followed.stderr)")
                // Followed and not installed: pulled by itself.
                try await Self.waitFor("B pulls the followed model") { Self.installedSHA256(b, "tracked.gguf") == first }

                let second = try Self.rewrite(file, seed: 72, minutesLater: 5)
                #expect(second != first)
                try await Self.waitFor("B installs the new version by itself", timeout: 90) {
                    Self.installedSHA256(b, "tracked.gguf") == second
                }
                // At normal priority, by the node itself.
                let pulls = await Self.downloads(b).filter { $0.sha256 == second }
                #expect(pulls.count == 1 && pulls.first?.priority == .normal, "\(pulls)")
                #expect(try ModelFixtures.sha256(of: b.stateDirectory + "/models/.atmo-previous/tracked.gguf") == first)
                try await Self.waitFor("the follow shows the previous version") {
                    await Self.follows(b)?.first?.previousSHA256 == first
                }
                let listed = try await sandbox.run(["follows", "--state-dir", b.stateDirectory], name: "follows")
                #expect(listed.stdout.contains("tracked.gguf") && listed.stdout.contains(String(first.prefix(12))), "\(listed.stdout)")

                let rolledBack = try await sandbox.run(
                    ["rollback", "tracked.gguf", "--state-dir", b.stateDirectory, "--json"], name: "rollback")
                #expect(rolledBack.status == 0, "\(rolledBack.stderr)")
                #expect(Self.installedSHA256(b, "tracked.gguf") == first, "the previous bytes are back")
                #expect(try ModelFixtures.sha256(of: b.stateDirectory + "/models/.atmo-previous/tracked.gguf") == second)
                // The version rolled back from is not pulled again by itself.
                try await Self.waitFor("the follow declines the version rolled back from") {
                    await Self.follows(b)?.first?.state == "declined"
                }
                #expect(Self.installedSHA256(b, "tracked.gguf") == first)
                // B offers the rolled-back version again.
                try await a.waitForMesh("B offers the previous version") { models in
                    models.contains { $0.entry.modelID == "tracked.gguf" && $0.entry.sha256 == first && !$0.providers.isEmpty }
                }
            }
        }

        @Test("a prompt-mode follow from config.json shows the update in atmo models and the API, and pulls it only when accepted")
        func promptWaitsForAcceptance() async throws {
            try await withAtmoSandbox { sandbox in
                let folder = sandbox.path("offered")
                let file = folder + "/asked.gguf"
                let first = try ModelFixtures.writeModel(at: file, size: Self.size, seed: 81, header: .gguf)
                let a = try await sandbox.serve(
                    folders: [folder], stateDirectory: sandbox.path("a"), name: "a", readyModels: ["asked.gguf"],
                    extraArguments: ["--rescan-interval", "0.5"])
                let state = sandbox.path("b")
                try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
                try Data(#"{"follow": [{"model_id": "asked.gguf", "mode": "prompt"}]}"#.utf8).write(
                    to: URL(fileURLWithPath: state + "/config.json"))
                let b = try await sandbox.serve(folders: [], stateDirectory: state, name: "b", extraArguments: ["--peer", a.baseURL])
                // B pulls what its mesh view offers: wait until it has A's catalog.
                try await b.waitForMesh("A's asked.gguf") { models in models.contains { $0.entry.modelID == "asked.gguf" } }
                let pulled = try await sandbox.run(["pull", "asked.gguf", "--state-dir", b.stateDirectory, "--json"], name: "pull")
                #expect(pulled.status == 0, "\(pulled.stderr)")
                #expect(Self.installedSHA256(b, "asked.gguf") == first)

                let second = try Self.rewrite(file, seed: 82, minutesLater: 5)
                try await Self.waitFor("B shows the update", timeout: 90) { await Self.updates(b)?.first?.sha256 == second }
                let shown = try await sandbox.run(["models", "--state-dir", b.stateDirectory], name: "models")
                #expect(shown.stdout.contains("update available: asked.gguf"), "\(shown.stdout)")
                #expect(shown.stdout.contains("atmo update asked.gguf"), "\(shown.stdout)")
                let follow = await Self.follows(b)?.first
                #expect(follow?.mode == "prompt" && follow?.state == "update_available", "\(String(describing: follow))")
                // Several checks later (one every 2 s), still not pulled.
                let watchUntil = Date().addingTimeInterval(5)
                while Date() < watchUntil {
                    #expect(await Self.downloads(b).allSatisfy { $0.sha256 != second }, "pulled without being accepted")
                    try await Task.sleep(for: .milliseconds(250))
                }
                #expect(Self.installedSHA256(b, "asked.gguf") == first)

                let accepted = try await sandbox.run(["update", "asked.gguf", "--state-dir", b.stateDirectory, "--json"], name: "update")
                #expect(accepted.status == 0, "\(accepted.stderr)")
                try await Self.waitFor("B installs the accepted update") { Self.installedSHA256(b, "asked.gguf") == second }
                try await Self.waitFor("no update waits any more") { await Self.updates(b)?.isEmpty == true }
                let again = try await sandbox.run(["update", "asked.gguf", "--state-dir", b.stateDirectory], name: "update-again")
                #expect(again.status == 4, "\(again.stdout) \(again.stderr)")
            }
        }

        @Test("the previous version kept for rollback is evicted when a pull needs the room, though no other node holds it")
        func previousVersionGivesWayUnderTheLimit() async throws {
            try await withAtmoSandbox { sandbox in
                let folder = sandbox.path("offered")
                let file = folder + "/kept.gguf"
                let first = try ModelFixtures.writeModel(at: file, size: Self.size, seed: 91, header: .gguf)
                try ModelFixtures.writeModel(at: folder + "/other.gguf", size: Self.size, seed: 92, header: .gguf)
                let a = try await sandbox.serve(
                    folders: [folder], stateDirectory: sandbox.path("a"), name: "a", readyModels: ["kept.gguf", "other.gguf"],
                    extraArguments: ["--rescan-interval", "0.5"])
                // Room for two of the 2 MiB files, not three.
                let b = try await sandbox.serve(
                    folders: [], stateDirectory: sandbox.path("b"), name: "b",
                    extraArguments: ["--peer", a.baseURL, "--max-storage", "5MiB"])
                let followed = try await sandbox.run(["follow", "kept.gguf", "--state-dir", b.stateDirectory], name: "follow")
                #expect(followed.status == 0, "\(followed.stderr)")
                try await Self.waitFor("B pulls the followed model") { Self.installedSHA256(b, "kept.gguf") == first }
                let second = try Self.rewrite(file, seed: 93, minutesLater: 5)
                try await Self.waitFor("B installs the new version", timeout: 90) { Self.installedSHA256(b, "kept.gguf") == second }
                let storage = try #require(await HTTPProbe.getJSON(StorageAPI.Status.self, port: b.port, path: StorageAPI.path))
                #expect(storage.usedBytes == 2 * Int64(Self.size), "the previous version counts: \(storage)")
                // The previous version: the mesh's last copy of those bytes, evictable all the same, first (least recently used).
                let previous = storage.models.first { $0.sha256 == first }
                #expect(previous?.meshCopies == 0 && previous?.evictable == true, "\(storage)")
                #expect(storage.models.filter(\.evictable).min { $0.lastUsedAt < $1.lastUsedAt }?.sha256 == first, "\(storage)")

                let pulled = try await sandbox.run(["pull", "other.gguf", "--state-dir", b.stateDirectory, "--json"], name: "pull-other")
                #expect(pulled.status == 0, "\(pulled.stdout) \(pulled.stderr)")
                #expect(Self.installedSHA256(b, "kept.gguf") == second, "the version in use stays")
                #expect(!FileManager.default.fileExists(atPath: b.stateDirectory + "/models/.atmo-previous/kept.gguf"))
                let rollback = try await sandbox.run(["rollback", "kept.gguf", "--state-dir", b.stateDirectory], name: "rollback")
                #expect(rollback.status == 4, "\(rollback.stdout) \(rollback.stderr)")
            }
        }
    }
}
