import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

extension EndToEnd {
    /// Swarm pulls between real `atmo serve` and `atmo pull` processes: a file whose catalog
    /// entry names a piece manifest comes from every provider at once, piece by piece, each
    /// piece checked before it is written. Every provider sits behind a `TCPProxy` that
    /// counts what it sends; rate limits make "at the same time" a matter of bytes.
    @Suite("swarm pulls from several real nodes")
    struct SwarmEndToEnd {
        /// HTTP heads (one per piece, ~300 bytes), catalog entries, the manifest (32 bytes a
        /// piece), `/have` answers and transfer reports: far under this.
        static let headAllowance: Int64 = 64 * 1024

        @Test("three providers, one flipping a byte of a piece: pieces from all three, the bad one fetched again, right bytes")
        func threeProvidersOneLies() async throws {
            try await withAtmoSandbox { sandbox in
                let size = 24 * mebibyte
                let piece = PieceManifest.pieceSize(forFileSize: size)
                let model = try await SwarmModel.offer(in: sandbox, id: "swarm-liar.gguf", size: size, seed: 41, copies: 3)
                // 12 MiB/s each: the three share the file instead of the first one taking it all.
                let honest = TCPProxy.Options(bytesPerSecond: 12 << 20)
                var liar = honest
                liar.flipBodyByte = 4321
                let upstreams = [(model.servers[0].port, honest), (model.servers[1].port, honest), (model.servers[2].port, liar)]
                try await withProxies(upstreams) { proxies in
                    let consumer = sandbox.path("consumer")
                    let pull = try await sandbox.run(model.pullArguments(from: proxies, stateDirectory: consumer), name: "pull")
                    #expect(pull.status == 0, "\(pull.stderr)")
                    let result = try #require(pull.pullOutput.result)
                    #expect(result.sha256 == model.sha256)
                    #expect(result.bytesTransferred == size && result.resumedBytes == 0, "\(result)")
                    #expect(filesEqual(consumer + "/models/" + model.id, model.source))
                    #expect(proxies[2].hasFlipped, "the liar never sent a piece")
                    let sent = proxies.map(\.bytesToClients)
                    // Each one served at least one whole piece.
                    #expect(sent.allSatisfy { $0 >= piece }, "bytes per provider: \(sent)")
                    // The lie costs one piece sent twice. An endgame copy (a piece late by 1 s
                    // and twice its expected time is asked of a second peer) may cost one more
                    // on a machine this busy.
                    let total = sent.reduce(0, +)
                    print("SwarmEndToEnd liar: bytes per provider \(sent) (the third flipped a byte), \(total - size) more than the file")
                    #expect(total >= size + piece, "bytes per provider: \(sent)")
                    #expect(total <= size + 2 * piece + Self.headAllowance, "bytes per provider: \(sent)")
                }
            }
        }

        @Test("kill -9 in the middle of a pull from two providers; the next pull resumes and installs the same bytes")
        func killedSwarmPullResumes() async throws {
            try await withAtmoSandbox { sandbox in
                let size = 32 * mebibyte
                let piece = PieceManifest.pieceSize(forFileSize: size)
                let model = try await SwarmModel.offer(in: sandbox, id: "swarm-killed.gguf", size: size, seed: 42, copies: 2)
                let consumer = sandbox.path("consumer")
                // 3 MiB/s each: 16 MiB take at least 2.7 s, past the pull's first durable
                // record (every 2 s), so the kill leaves pieces to resume.
                let capped = TCPProxy.Options(bytesPerSecond: 3 << 20)
                let sentBeforeKill = try await withProxies(model.servers.map { ($0.port, capped) }) { proxies in
                    let pull = try sandbox.start(model.pullArguments(from: proxies, stateDirectory: consumer), name: "pull-killed")
                    _ = try await waitForPullProgress(pull, atLeast: 16 * mebibyte)
                    pull.signal(SIGKILL)
                    #expect(await pull.waitForExit(timeout: 10) != nil)
                    let sent = proxies.map(\.bytesToClients)
                    #expect(sent.allSatisfy { $0 >= piece }, "both fed the killed pull: \(sent)")
                    return sent
                }
                #expect(!fileExists(consumer + "/models/" + model.id), "a killed pull installed something")
                #expect(SwarmModel.partialFiles(consumer).count == 1, "the partial is kept")

                try await withProxies(model.servers.map { ($0.port, TCPProxy.Options()) }) { counters in
                    let resume = try await sandbox.run(model.pullArguments(from: counters, stateDirectory: consumer), name: "pull-resume")
                    #expect(resume.status == 0, "\(resume.stderr)")
                    let output = resume.pullOutput
                    expectMonotonicProgress(output, total: size)
                    let result = try #require(output.result)
                    #expect(result.resumedBytes > 0 && result.resumedBytes < size, "\(result)")
                    #expect(result.resumedBytes % piece == 0, "whole verified pieces are resumed: \(result)")
                    #expect(result.bytesTransferred == size - result.resumedBytes, "\(result)")
                    #expect(output.progress.first?.bytesDownloaded == result.resumedBytes, "the first report starts at the resumed bytes")
                    let total = counters.map(\.bytesToClients).reduce(0, +)
                    print(
                        "SwarmEndToEnd kill -9: bytes per provider before the kill \(sentBeforeKill), in the resume \(counters.map(\.bytesToClients)); "
                            + "resumed \(result.resumedBytes), transferred \(result.bytesTransferred)")
                    #expect(total >= result.bytesTransferred)
                    #expect(total <= result.bytesTransferred + piece + Self.headAllowance, "resume fetched \(total) for \(result)")
                }
                #expect(filesEqual(consumer + "/models/" + model.id, model.source), "resumed file differs from the offered one")
                #expect(SwarmModel.partialFiles(consumer).isEmpty)
            }
        }
    }
}
