import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

extension EndToEnd {
    /// `atmo pull MODEL` with no address: the running node names the providers, best first,
    /// and the pull fails over between them.
    @Suite("pull through the mesh")
    struct MeshPull {
        static let size: Int64 = 48 * mebibyte
        /// Each provider sits behind a throttling proxy, so the pull is surely mid-way when
        /// its provider is killed.
        static let rate = 12 * 1024 * 1024

        static func peer(of progress: ModelTransferProgress) -> String? {
            if case .string(let url) = progress.extra["peer"] { return url }
            return nil
        }

        @Test("picks a provider by itself; killing it mid-pull completes from the other, keeping the bytes already written")
        func failsOverToTheOtherProvider() async throws {
            try await withAtmoSandbox { sandbox in
                let folder = sandbox.path("shared")
                let sha = try ModelFixtures.writeSparseModel(at: folder + "/alpha.gguf", size: Self.size, seed: 21)
                let portA = try HTTPProbe.unusedPort()
                let portB = try HTTPProbe.unusedPort()
                try await TCPProxy.run(upstreamPort: portA, options: .init(bytesPerSecond: Self.rate)) { proxyA in
                    try await TCPProxy.run(upstreamPort: portB, options: .init(bytesPerSecond: Self.rate)) { proxyB in
                        // Both nodes serve the same file; each advertises its proxy.
                        let a = try await sandbox.serve(
                            folders: [folder], stateDirectory: sandbox.path("a"), port: portA, name: "a", readyModels: ["alpha.gguf"],
                            extraArguments: ["--advertise-url", proxyA.baseURL])
                        let b = try await sandbox.serve(
                            folders: [folder], stateDirectory: sandbox.path("b"), port: portB, name: "b", readyModels: ["alpha.gguf"],
                            extraArguments: ["--advertise-url", proxyB.baseURL, "--peer", a.baseURL])
                        let c = try await sandbox.serve(
                            folders: [], stateDirectory: sandbox.path("c"), name: "c", extraArguments: ["--peer", b.baseURL])
                        try await c.waitForMesh("alpha offered by A and B") { models in
                            models.first { $0.entry.modelID == "alpha.gguf" }?.providers.count == 2
                        }

                        let pull = try sandbox.start(["pull", "alpha.gguf", "--state-dir", c.stateDirectory, "--json"], name: "pull")
                        let seen = try await waitForPullProgress(pull, atLeast: 24 * mebibyte)
                        // Both providers serve pieces at once (a swarm of two).
                        let first = try #require(PullOutput(pull).progress.last.flatMap(Self.peer(of:)))
                        #expect(first.contains(proxyA.baseURL) && first.contains(proxyB.baseURL), "\(first)")
                        let (victim, survivorProxy) = (a, proxyB)
                        let survivor = survivorProxy.baseURL
                        let survivorBytesBefore = survivorProxy.bytesToClients
                        let victimID = try #require(await victim.health()?.nodeID)
                        victim.process.signal(SIGKILL)

                        #expect(await pull.waitForExit(timeout: 120) == 0, "\(pull.standardError)")
                        let output = PullOutput(pull)
                        let result = try #require(output.result, "\(pull.standardOutputLines.suffix(3))")
                        #expect(result.sha256 == sha)
                        // The killed node's HTTP route is out of the pull (its WebSocket route may
                        // still be trying when the pull completes).
                        let last = try #require(output.progress.last.flatMap(Self.peer(of:)))
                        #expect(last.contains(survivor) && !last.contains(proxyA.baseURL), "\(last)")
                        expectMonotonicProgress(output, total: Self.size)
                        // The survivor did not start over: what the victim delivered was kept
                        // (at most the pieces in flight on each connection are fetched again).
                        #expect(result.bytesTransferred < Self.size + 5 * pieceSize, "fetched \(result.bytesTransferred)")
                        // The survivor sent only what was missing, not the whole file again.
                        let fromSurvivor = survivorProxy.bytesToClients - survivorBytesBefore
                        #expect(fromSurvivor <= Self.size - seen + 5 * pieceSize, "the survivor sent \(fromSurvivor) after \(seen) arrived")
                        #expect(filesEqual(c.stateDirectory + "/models/alpha.gguf", folder + "/alpha.gguf"))

                        // The node heard how the killed provider did.
                        let peers = try #require(await c.meshPeers())
                        let reliability = try #require(peers.first { $0.nodeID == victimID }?.reliability, "\(peers)")
                        #expect(reliability < 1, "\(peers)")

                        // What C measured survives its restart (saved in its database).
                        c.process.signal(SIGTERM)
                        #expect(await c.process.waitForExit(timeout: 30) == 0)
                        let restarted = try await sandbox.serve(folders: [], stateDirectory: c.stateDirectory, name: "c-again")
                        let remembered = try #require(await restarted.meshPeers()?.first { $0.nodeID == victimID }, "peers not restored")
                        #expect(remembered.reliability <= reliability, "\(remembered)")
                        // The nodes go before the proxies: a node probing a proxy as it closes
                        // can catch it accepting a connection it never serves, which NIO traps on.
                        await sandbox.stopAll()
                    }
                }
            }
        }

        @Test("with no node running, a pull by id runs one in-process: peers from config.json, same engine")
        func pullWithoutARunningNode() async throws {
            try await withAtmoSandbox { sandbox in
                let served = try await ServedModel.start(in: sandbox, size: 6 * mebibyte + 7, seed: 6)
                let consumer = sandbox.path("alone")
                try FileManager.default.createDirectory(atPath: consumer, withIntermediateDirectories: true)
                try Data(#"{"peers": ["\#(served.server.baseURL)"], "lan_discovery": false}"#.utf8)
                    .write(to: URL(fileURLWithPath: consumer + "/config.json"))
                let pull = try await sandbox.run(["pull", served.modelID, "--state-dir", consumer, "--json"], name: "in-process")
                #expect(pull.status == 0, "\(pull.stderr)")
                #expect(pull.pullOutput.result?.sha256 == served.sha256, "\(pull.stdout)")
                #expect(filesEqual(consumer + "/models/" + served.modelID, served.source))
                #expect(!FileManager.default.fileExists(atPath: consumer + "/node.json"), "the in-process node leaves no node.json")
                // The provider never heard of the consumer as a provider (it offers nothing).
                let peers = await served.server.meshPeers() ?? []
                #expect(peers.allSatisfy { $0.http == nil || $0.http == "" }, "\(peers)")

                let missing = try await sandbox.run(["pull", "no-such-model", "--state-dir", consumer], name: "in-process-missing")
                #expect(missing.status == 4, "\(missing.stderr)")
                #expect(missing.stderr.contains("no node runs here"), "\(missing.stderr)")
            }
        }

        @Test("an id no node offers exits 4; --from with an unknown node exits 4")
        func notOffered() async throws {
            try await withAtmoSandbox { sandbox in
                let served = try await ServedModel.start(in: sandbox, size: 100_000, seed: 5)
                let c = try await sandbox.serve(
                    folders: [], stateDirectory: sandbox.path("c"), name: "c", extraArguments: ["--peer", served.server.baseURL])
                try await c.waitForMesh("the served model") { $0.contains { $0.entry.modelID == served.modelID } }
                let missing = try await sandbox.run(["pull", "no-such-model", "--state-dir", c.stateDirectory, "--json"], name: "missing")
                #expect(missing.status == 4, "\(missing.stderr)")
                #expect(missing.stdout.contains("not_offered"), "\(missing.stdout)")
                let wrongNode = try await sandbox.run(
                    ["pull", served.modelID, "--from", "no-such-node", "--state-dir", c.stateDirectory], name: "wrong-node")
                #expect(wrongNode.status == 4, "\(wrongNode.stderr)")
                let ok = try await sandbox.run(["pull", served.modelID, "--state-dir", c.stateDirectory, "--json"], name: "ok")
                #expect(ok.status == 0, "\(ok.stderr)")
                #expect(filesEqual(c.stateDirectory + "/models/" + served.modelID, served.source))
            }
        }
    }
}
