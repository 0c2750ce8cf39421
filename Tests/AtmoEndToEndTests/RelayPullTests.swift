import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

extension EndToEnd {
    /// Pulls between two nodes that cannot reach each other's HTTP endpoint (each advertises
    /// a dead port): the model travels as chunked transfers through `atmo relay`.
    @Suite("pull through a relay")
    struct RelayPull {
        static let deadEndpoint = "http://127.0.0.1:1"

        static func peer(of progress: ModelTransferProgress) -> String? {
            if case .string(let url) = progress.extra["peer"] { return url }
            return nil
        }

        /// A relay, a founder A offering `model`, a member B; waits until B sees the model
        /// through the relay. `relayURLForB` lets B reach the relay another way (a proxy).
        static func meshOverRelay(
            _ sandbox: AtmoSandbox, relay: RelayProcess, modelsFolder: String, model: String, relayURLForB: String? = nil
        ) async throws -> (a: ServeProcess, b: ServeProcess) {
            try await sandbox.makeMesh(name: "home", relay: relay.url, founderState: sandbox.path("a"), memberStates: [])
            let invite = try await sandbox.run(["mesh", "invite", "--state-dir", sandbox.path("a"), "--json"], name: "invite")
            let link = try #require(
                (try JSONSerialization.jsonObject(with: Data(invite.stdout.utf8)) as? [String: Any])?["invite"] as? String)
            let join = try await sandbox.run(
                ["mesh", "join", link, "--state-dir", sandbox.path("b"), "--relay", relayURLForB ?? relay.url], name: "join")
            #expect(join.status == 0, "\(join.stderr)")
            let a = try await sandbox.serve(
                folders: [modelsFolder], stateDirectory: sandbox.path("a"), name: "a", readyModels: [model],
                extraArguments: ["--advertise-url", deadEndpoint, "--probe-interval", "0.5"])
            let b = try await sandbox.serve(
                folders: [], stateDirectory: sandbox.path("b"), name: "b",
                extraArguments: ["--advertise-url", deadEndpoint, "--probe-interval", "0.5"])
            try await b.waitForMesh("\(model) through the relay, A's endpoint known dead") { models in
                models.first { $0.entry.modelID == model }?.providers.first?.transports == ["relay"]
            }
            return (a, b)
        }

        /// Waits for an interrupted `pull` and checks what it must give whatever the route:
        /// exit 0, the pinned version, progress that never goes back, at most
        /// `maxRefetchedPieces` fetched again after the interruption, and B's copy equal to A's.
        /// Returns its output (for the route it ended on), nil when it gave no result.
        static func expectCompletedPull(
            _ pull: AtmoProcess, sha: String, size: Int64, progressBefore before: Int64, maxRefetchedPieces: Int64,
            installed: String, original: String, sourceLocation: SourceLocation = #_sourceLocation
        ) async -> PullOutput? {
            #expect(await pull.waitForExit(timeout: 120) == 0, "\(pull.standardError)", sourceLocation: sourceLocation)
            let output = PullOutput(pull)
            guard let result = output.result else {
                Issue.record(
                    "no result; last lines: \(pull.standardOutputLines.suffix(2)) \(pull.standardError.suffix(2000))",
                    sourceLocation: sourceLocation)
                return nil
            }
            #expect(result.sha256 == sha, sourceLocation: sourceLocation)
            expectMonotonicProgress(output, total: size, sourceLocation: sourceLocation)
            #expect(
                result.bytesTransferred < size + maxRefetchedPieces * pieceSize, "fetched \(result.bytesTransferred) after \(before)",
                sourceLocation: sourceLocation)
            #expect(filesEqual(installed, original), sourceLocation: sourceLocation)
            return output
        }

        @Test("atmo pull MODEL fetches through the relay, verified, and says so in its progress")
        func pullThroughTheRelay() async throws {
            try await withAtmoSandbox { sandbox in
                let folder = sandbox.path("a-models")
                let size: Int64 = 24 * mebibyte
                let sha = try ModelFixtures.writeSparseModel(at: folder + "/alpha.gguf", size: size, seed: 31)
                let relay = try await sandbox.relay(stateDirectory: sandbox.path("relay"))
                let (_, b) = try await Self.meshOverRelay(sandbox, relay: relay, modelsFolder: folder, model: "alpha.gguf")

                let pull = try await sandbox.run(["pull", "alpha.gguf", "--state-dir", b.stateDirectory, "--json"], name: "pull")
                #expect(pull.status == 0, "\(pull.stderr)")
                let output = pull.pullOutput
                guard let result = output.result else {
                    Issue.record("no result; last lines: \(pull.lines.suffix(2)) \(pull.stderr.suffix(2000))")
                    return
                }
                #expect(result.sha256 == sha)
                #expect(output.progress.last.flatMap(Self.peer(of:))?.hasPrefix("relay://") == true)
                expectMonotonicProgress(output, total: size)
                #expect(filesEqual(b.stateDirectory + "/models/alpha.gguf", folder + "/alpha.gguf"))
                let stats = try #require(await HTTPProbe.get(port: relay.port, path: "/stats"))
                let relayed = (try JSONSerialization.jsonObject(with: stats.body) as? [String: Any])?["bytes_relayed"] as? Int
                #expect((relayed ?? 0) >= Int(size), "\(String(decoding: stats.body, as: UTF8.self))")
            }
        }

        @Test("killing the relay mid-transfer and restarting it: the pull resumes and verifies")
        func relayRestartMidTransfer() async throws {
            try await withAtmoSandbox { sandbox in
                let folder = sandbox.path("a-models")
                let size: Int64 = 32 * mebibyte
                let sha = try ModelFixtures.writeSparseModel(at: folder + "/alpha.gguf", size: size, seed: 32)
                let relayPort = try HTTPProbe.unusedPort()
                let relay = try await sandbox.relay(stateDirectory: sandbox.path("relay"), port: relayPort)
                // B reaches the relay through a throttling proxy, so the pull is surely mid-way.
                try await TCPProxy.run(upstreamPort: relayPort, options: .init(bytesPerSecond: 4 << 20)) { proxy in
                    let (_, b) = try await Self.meshOverRelay(
                        sandbox, relay: relay, modelsFolder: folder, model: "alpha.gguf",
                        relayURLForB: "ws://127.0.0.1:\(proxy.port)")
                    let pull = try sandbox.start(["pull", "alpha.gguf", "--state-dir", b.stateDirectory, "--json"], name: "pull")
                    let before = try await waitForPullProgress(pull, atLeast: 8 * mebibyte)
                    relay.process.signal(SIGKILL)
                    _ = await relay.process.waitForExit(timeout: 10)
                    try await Task.sleep(for: .seconds(1))
                    _ = try await sandbox.relay(stateDirectory: sandbox.path("relay"), port: relayPort, name: "relay-again")

                    // It goes on from what it had: at most the pieces in flight come again.
                    _ = await Self.expectCompletedPull(
                        pull, sha: sha, size: size, progressBefore: before, maxRefetchedPieces: 4,
                        installed: b.stateDirectory + "/models/alpha.gguf", original: folder + "/alpha.gguf")
                }
            }
        }
    }
}

extension EndToEnd.RelayPull {
    @Test("a pull begun over HTTP finishes through the relay when the HTTP path fails, keeping its pieces")
    func httpPathFailsOverToTheRelay() async throws {
        try await withAtmoSandbox { sandbox in
            let folder = sandbox.path("a-models")
            let size: Int64 = 32 * mebibyte
            let sha = try ModelFixtures.writeSparseModel(at: folder + "/alpha.gguf", size: size, seed: 33)
            let relay = try await sandbox.relay(stateDirectory: sandbox.path("relay"))
            try await sandbox.makeMesh(name: "home", relay: relay.url, founderState: sandbox.path("a"), memberStates: [sandbox.path("b")])
            let portA = try HTTPProbe.unusedPort()
            // A's HTTP endpoint answers through a throttling proxy, which is cut mid-pull.
            try await TCPProxy.run(upstreamPort: portA, options: .init(bytesPerSecond: 4 << 20)) { proxy in
                _ = try await sandbox.serve(
                    folders: [folder], stateDirectory: sandbox.path("a"), port: portA, name: "a", readyModels: ["alpha.gguf"],
                    extraArguments: ["--advertise-url", proxy.baseURL])
                let b = try await sandbox.serve(
                    folders: [], stateDirectory: sandbox.path("b"), name: "b",
                    extraArguments: ["--advertise-url", Self.deadEndpoint, "--probe-interval", "0.5"])
                try await b.waitForMesh("alpha over HTTP, WebSocket and the relay") { models in
                    models.first { $0.entry.modelID == "alpha.gguf" }?.providers.first?.transports == ["http", "websocket", "relay"]
                }
                let pull = try sandbox.start(["pull", "alpha.gguf", "--state-dir", b.stateDirectory, "--json"], name: "pull")
                let before = try await waitForPullProgress(pull, atLeast: 8 * mebibyte)
                #expect(PullOutput(pull).progress.last.flatMap(Self.peer(of:)) == proxy.baseURL)
                await proxy.cut()

                let output = await Self.expectCompletedPull(
                    pull, sha: sha, size: size, progressBefore: before, maxRefetchedPieces: 5,
                    installed: b.stateDirectory + "/models/alpha.gguf", original: folder + "/alpha.gguf")
                #expect(output?.progress.last.flatMap(Self.peer(of:))?.hasPrefix("relay://") == true)
            }
        }
    }
}

extension EndToEnd.RelayPull {
    @Test("when range requests break, the pull continues over the provider's own WebSocket endpoint")
    func brokenRangeRequestsFailOverToTheDirectWebSocket() async throws {
        try await withAtmoSandbox { sandbox in
            let folder = sandbox.path("a-models")
            let size: Int64 = 32 * mebibyte
            let sha = try ModelFixtures.writeSparseModel(at: folder + "/alpha.gguf", size: size, seed: 34)
            let portA = try HTTPProbe.unusedPort()
            try await TCPProxy.run(upstreamPort: portA, options: .init(bytesPerSecond: 4 << 20)) { proxy in
                // No relay at all: B knows A by --peer, through the proxy.
                _ = try await sandbox.serve(
                    folders: [folder], stateDirectory: sandbox.path("a"), port: portA, name: "a", readyModels: ["alpha.gguf"],
                    extraArguments: ["--advertise-url", proxy.baseURL])
                let b = try await sandbox.serve(folders: [], stateDirectory: sandbox.path("b"), name: "b", extraArguments: ["--peer", proxy.baseURL])
                try await b.waitForMesh("alpha over HTTP and WebSocket") { models in
                    models.first { $0.entry.modelID == "alpha.gguf" }?.providers.first?.transports == ["http", "websocket"]
                }
                let pull = try sandbox.start(["pull", "alpha.gguf", "--state-dir", b.stateDirectory, "--json"], name: "pull")
                let before = try await waitForPullProgress(pull, atLeast: 8 * mebibyte)
                await proxy.refuseDownloads()

                let output = await Self.expectCompletedPull(
                    pull, sha: sha, size: size, progressBefore: before, maxRefetchedPieces: 5,
                    installed: b.stateDirectory + "/models/alpha.gguf", original: folder + "/alpha.gguf")
                #expect(
                    output?.progress.last.flatMap(Self.peer(of:))
                        == proxy.baseURL.replacingOccurrences(of: "http://", with: "ws://") + "/v1/transfers/ws")
            }
        }
    }
}
