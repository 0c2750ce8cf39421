import AtmoTesting
import Foundation
import Testing

extension EndToEnd {
    /// The provider dies mid-transfer and comes back on the same port with the same state.
    @Suite("provider restart mid-transfer")
    struct ServerRestart {
        @Test("kill -9 atmo serve mid-transfer, restart it on the same port: the same pull retries and completes verified")
        func pullSurvivesProviderRestart() async throws {
            try await withAtmoSandbox { sandbox in
                let size = 256 * mebibyte
                let served = try await ServedModel.start(in: sandbox, size: size, sparse: true, seed: 21)
                let server = served.server
                // Through a proxy capped at 64 MiB/s, so the pull is still mid-way when the
                // provider is frozen however fast this machine pulls (a spliced pull straight
                // from the provider took 256 MiB before the first progress report). While the
                // provider is down, the proxy closes every connection at once, as a refused one.
                let (pull, frozenAt, restarted) = try await TCPProxy.run(
                    upstreamPort: server.port, options: .init(bytesPerSecond: 64 * 1024 * 1024)
                ) { proxy in
                    let pull = try sandbox.start(served.pullArguments(from: proxy.baseURL), name: "pull")
                    _ = try await waitForPullProgress(pull, atLeast: 1)
                    // Freeze the provider first, so the transfer is stopped mid-way, then kill it.
                    server.process.signal(SIGSTOP)
                    let frozenAt = PullOutput(pull).bytesReported
                    try #require(pull.isRunning && frozenAt < size, "the pull finished before the provider could be stopped")
                    server.process.signal(SIGKILL)
                    #expect(await server.process.waitForExit(timeout: 10) != nil)

                    let restarted = try await sandbox.serve(
                        folders: server.folders, stateDirectory: server.stateDirectory, port: server.port,
                        name: "serve-restarted", readyModels: [served.modelID])
                    #expect(restarted.port == server.port)
                    _ = await pull.waitForExit(timeout: 120)
                    return (pull, frozenAt, restarted)
                }

                let status = await pull.waitForExit(timeout: 120)
                #expect(status == 0, "\(pull.standardError)")
                let output = PullOutput(pull)
                expectMonotonicProgress(output, total: size)
                let result = try #require(output.result, "\(pull.standardOutputLines.suffix(2))")
                #expect(result.sha256 == served.sha256)
                #expect(result.resumedBytes == 0, "one run: nothing to resume")
                #expect(filesEqual(served.installedPath, served.source))
                // The rest really came from the restarted provider.
                let served2 = try #require(await HTTPProbe.get(port: restarted.port, path: "/health"))
                let transfers = (try JSONSerialization.jsonObject(with: served2.body) as? [String: Any])?["transfers"] as? [String: Any]
                let bytesServed = try #require(transfers?["bytes_served"] as? Int)
                #expect(bytesServed > 0 && bytesServed <= Int(size - frozenAt) + Int(pieceSize) * 4, "restarted node served \(bytesServed)")
            }
        }

        /// A piece is tried 5 times with 0.25, 0.5, 1 and 2 s between tries (about 4 s in all
        /// when each try fails at once). A provider down for longer fails the pull with
        /// exit 3; the partial is kept and the next pull resumes it.
        @Test("a provider down longer than the retry budget: exit 3 naming the peer, then the next pull resumes")
        func pullGivesUpThenResumes() async throws {
            try await withAtmoSandbox { sandbox in
                let size = 96 * mebibyte
                let served = try await ServedModel.start(in: sandbox, size: size, sparse: true, seed: 22)
                let server = served.server
                try await TCPProxy.run(upstreamPort: server.port, options: .init(bytesPerSecond: 32 * 1024 * 1024)) { proxy in
                    let pull = try sandbox.start(served.pullArguments(from: proxy.baseURL), name: "pull-gives-up")
                    _ = try await waitForPullProgress(pull, atLeast: 24 * mebibyte)
                    server.process.signal(SIGKILL)
                    // Through the proxy every try fails at once (accepted, then closed).
                    let status = await pull.waitForExit(timeout: 60)
                    #expect(status == 3, "\(pull.standardError)")
                    #expect(pull.standardError.contains(proxy.baseURL), "\(pull.standardError)")
                    #expect(PullOutput(pull).error?.code == "peer_unreachable")
                }
                #expect(!fileExists(served.installedPath))
                #expect(served.partialFiles.count == 1)

                let restarted = try await sandbox.serve(
                    folders: server.folders, stateDirectory: server.stateDirectory, port: server.port,
                    name: "serve-restarted", readyModels: [served.modelID])
                let resume = try await sandbox.run(served.pullArguments(from: restarted.baseURL), name: "pull-resume")
                #expect(resume.status == 0, "\(resume.stderr)")
                let result = try #require(resume.pullOutput.result)
                #expect(result.resumedBytes >= 24 * mebibyte - 5 * pieceSize)
                #expect(result.bytesTransferred == size - result.resumedBytes)
                #expect(filesEqual(served.installedPath, served.source))
            }
        }
    }
}
