import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

extension EndToEnd {
    /// A pull that dies (`kill -9`) or is interrupted (Ctrl-C) resumes from what it wrote.
    ///
    /// The transfer runs through a rate-limited proxy so "mid-transfer" is a number of bytes,
    /// whatever the speed of the machine; the resuming run goes through an unlimited proxy
    /// that counts what really crosses the wire.
    @Suite("kill -9 and Ctrl-C, then resume")
    struct Interruption {
        static let size: Int64 = 96 * mebibyte
        static let rate = 32 * 1024 * 1024
        /// The most a killed pull can lose: pieces in flight on each of the 4 connections,
        /// plus a written piece whose record had not been saved yet.
        static let maxLost: Int64 = 5 * pieceSize

        @Test("kill -9 mid-transfer, pull again: resumes, re-fetches only what was lost, same bytes")
        func killedPullResumes() async throws {
            try await withAtmoSandbox { sandbox in
                let served = try await ServedModel.start(in: sandbox, size: Self.size, sparse: true, seed: 11)
                let seen = try await TCPProxy.run(upstreamPort: served.server.port, options: .init(bytesPerSecond: Self.rate)) { proxy in
                    let pull = try sandbox.start(served.pullArguments(from: proxy.baseURL), name: "pull-killed")
                    let seen = try await waitForPullProgress(pull, atLeast: 40 * mebibyte)
                    pull.signal(SIGKILL)
                    #expect(await pull.waitForExit(timeout: 10) != nil)
                    return seen
                }
                #expect(!fileExists(served.installedPath), "a killed pull installed something")
                #expect(served.partialFiles.count == 1, "the partial is kept: \(served.partialFiles)")

                try await TCPProxy.run(upstreamPort: served.server.port, options: .init()) { counter in
                    let resume = try await sandbox.run(served.pullArguments(from: counter.baseURL), name: "pull-resume")
                    #expect(resume.status == 0, "\(resume.stderr)")
                    let output = resume.pullOutput
                    expectMonotonicProgress(output, total: Self.size)
                    let result = try #require(output.result)
                    #expect(result.resumedBytes > 0)
                    #expect(result.resumedBytes >= seen - Self.maxLost, "resumed \(result.resumedBytes) after seeing \(seen)")
                    #expect(result.bytesTransferred == Self.size - result.resumedBytes)
                    #expect(output.progress.first?.bytesDownloaded == result.resumedBytes, "the first report starts at the resumed bytes")
                    // What crossed the wire: the missing pieces plus HTTP headers and JSON.
                    #expect(counter.bytesToClients >= result.bytesTransferred)
                    #expect(counter.bytesToClients <= result.bytesTransferred + 256 * 1024, "fetched \(counter.bytesToClients)")
                }
                #expect(filesEqual(served.installedPath, served.source), "resumed file differs from the offered one")
                #expect(served.partialFiles.isEmpty)
            }
        }

        @Test("Ctrl-C: exit 130, says the partial is kept and how to resume; the next pull resumes")
        func interruptedPullResumes() async throws {
            try await withAtmoSandbox { sandbox in
                let served = try await ServedModel.start(in: sandbox, size: Self.size, sparse: true, seed: 12)
                let kept = try await TCPProxy.run(upstreamPort: served.server.port, options: .init(bytesPerSecond: Self.rate)) { proxy in
                    let pull = try sandbox.start(served.pullArguments(from: proxy.baseURL), name: "pull-interrupted")
                    _ = try await waitForPullProgress(pull, atLeast: 24 * mebibyte)
                    pull.signal(SIGINT)
                    let status = await pull.waitForExit(timeout: 60)  // a hang guard: the status says how it ended
                    #expect(status == 130, "\(pull.standardError)")
                    #expect(pull.standardError.contains("interrupted"))
                    #expect(pull.standardError.contains("kept"))
                    #expect(pull.standardError.contains("resume"))
                    #expect(pull.standardError.contains("atmo pull \(served.modelID)"), "the message shows the command to resume")
                    let error = PullOutput(pull).error
                    #expect(error?.code == "cancelled")
                    #expect(error?.exitCode == 130)
                    return Self.keptMiB(in: pull.standardError)
                }
                #expect(!fileExists(served.installedPath))
                #expect(served.partialFiles.count == 1)

                // The provider heard why the transfer stopped (model_transfer_cancel, user_cancelled).
                #expect(try await Self.cancelledCount(served.server) == 1)

                let resume = try await sandbox.run(served.pullArguments(), name: "pull-resume")
                #expect(resume.status == 0, "\(resume.stderr)")
                let result = try #require(resume.pullOutput.result)
                #expect(result.resumedBytes >= 24 * mebibyte - Self.maxLost)
                #expect(result.bytesTransferred == Self.size - result.resumedBytes)
                #expect(filesEqual(served.installedPath, served.source))
                // What the message said was kept is what the resume found, give or take the
                // pieces in flight (it counted the manifest's pieces at the configured size).
                let said = try #require(kept, "no 'kept (N MiB of' in the message")
                #expect(abs(said * Double(mebibyte) - Double(result.resumedBytes)) <= Double(Self.maxLost), "said \(said) MiB, resumed \(result.resumedBytes)")
            }
        }

        /// The MiB the Ctrl-C message says are kept ("kept (24.0 MiB of ...").
        static func keptMiB(in message: String) -> Double? {
            guard let start = message.range(of: "kept (")?.upperBound, let end = message[start...].range(of: " MiB of")?.lowerBound else {
                return nil
            }
            return Double(message[start..<end])
        }

        /// `transfers.cancelled` of the provider's `/health`.
        static func cancelledCount(_ server: ServeProcess) async throws -> Int? {
            let answer = try #require(await HTTPProbe.get(port: server.port, path: "/health"))
            let object = try JSONSerialization.jsonObject(with: answer.body) as? [String: Any]
            return (object?["transfers"] as? [String: Any])?["cancelled"] as? Int
        }
    }
}
