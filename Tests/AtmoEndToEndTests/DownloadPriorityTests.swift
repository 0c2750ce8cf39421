import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

extension EndToEnd {
    /// Priorities of the node's downloads (issue 11): a critical download that finds the
    /// slots held by lower ones pauses the lowest, which resumes from its pieces afterwards.
    @Suite("download priorities")
    struct DownloadPriorities {
        static let size: Int64 = 48 * mebibyte
        static let criticalSize: Int64 = 16 * mebibyte
        static let rate = 12 * 1024 * 1024

        /// Starts `model` in the node at `priority` with `atmo pull --detach`; its request id.
        static func detach(_ sandbox: AtmoSandbox, _ node: ServeProcess, _ model: String, _ priority: String) async throws -> String {
            let started = try await sandbox.run(
                ["pull", model, "--state-dir", node.stateDirectory, "--detach", "--json", "--priority", priority], name: "pull-\(priority)")
            #expect(started.status == 0, "\(started.stderr)")
            return try JSONDecoder().decode(DownloadAPI.Started.self, from: Data(started.stdout.utf8)).requestID
        }

        @Test("a critical pull pauses a low one, which resumes from its pieces and completes verified")
        func criticalPreemptsLow() async throws {
            try await withAtmoSandbox { sandbox in
                let folder = sandbox.path("offered")
                let lowSHA = try ModelFixtures.writeSparseModel(at: folder + "/prefetch.gguf", size: Self.size, seed: 41)
                _ = try ModelFixtures.writeSparseModel(at: folder + "/asked.gguf", size: Self.size, seed: 42)
                let criticalSHA = try ModelFixtures.writeSparseModel(at: folder + "/urgent.gguf", size: Self.criticalSize, seed: 43)
                let models = ["prefetch.gguf", "asked.gguf", "urgent.gguf"]
                let portA = try HTTPProbe.unusedPort()
                try await TCPProxy.run(upstreamPort: portA, options: .init(bytesPerSecond: Self.rate)) { proxy in
                    let a = try await sandbox.serve(
                        folders: [folder], stateDirectory: sandbox.path("a"), port: portA, name: "a", readyModels: models,
                        extraArguments: ["--advertise-url", proxy.baseURL])
                    let c = try await sandbox.serve(
                        folders: [], stateDirectory: sandbox.path("c"), name: "c", extraArguments: ["--peer", a.baseURL])
                    try await c.waitForMesh("all three") {
                        Set($0.map(\.entry.modelID)).isSuperset(of: ["prefetch.gguf", "asked.gguf", "urgent.gguf"])
                    }

                    // Two slots: a low and a high download hold them.
                    let low = try await Self.detach(sandbox, c, "prefetch.gguf", "low")
                    _ = try await NodeDownloads.waitForDownload(c, "prefetch at 8 MiB") {
                        $0.requestID == low && $0.bytesDone >= 8 * mebibyte
                    }
                    let high = try await Self.detach(sandbox, c, "asked.gguf", "high")
                    _ = try await NodeDownloads.waitForDownload(c, "asked downloading") { $0.requestID == high && $0.bytesDone > 0 }

                    // The critical one takes the low one's slot: the low one is paused.
                    let critical = try await Self.detach(sandbox, c, "urgent.gguf", "critical")
                    let paused = try await NodeDownloads.waitForDownload(c, "prefetch paused") { $0.requestID == low && $0.paused == true }
                    #expect(paused.priority == .low, "\(paused)")
                    #expect(paused.state == "queued", "\(paused)")

                    let urgent = try await NodeDownloads.waitForDownload(c, timeout: 90, "urgent ended") {
                        $0.requestID == critical && $0.isFinal
                    }
                    #expect(urgent.state == "completed", "\(urgent)")
                    #expect(urgent.sha256 == criticalSHA)
                    #expect(urgent.priority == .critical)
                    // The low one was still paused when the critical one completed.
                    let lowThen = await NodeDownloads.downloads(c).filter { $0.requestID == low }
                    #expect(lowThen.map(\.isFinal) == [false], "\(lowThen)")

                    // Then it resumes from the pieces it had, and verifies.
                    let done = try await NodeDownloads.waitForDownload(c, timeout: 120, "prefetch ended") {
                        $0.requestID == low && $0.isFinal
                    }
                    #expect(done.state == "completed", "\(done)")
                    #expect(done.sha256 == lowSHA)
                    #expect((done.resumedBytes ?? 0) > 0, "\(done)")
                    #expect(filesEqual(c.stateDirectory + "/models/prefetch.gguf", folder + "/prefetch.gguf"))
                    let asked = try await NodeDownloads.waitForDownload(c, timeout: 120, "asked ended") {
                        $0.requestID == high && $0.isFinal
                    }
                    #expect(asked.state == "completed", "\(asked)")
                    // Resumed, not restarted: the provider sent about each file once.
                    let total = 2 * Self.size + Self.criticalSize
                    #expect(proxy.bytesToClients < total + 12 * pieceSize, "sent \(proxy.bytesToClients)")

                    // atmo downloads shows each download's priority.
                    let listed = try await sandbox.run(["downloads", "--state-dir", c.stateDirectory], name: "downloads")
                    #expect(listed.status == 0, "\(listed.stderr)")
                    let text = listed.stdout
                    #expect(text.contains("PRIORITY"), "\(text)")
                    #expect(text.contains("critical"), "\(text)")
                }
            }
        }
    }
}
