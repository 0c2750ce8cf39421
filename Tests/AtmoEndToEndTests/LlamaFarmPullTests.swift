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

        /// A node whose LlamaFarm folder holds `relative`; returns it, that file and its SHA-256.
        static func startProvider(_ sandbox: AtmoSandbox) async throws -> (ServeProcess, String, String) {
            let providerHome = sandbox.path("home-provider")
            let source = providerHome + "/.llamafarm/models/" + Self.relative
            try FileManager.default.createDirectory(
                atPath: (source as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let sha = try ModelFixtures.writeModel(at: source, size: 3 * 1024 * 1024 + 5, seed: 41)
            let provider = try await sandbox.serveWithHome(
                providerHome, stateDirectory: sandbox.path("provider"), name: "provider", readyModels: [Self.folder])
            return (provider, source, sha)
        }

        @Test(
            "through a node and with none: into {category}/{folder}/model.pt, found by the node's scan with the same SHA-256"
        )
        func pullsIntoLlamaFarmsLayout() async throws {
            try await withAtmoSandbox { sandbox in
                let (provider, source, sha) = try await Self.startProvider(sandbox)

                // A consumer node with its own LlamaFarm folder, rescanning often.
                let consumerHome = sandbox.path("home-consumer")
                let consumer = try await sandbox.serveWithHome(
                    consumerHome, stateDirectory: sandbox.path("consumer"), name: "consumer",
                    extraArguments: ["--peer", provider.baseURL, "--rescan-interval", "0.5"])
                try await consumer.waitForMesh("the LlamaFarm model") { $0.contains { $0.entry.modelID == Self.folder } }
                // --detach would leave the install to the node, whose download ends in its store: refused.
                let detached = try await sandbox.run(
                    ["pull", Self.folder, "--into", "llamafarm", "--detach", "--state-dir", consumer.stateDirectory], name: "detached",
                    environment: ["HOME": consumerHome])
                #expect(detached.status == 64 && detached.stderr.contains("--detach"), "\(detached.stderr)")
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

        @Test(
            "--from URL, with no node and with one running: from that URL into the provider's LlamaFarm place, byte-identical; again: already installed"
        )
        func pullsFromURLIntoLlamaFarmsLayout() async throws {
            try await withAtmoSandbox { sandbox in
                let (provider, source, _) = try await Self.startProvider(sandbox)

                // No node runs on this state folder, and it knows no peer: only the URL can give it.
                let alone = sandbox.path("url-alone")
                let aloneHome = sandbox.path("home-url-alone")
                let arguments = ["pull", Self.folder, "--into", "llamafarm", "--from", provider.baseURL, "--state-dir", alone, "--json"]
                let pull = try await sandbox.run(arguments, name: "url-pull", environment: ["HOME": aloneHome])
                #expect(pull.status == 0, "\(pull.stderr)")
                let installed = aloneHome + "/.llamafarm/models/" + Self.relative
                #expect(pull.pullOutput.result?.path == installed, "\(pull.stdout)")
                #expect(pull.pullOutput.result?.alreadyInstalled == false, "\(pull.stdout)")
                #expect(filesEqual(installed, source))
                #expect(fileExists((installed as NSString).deletingLastPathComponent + "/.atmo-model.json"))
                #expect(!fileExists(alone + "/models/\(Self.folder).pt"))

                // Pulled again: it is in place, nothing moves.
                let again = try await sandbox.run(arguments, name: "url-again", environment: ["HOME": aloneHome])
                #expect(again.status == 0, "\(again.stderr)")
                let result = again.pullOutput.result
                #expect(result?.alreadyInstalled == true && result?.bytesTransferred == 0 && result?.path == installed, "\(again.stdout)")
                #expect(filesEqual(installed, source))

                // A node runs on the state folder (knowing no peer): the URL pull installs the same.
                let consumerHome = sandbox.path("home-url-node")
                let consumer = try await sandbox.serveWithHome(consumerHome, stateDirectory: sandbox.path("url-node"), name: "consumer")
                let withNode = try await sandbox.run(
                    [
                        "pull", Self.folder, "--into", "llamafarm", "--from", provider.baseURL, "--state-dir", consumer.stateDirectory,
                        "--json",
                    ],
                    name: "url-node-pull", environment: ["HOME": consumerHome])
                #expect(withNode.status == 0, "\(withNode.stderr)")
                #expect(withNode.pullOutput.result?.path == consumerHome + "/.llamafarm/models/" + Self.relative, "\(withNode.stdout)")
                #expect(filesEqual(consumerHome + "/.llamafarm/models/" + Self.relative, source))
                #expect(!fileExists(consumer.stateDirectory + "/models/\(Self.folder).pt"))

                // A model the URL does not offer: a clear refusal naming the URL, nothing installed.
                let missing = try await sandbox.run(
                    ["pull", "no-such-model", "--into", "llamafarm", "--from", provider.baseURL, "--state-dir", alone, "--json"],
                    name: "url-missing", environment: ["HOME": aloneHome])
                #expect(missing.status == 4, "\(missing.stderr)")
                #expect(missing.pullOutput.error?.code == "not_offered", "\(missing.stdout)")
                #expect(missing.stderr.contains(provider.baseURL), "\(missing.stderr)")
                // --to and --into llamafarm name two places: refused before anything moves.
                let both = try await sandbox.run(
                    [
                        "pull", Self.folder, "--into", "llamafarm", "--from", provider.baseURL, "--to", sandbox.path("elsewhere"),
                        "--state-dir", alone,
                    ],
                    name: "url-to", environment: ["HOME": aloneHome])
                #expect(both.status == 64, "\(both.stderr)")
                #expect(both.stderr.contains("--into llamafarm"), "\(both.stderr)")
                #expect(!fileExists(sandbox.path("elsewhere")))
            }
        }
    }
}
