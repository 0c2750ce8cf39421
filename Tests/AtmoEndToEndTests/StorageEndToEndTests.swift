import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

extension EndToEnd {
    /// The storage limit with real nodes: eviction of the least recently used pulled model,
    /// never a pinned one nor the mesh's last copy, and `storage_full` before any byte moves.
    @Suite("storage limit")
    struct StorageLimit {
        static let size: Int64 = 8 * mebibyte

        /// `/health`'s transfer counts of a provider.
        struct Served: Decodable {
            struct Transfers: Decodable {
                var bytesServed: Int64
                var activeDownloads: Int
                enum CodingKeys: String, CodingKey { case bytesServed = "bytes_served", activeDownloads = "active_downloads" }
            }
            var transfers: Transfers
        }

        static func storage(_ node: ServeProcess) async -> StorageAPI.Status? {
            await HTTPProbe.getJSON(StorageAPI.Status.self, port: node.port, path: StorageAPI.path)
        }

        static func pull(_ sandbox: AtmoSandbox, _ id: String, into node: ServeProcess) async throws {
            let pulled = try await sandbox.run(["pull", id, "--state-dir", node.stateDirectory, "--json"], name: "pull-\(id)")
            #expect(pulled.status == 0, "pull \(id): \(pulled.stderr)")
        }

        @Test("a pull over a small limit evicts the least recently used model, keeping a pinned one and the mesh's last copy")
        func evictionKeepsPinnedAndLastCopy() async throws {
            try await withAtmoSandbox { sandbox in
                let folderA = sandbox.path("offered-a")
                let folderB = sandbox.path("offered-b")
                for (seed, id) in ["pinned", "old", "mid", "new"].enumerated() {
                    try ModelFixtures.writeSparseModel(at: "\(folderA)/\(id).gguf", size: Self.size, seed: UInt64(40 + seed))
                }
                try ModelFixtures.writeSparseModel(at: folderB + "/lone.gguf", size: Self.size, seed: 49)
                let a = try await sandbox.serve(
                    folders: [folderA], stateDirectory: sandbox.path("a"), name: "a",
                    readyModels: ["pinned.gguf", "old.gguf", "mid.gguf", "new.gguf"])
                let b = try await sandbox.serve(folders: [folderB], stateDirectory: sandbox.path("b"), name: "b", readyModels: ["lone.gguf"])
                // Room for four of the 8 MiB models, not five.
                let c = try await sandbox.serve(
                    folders: [], stateDirectory: sandbox.path("c"), name: "c",
                    extraArguments: ["--peer", a.baseURL, "--peer", b.baseURL, "--max-storage", "36MiB"])
                try await c.waitForMesh("every model") { models in
                    ["pinned.gguf", "old.gguf", "mid.gguf", "new.gguf", "lone.gguf"].allSatisfy { id in
                        models.contains { $0.entry.modelID == id && !$0.providers.isEmpty }
                    }
                }
                // Pulled in this order, so least recently used first: pinned, lone, old, mid.
                for id in ["pinned.gguf", "lone.gguf", "old.gguf", "mid.gguf"] { try await Self.pull(sandbox, id, into: c) }
                let pin = try await sandbox.run(["pin", "pinned.gguf", "--state-dir", c.stateDirectory], name: "pin")
                #expect(pin.status == 0, "\(pin.stderr)")
                // B leaves: C's copy of lone is the last the mesh knows of.
                b.process.signal(SIGTERM)
                #expect(await b.process.waitForExit(timeout: 30) == 0)
                try await c.waitForMesh("lone held by C only") { models in
                    models.contains { $0.entry.modelID == "lone.gguf" && $0.installed && $0.providers.isEmpty }
                }
                let before = try #require(await Self.storage(c))
                #expect(before.usedBytes == 4 * Self.size, "\(before)")
                #expect(before.evictionOrder == ["old.gguf", "mid.gguf"], "\(before)")
                let shown = try await sandbox.run(["storage", "--state-dir", c.stateDirectory], name: "storage")
                #expect(shown.status == 0, "\(shown.stderr)")
                #expect(shown.stdout.contains("of 36.0 MiB") && shown.stdout.contains("never (pinned)"), "\(shown.stdout)")
                #expect(shown.stdout.contains("never (last copy)") && shown.stdout.contains("#1"), "\(shown.stdout)")

                try await Self.pull(sandbox, "new.gguf", into: c)

                let models = c.stateDirectory + "/models/"
                #expect(!fileExists(models + "old.gguf"), "the least recently used model is evicted")
                #expect(!fileExists(models + "old.gguf.json"))
                for kept in ["pinned.gguf", "lone.gguf", "mid.gguf", "new.gguf"] {
                    #expect(fileExists(models + kept), "\(kept) is kept")
                }
                let after = try #require(await Self.storage(c))
                #expect(Set(after.models.map(\.modelID)) == ["pinned.gguf", "lone.gguf", "mid.gguf", "new.gguf"], "\(after)")
                #expect(after.usedBytes <= 36 * mebibyte, "\(after)")
                #expect(after.models.first { $0.modelID == "pinned.gguf" }?.pinned == true)
                // C stops offering what it evicted.
                try await c.waitForMesh("old no longer installed at C") { models in
                    models.contains { $0.entry.modelID == "old.gguf" && !$0.installed }
                }
            }
        }

        @Test("a pull that cannot fit fails with storage_full and the numbers before the provider sends a byte")
        func storageFullBeforeAnyByte() async throws {
            try await withAtmoSandbox { sandbox in
                let folder = sandbox.path("offered")
                try ModelFixtures.writeSparseModel(at: folder + "/big.gguf", size: 4 * Self.size, seed: 61)
                let a = try await sandbox.serve(folders: [folder], stateDirectory: sandbox.path("a"), name: "a", readyModels: ["big.gguf"])

                // Through a node with a 16 MiB limit.
                let c = try await sandbox.serve(
                    folders: [], stateDirectory: sandbox.path("c"), name: "c", extraArguments: ["--peer", a.baseURL, "--max-storage", "16MiB"])
                try await c.waitForMesh("big") { $0.contains { $0.entry.modelID == "big.gguf" && !$0.providers.isEmpty } }
                let refused = try await sandbox.run(["pull", "big.gguf", "--state-dir", c.stateDirectory, "--json"], name: "pull-node")
                #expect(refused.status == 6, "\(refused.stderr)")
                #expect(refused.pullOutput.error?.code == "storage_full", "\(refused.stdout)")
                let message = refused.pullOutput.error?.error ?? ""
                #expect(message.contains("needs 32.0 MiB") && message.contains("16.0 MiB is free"), "\(message)")
                #expect(message.contains("0 B could be evicted") && message.contains("--max-storage"), "\(message)")

                // Standalone, from a URL, with the limit on the command line.
                let standalone = try await sandbox.run(
                    ["pull", "big.gguf", "--from", a.baseURL, "--state-dir", sandbox.path("d"), "--max-storage", "10MB", "--json"],
                    name: "pull-url")
                #expect(standalone.status == 6, "\(standalone.stderr)")
                #expect(standalone.pullOutput.error?.code == "storage_full", "\(standalone.stdout)")

                // Nothing was served, and no partial was made.
                let served = try #require(await HTTPProbe.getJSON(Served.self, port: a.port, path: HTTPAPI.healthPath))
                #expect(served.transfers.bytesServed == 0, "the provider served \(served.transfers.bytesServed) bytes")
                for state in [c.stateDirectory, sandbox.path("d")] {
                    let partials = (try? FileManager.default.contentsOfDirectory(atPath: state + "/models/.atmo-partial")) ?? []
                    #expect(!partials.contains { $0.hasSuffix(".part") }, "\(partials)")
                }

                // Without the limit the same pull goes through: the refusal was the limit's.
                let allowed = try await sandbox.run(
                    ["pull", "big.gguf", "--from", a.baseURL, "--state-dir", sandbox.path("d"), "--json"], name: "pull-unlimited")
                #expect(allowed.status == 0, "\(allowed.stderr)")
            }
        }
    }
}
