import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

extension EndToEnd.SwarmEndToEnd {
    /// `atmo pull ID --from URL` with no node running, where the node at URL is still pulling
    /// the model: no mesh view announces an entry, so the pull takes the one the node lists in
    /// its catalog's `partial_models`, its pieces as it gets them, and waits for the rest.
    @Test("atmo pull --from URL of a node still pulling the model takes its pieces and waits for the rest")
    func pullFromTheURLOfAPartialHolder() async throws {
        try await withAtmoSandbox { sandbox in
            let size = 16 * mebibyte
            let id = "swarm-partial-from.gguf"
            let offered = sandbox.path("a-offered") + "/" + id
            let sha256 = try ModelFixtures.writeModel(at: offered, size: Int(size), seed: 46, header: .gguf)
            let portA = try HTTPProbe.unusedPort()
            // A sends B 2 MiB/s: B needs 8 s for the file, so it is partial while C pulls.
            try await withProxies([(portA, TCPProxy.Options(bytesPerSecond: 2 << 20))]) { proxiesA in
                let a = try await sandbox.serve(
                    folders: [sandbox.path("a-offered")], stateDirectory: sandbox.path("a"), port: portA, name: "a", readyModels: [id],
                    extraArguments: ["--advertise-url", proxiesA[0].baseURL])
                try await SwarmModel.waitForManifest(a, modelID: id)
                let b = try await sandbox.serve(folders: [], stateDirectory: sandbox.path("b"), name: "b", extraArguments: ["--peer", a.baseURL])
                try await b.waitForMesh("the model with its manifest") {
                    $0.contains { $0.entry.modelID == id && $0.entry.manifestReference != nil }
                }
                let started = try await sandbox.run(["pull", id, "--state-dir", b.stateDirectory, "--detach", "--json"], name: "b-pull")
                #expect(started.status == 0, "\(started.stderr)")
                let requestID = try JSONDecoder().decode(DownloadAPI.Started.self, from: Data(started.stdout.utf8)).requestID
                _ = try await EndToEnd.NodeDownloads.waitForDownload(b, "B at 1 MiB") {
                    $0.requestID == requestID && $0.bytesDone >= mebibyte
                }
                // B lists the file in its catalog's `partial_models` from its next gossip tick
                // on; the pull is made after a moment so that it has.
                try await Task.sleep(for: .seconds(2))

                // C runs no node: the pull runs in the command, from B's URL alone.
                let pull = try await sandbox.run(
                    ["pull", id, "--from", b.baseURL, "--state-dir", sandbox.path("c"), "--json"], name: "c-pull", timeout: 120)
                #expect(pull.status == 0, "\(pull.stderr)\n\(pull.stdout.suffix(600))")
                #expect(pull.pullOutput.result?.sha256 == sha256, "\(pull.stdout.suffix(600))")
                #expect(filesEqual(sandbox.path("c") + "/models/" + id, offered))
                // B was still downloading when C began: C had every byte from B, A sent the
                // file about once (to B).
                print("SwarmEndToEnd partial from URL: A sent \(proxiesA[0].bytesToClients) bytes through its proxy")
                #expect(proxiesA[0].bytesToClients < size + size / 2, "A sent \(proxiesA[0].bytesToClients)")

                let done = try await EndToEnd.NodeDownloads.waitForDownload(b, timeout: 60, "B completed") {
                    $0.requestID == requestID && $0.isFinal
                }
                #expect(done.state == "completed", "\(done)")
            }
        }
    }
}
