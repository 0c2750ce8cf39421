import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

extension EndToEnd.SwarmEndToEnd {
    /// A → B → C, where C may pull only from B, and B is still pulling the model from A: no
    /// source of C's pull offers the file whole (B lists it in `partial_models` only), yet the
    /// pull takes B's pieces as B gets them and installs the file, verified by its SHA-256.
    @Test("a model only a partial holder can give is pulled from it, piece by piece as it gets them")
    func pullFromAPartialHolderOnly() async throws {
        try await withAtmoSandbox { sandbox in
            let size = 16 * mebibyte
            let id = "swarm-partial-only.gguf"
            let offered = sandbox.path("a-offered") + "/" + id
            let sha256 = try ModelFixtures.writeModel(at: offered, size: Int(size), seed: 45, header: .gguf)
            let portA = try HTTPProbe.unusedPort()
            // A sends B 2 MiB/s: B needs 8 s for the file, so it is partial while C pulls.
            try await withProxies([(portA, TCPProxy.Options(bytesPerSecond: 2 << 20))]) { proxiesA in
                let a = try await sandbox.serve(
                    folders: [sandbox.path("a-offered")], stateDirectory: sandbox.path("a"), port: portA, name: "a", readyModels: [id],
                    extraArguments: ["--advertise-url", proxiesA[0].baseURL])
                try await SwarmModel.waitForManifest(a, modelID: id)
                let b = try await sandbox.serve(
                    folders: [], stateDirectory: sandbox.path("b"), name: "b", extraArguments: ["--peer", a.baseURL])
                try await b.waitForMesh("the model with its manifest") {
                    $0.contains { $0.entry.modelID == id && $0.entry.manifestReference != nil }
                }
                let bNode = try #require(await b.health()?.nodeID)
                let started = try await sandbox.run(["pull", id, "--state-dir", b.stateDirectory, "--detach", "--json"], name: "b-pull")
                #expect(started.status == 0, "\(started.stderr)")
                let requestID = try JSONDecoder().decode(DownloadAPI.Started.self, from: Data(started.stdout.utf8)).requestID
                _ = try await EndToEnd.NodeDownloads.waitForDownload(b, "B at 1 MiB") {
                    $0.requestID == requestID && $0.bytesDone >= mebibyte
                }

                // C knows B, and sees the model held by B in part.
                let c = try await sandbox.serve(folders: [], stateDirectory: sandbox.path("c"), name: "c", extraArguments: ["--peer", b.baseURL])
                try await c.waitForMesh("B as a partial holder") { models in
                    models.contains { $0.entry.modelID == id && $0.providers.contains { $0.nodeID == bNode && $0.isPartial } }
                }
                let listed = try await sandbox.run(["models", "--state-dir", c.stateDirectory], name: "c-models")
                print("SwarmEndToEnd partial only: `atmo models` on C:\n\(listed.stdout)")
                #expect(listed.stdout.contains(id) && listed.stdout.contains("partial"), "\(listed.stdout)")

                let pull = try await sandbox.run(
                    ["pull", id, "--from", bNode, "--state-dir", c.stateDirectory, "--json"], name: "c-pull", timeout: 120)
                #expect(pull.status == 0, "\(pull.stderr)\n\(pull.stdout.suffix(600))")
                #expect(pull.pullOutput.result?.sha256 == sha256, "\(pull.stdout.suffix(600))")
                #expect(filesEqual(c.stateDirectory + "/models/" + id, offered))
                // Only B took the file from A: C had every byte from B.
                print("SwarmEndToEnd partial only: A sent \(proxiesA[0].bytesToClients) bytes through its proxy")
                #expect(proxiesA[0].bytesToClients < size + size / 2, "A sent \(proxiesA[0].bytesToClients)")

                let done = try await EndToEnd.NodeDownloads.waitForDownload(b, timeout: 60, "B completed") {
                    $0.requestID == requestID && $0.isFinal
                }
                #expect(done.state == "completed", "\(done)")
            }
        }
    }
}
