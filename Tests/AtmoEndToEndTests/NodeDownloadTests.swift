import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

extension EndToEnd {
    /// Downloads started through the running node belong to it: they go on when the CLI
    /// exits, resume when the node restarts, and stop with `atmo cancel`.
    @Suite("downloads of the node")
    struct NodeDownloads {
        static let size: Int64 = 48 * mebibyte
        static let rate = 12 * 1024 * 1024

        static func downloads(_ node: ServeProcess) async -> [DownloadAPI.Status] {
            await HTTPProbe.getJSON(DownloadAPI.StatusList.self, port: node.port, path: DownloadAPI.path)?.downloads ?? []
        }

        static func waitForDownload(
            _ node: ServeProcess, timeout: Double = 60, _ what: String, until condition: (DownloadAPI.Status) -> Bool
        ) async throws -> DownloadAPI.Status {
            let deadline = Date().addingTimeInterval(timeout)
            var last: [DownloadAPI.Status] = []
            while Date() < deadline {
                last = await downloads(node)
                if let found = last.first(where: condition) { return found }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw ProcessFailure(message: "\(what) not seen within \(timeout) s: \(last)")
        }

        @Test("a detached pull continues in the node, survives the node's restart and completes without starting over")
        func detachedDownloadResumesAfterRestart() async throws {
            try await withAtmoSandbox { sandbox in
                let folder = sandbox.path("offered")
                let sha = try ModelFixtures.writeSparseModel(at: folder + "/alpha.gguf", size: Self.size, seed: 31)
                let portA = try HTTPProbe.unusedPort()
                try await TCPProxy.run(upstreamPort: portA, options: .init(bytesPerSecond: Self.rate)) { proxy in
                    let a = try await sandbox.serve(
                        folders: [folder], stateDirectory: sandbox.path("a"), port: portA, name: "a", readyModels: ["alpha.gguf"],
                        extraArguments: ["--advertise-url", proxy.baseURL])
                    let c = try await sandbox.serve(folders: [], stateDirectory: sandbox.path("c"), name: "c", extraArguments: ["--peer", a.baseURL])
                    try await c.waitForMesh("alpha") { $0.contains { $0.entry.modelID == "alpha.gguf" } }

                    let started = try await sandbox.run(["pull", "alpha.gguf", "--state-dir", c.stateDirectory, "--detach", "--json"], name: "detach")
                    #expect(started.status == 0, "\(started.stderr)")
                    let requestID = try JSONDecoder().decode(DownloadAPI.Started.self, from: Data(started.stdout.utf8)).requestID
                    _ = try await Self.waitForDownload(c, "alpha at 24 MiB") { $0.requestID == requestID && $0.bytesDone >= 24 * mebibyte }

                    // The node stops mid-download and starts again on the same state folder.
                    c.process.signal(SIGTERM)
                    #expect(await c.process.waitForExit(timeout: 30) == 0)
                    let again = try await sandbox.serve(
                        folders: [], stateDirectory: c.stateDirectory, name: "c-again", extraArguments: ["--peer", a.baseURL])
                    let done = try await Self.waitForDownload(again, timeout: 90, "alpha completed") {
                        $0.requestID == requestID && $0.isFinal
                    }
                    #expect(done.state == "completed", "\(done)")
                    // It continued from what the first run wrote: 24 MiB seen, less at most the
                    // four 4 MiB pieces that were in flight.
                    #expect((done.resumedBytes ?? 0) >= 8 * mebibyte, "\(done)")
                    #expect(done.sha256 == sha)
                    #expect(filesEqual(again.stateDirectory + "/models/alpha.gguf", folder + "/alpha.gguf"))
                    // Resumed, not restarted: the provider sent the file about once in all.
                    #expect(proxy.bytesToClients < Self.size + 8 * pieceSize, "sent \(proxy.bytesToClients)")
                    // The pulled model is offered again by C.
                    try await again.waitForMesh("alpha installed at C") { models in
                        models.contains { $0.entry.modelID == "alpha.gguf" && $0.installed }
                    }
                }
            }
        }

        @Test("atmo cancel stops a download of the node; the partial is kept; unknown ids exit 4")
        func cancelStopsADownload() async throws {
            try await withAtmoSandbox { sandbox in
                let folder = sandbox.path("offered")
                _ = try ModelFixtures.writeSparseModel(at: folder + "/beta.gguf", size: Self.size, seed: 32)
                let portA = try HTTPProbe.unusedPort()
                try await TCPProxy.run(upstreamPort: portA, options: .init(bytesPerSecond: Self.rate / 2)) { proxy in
                    let a = try await sandbox.serve(
                        folders: [folder], stateDirectory: sandbox.path("a"), port: portA, name: "a", readyModels: ["beta.gguf"],
                        extraArguments: ["--advertise-url", proxy.baseURL])
                    let c = try await sandbox.serve(folders: [], stateDirectory: sandbox.path("c"), name: "c", extraArguments: ["--peer", a.baseURL])
                    try await c.waitForMesh("beta") { $0.contains { $0.entry.modelID == "beta.gguf" } }

                    // A following pull sees the cancel and exits 130.
                    let follower = try sandbox.start(["pull", "beta.gguf", "--state-dir", c.stateDirectory, "--json"], name: "follow")
                    _ = try await waitForPullProgress(follower, atLeast: 4 * mebibyte)
                    let cancel = try await sandbox.run(["cancel", "beta.gguf", "--state-dir", c.stateDirectory, "--json"], name: "cancel")
                    #expect(cancel.status == 0, "\(cancel.stderr)")
                    // The answer comes once the download has stopped: its final status.
                    let answered = try? JSONDecoder().decode(DownloadAPI.StatusList.self, from: Data(cancel.stdout.utf8))
                    #expect(answered?.downloads.map(\.state) == ["cancelled"], "\(cancel.stdout)")
                    #expect(await follower.waitForExit(timeout: 30) == 130)
                    let status = try await Self.waitForDownload(c, "beta cancelled") { $0.modelID == "beta.gguf" && $0.isFinal }
                    #expect(status.state == "cancelled")
                    let partials = (try? FileManager.default.contentsOfDirectory(atPath: c.stateDirectory + "/models/.atmo-partial")) ?? []
                    #expect(partials.contains { $0.hasSuffix(".part") }, "the partial is kept: \(partials)")

                    let unknown = try await sandbox.run(["cancel", "nothing-like-this", "--state-dir", c.stateDirectory], name: "cancel-unknown")
                    #expect(unknown.status == 4, "\(unknown.stderr)")
                }
            }
        }
    }
}
