import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

extension EndToEnd {
    /// `atmo pull ID --into llamafarm` for a model a LlamaFarm provider offers: it lands in the
    /// consumer's LlamaFarm folder where the provider had it, and the consumer offers it from there.
    @Suite("pull into LlamaFarm")
    struct LlamaFarmPull {
        static let folder = "yolov8n_20240208_101500"
        static let relative = "vision/yolov8n_20240208_101500/model.pt"

        @Test(
            "through a node and with none: into {category}/{folder}/model.pt, found by the node's scan with the same SHA-256"
        )
        func pullsIntoLlamaFarmsLayout() async throws {
            try await withAtmoSandbox { sandbox in
                let providerHome = sandbox.path("home-provider")
                let source = providerHome + "/.llamafarm/models/" + Self.relative
                try FileManager.default.createDirectory(
                    atPath: (source as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                let sha = try ModelFixtures.writeModel(at: source, size: 3 * 1024 * 1024 + 5, seed: 41)
                let provider = try await sandbox.serveWithHome(
                    providerHome, stateDirectory: sandbox.path("provider"), name: "provider", readyModels: [Self.folder])

                // A consumer node with its own LlamaFarm folder, rescanning often.
                let consumerHome = sandbox.path("home-consumer")
                let consumer = try await sandbox.serveWithHome(
                    consumerHome, stateDirectory: sandbox.path("consumer"), name: "consumer",
                    extraArguments: ["--peer", provider.baseURL, "--rescan-interval", "0.5"])
                try await consumer.waitForMesh("the LlamaFarm model") { $0.contains { $0.entry.modelID == Self.folder } }
                let pull = try await sandbox.run(
                    ["pull", Self.folder, "--into", "llamafarm", "--state-dir", consumer.stateDirectory, "--json"], name: "pull",
                    environment: ["HOME": consumerHome])
                #expect(pull.status == 0, "\(pull.stderr)")
                let installed = consumerHome + "/.llamafarm/models/" + Self.relative
                #expect(pull.pullOutput.result?.path == installed, "\(pull.stdout)")
                #expect(filesEqual(installed, source))
                #expect(fileExists((installed as NSString).deletingLastPathComponent + "/.atmo-model.json"))
                // Fetched for LlamaFarm: the bytes live there, not twice in the store.
                #expect(!fileExists(consumer.stateDirectory + "/models/\(Self.folder).pt"))
                // The consumer's own scan finds it in its LlamaFarm folder, same id and hash
                // (a scan that ran before the store's copy was removed lists that one first).
                let deadline = Date().addingTimeInterval(30)
                var listed: ModelEntry? = nil
                while listed == nil, Date() < deadline {
                    listed = await consumer.catalog()?.first {
                        $0.modelID == Self.folder && $0.sha256 == sha && $0.metadata["llamafarm_path"] != nil
                    }
                    if listed == nil { try await Task.sleep(for: .milliseconds(100)) }
                }
                let entry = try #require(listed, "the consumer never listed \(Self.folder)")
                #expect(entry.metadata["llamafarm_path"] == .string(Self.relative))

                // Pulled again: it is in place, nothing moves.
                let again = try await sandbox.run(
                    ["pull", Self.folder, "--into", "llamafarm", "--state-dir", consumer.stateDirectory, "--json"], name: "again",
                    environment: ["HOME": consumerHome])
                #expect(again.status == 0, "\(again.stderr)")
                let result = again.pullOutput.result
                #expect(result?.alreadyInstalled == true && result?.bytesTransferred == 0 && result?.path == installed, "\(again.stdout)")

                // No node running: an in-process node (peers from config.json) does the same.
                let alone = sandbox.path("alone")
                let aloneHome = sandbox.path("home-alone")
                try FileManager.default.createDirectory(atPath: alone, withIntermediateDirectories: true)
                try Data(#"{"peers": ["\#(provider.baseURL)"], "lan_discovery": false}"#.utf8)
                    .write(to: URL(fileURLWithPath: alone + "/config.json"))
                let inProcess = try await sandbox.run(
                    ["pull", Self.folder, "--into", "llamafarm", "--state-dir", alone, "--json"], name: "in-process",
                    environment: ["HOME": aloneHome])
                #expect(inProcess.status == 0, "\(inProcess.stderr)")
                #expect(filesEqual(aloneHome + "/.llamafarm/models/" + Self.relative, source))
                #expect(!fileExists(alone + "/models/\(Self.folder).pt"))
            }
        }
    }
}
