import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

extension EndToEnd {
    /// `atmo pull ID --into atmo|hf` where ID is a single-file model, not a repository (it
    /// failed: "no node of the mesh offers the repository ID"): `--into atmo` is the plain
    /// pull into the node's store; `--into hf` is refused (usage) for a model that is no file
    /// of a Hugging Face repository.
    @Suite("pull a single-file model --into atmo|hf")
    struct SingleFileIntoPull {
        @Test("--into atmo installs into the store; --into hf is refused with a usage error, through a node and from a URL")
        func singleFileIntoAtmoOrHF() async throws {
            try await withAtmoSandbox { sandbox in
                let (provider, source, _) = try await LlamaFarmPull.startProvider(sandbox)
                let id = LlamaFarmPull.folder
                let consumerHome = sandbox.path("home-consumer")
                let consumer = try await sandbox.serveWithHome(
                    consumerHome, stateDirectory: sandbox.path("consumer"), name: "consumer", extraArguments: ["--peer", provider.baseURL])
                try await consumer.waitForMesh("the single-file model") { $0.contains { $0.entry.modelID == id } }
                let environment = ["HOME": consumerHome, "HF_HUB_CACHE": sandbox.path("hf-cache")]

                let hf = try await sandbox.run(
                    ["pull", id, "--into", "hf", "--state-dir", consumer.stateDirectory], name: "into-hf", environment: environment)
                #expect(hf.status == 64 && hf.stderr.contains("--into hf is for repositories"), "\(hf.status) \(hf.stderr)")
                let hfURL = try await sandbox.run(
                    ["pull", id, "--into", "hf", "--from", provider.baseURL, "--state-dir", sandbox.path("url-consumer")], name: "into-hf-url",
                    environment: environment)
                #expect(hfURL.status == 64 && hfURL.stderr.contains("--into hf is for repositories"), "\(hfURL.status) \(hfURL.stderr)")

                let atmo = try await sandbox.run(
                    ["pull", id, "--into", "atmo", "--state-dir", consumer.stateDirectory, "--json"], name: "into-atmo",
                    environment: environment)
                #expect(atmo.status == 0, "\(atmo.stderr)")
                let stored = consumer.stateDirectory + "/models/\(id).pt"
                #expect(atmo.pullOutput.result?.path == stored, "\(atmo.stdout)")
                #expect(filesEqual(stored, source))

                let urlStore = sandbox.path("url-consumer")
                let atmoURL = try await sandbox.run(
                    ["pull", id, "--into", "atmo", "--from", provider.baseURL, "--state-dir", urlStore, "--json"], name: "into-atmo-url",
                    environment: environment)
                #expect(atmoURL.status == 0, "\(atmoURL.stderr)")
                #expect(filesEqual(urlStore + "/models/\(id).pt", source), "\(atmoURL.stdout)")
            }
        }
    }
}
