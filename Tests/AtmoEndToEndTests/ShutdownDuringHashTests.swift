import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

extension EndToEnd {
    /// Issue 9, item 15: a node busy hashing a large new file stops at once when asked to.
    @Suite("shutdown during a first hash")
    struct ShutdownDuringHash {
        /// A 200 GB sparse model (hashed at ~1.3 GB/s, so ~150 s), SIGTERM while it is being
        /// hashed: `atmo serve` exits 0 well before the hash could have finished. The bound is
        /// generous (30 s, for a loaded machine); with the hash uncancellable the exit took as
        /// long as the hash.
        @Test("serve exits promptly on SIGTERM in the middle of hashing a 200 GB file")
        func sigtermDuringFirstHash() async throws {
            try await withAtmoSandbox { sandbox in
                let folder = sandbox.path("offered")
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                let path = folder + "/huge.gguf"
                _ = FileManager.default.createFile(atPath: path, contents: Data("GGUF".utf8) + Data([3, 0, 0, 0]))
                let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
                try handle.truncate(atOffset: 200_000_000_000)
                try handle.close()

                let portFile = sandbox.path("serve.port")
                let serve = try sandbox.start(
                    [
                        "serve", "--host", "127.0.0.1", "--port", "0", "--port-file", portFile, "--state-dir", sandbox.path("state"),
                        "--no-huggingface", "--no-llamafarm", "--no-lan", "--folder", folder,
                    ], name: "serve")
                let port = try await waitForPortFile(portFile, process: serve, timeout: 60)
                let health = { await HTTPProbe.getJSON(HTTPAPI.Health.self, port: port, path: HTTPAPI.healthPath) }
                // The node has listed the file and is hashing it.
                let deadline = Date().addingTimeInterval(30)
                while Date() < deadline, await health()?.modelsHashing != 1 {
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(await health()?.modelsHashing == 1, "the node should be hashing the file")

                let started = ContinuousClock.now
                serve.signal(SIGTERM)
                let status = await serve.waitForExit(timeout: 60)
                let elapsed = ContinuousClock.now - started
                #expect(status == 0, "\(serve.standardError)")
                #expect(elapsed < .seconds(30), "atmo serve took \(elapsed) to exit after SIGTERM")
                print("ShutdownDuringHash: atmo serve exited \(elapsed) after SIGTERM during a 200 GB hash")
            }
        }
    }
}
