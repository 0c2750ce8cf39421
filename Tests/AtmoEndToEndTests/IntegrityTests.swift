import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

extension EndToEnd {
    /// Whatever happens to the bytes on the way or at the source, what gets installed is
    /// exactly the artefact whose hash was checked.
    @Suite("integrity: tampering and changing sources")
    struct Integrity {
        @Test("a man in the middle flips one body byte: that piece fails its digest and comes again, the rest is kept")
        func flippedByteCostsOnePiece() async throws {
            try await withAtmoSandbox { sandbox in
                let size = 9 * mebibyte + 77
                let served = try await ServedModel.start(in: sandbox, size: size, seed: 32)
                try await TCPProxy.run(upstreamPort: served.server.port, options: .init(flipBodyByte: 12345)) { proxy in
                    let pull = try await sandbox.run(served.pullArguments(from: proxy.baseURL), name: "pull-tampered")
                    #expect(proxy.hasFlipped, "the proxy saw no 206 body to tamper with")
                    #expect(pull.status == 0, "\(pull.stderr)")
                    #expect(pull.stderr.contains("failed verification"), "\(pull.stderr)")
                    // One piece (1 MiB for this size) came twice; HTTP heads and JSON are small.
                    let piece = PieceManifest.pieceSize(forFileSize: size)
                    #expect(proxy.bytesToClients <= size + piece + 256 * 1024, "\(proxy.bytesToClients) bytes for a file of \(size)")
                }
                #expect(filesEqual(served.installedPath, served.source))
                #expect(served.partialFiles.isEmpty)
            }
        }

        @Test("from a provider without piece manifests, a flipped byte: exit 5 hash_mismatch, nothing installed, partial discarded")
        func flippedByteIsRejected() async throws {
            try await withAtmoSandbox { sandbox in
                let served = try await ServedModel.start(in: sandbox, size: 9 * mebibyte + 77, seed: 31)
                let options = TCPProxy.Options(flipBodyByte: 12345, hidePieceManifests: true)
                try await TCPProxy.run(upstreamPort: served.server.port, options: options) { proxy in
                    let pull = try await sandbox.run(served.pullArguments(from: proxy.baseURL), name: "pull-tampered")
                    #expect(proxy.hasFlipped, "the proxy saw no 206 body to tamper with")
                    #expect(pull.status == 5, "\(pull.stderr)")
                    #expect(pull.pullOutput.error?.code == "hash_mismatch")
                    #expect(pull.stderr.contains("nothing was installed"))
                }
                #expect(!fileExists(served.installedPath))
                #expect(!fileExists(served.installedPath + ".json"))
                #expect(served.partialFiles.isEmpty, "the untrustworthy partial was kept: \(served.partialFiles)")

                // Straight from the provider it works, from scratch.
                let pull = try await sandbox.run(served.pullArguments(), name: "pull-direct")
                #expect(pull.status == 0, "\(pull.stderr)")
                #expect(pull.pullOutput.result?.resumedBytes == 0)
                #expect(filesEqual(served.installedPath, served.source))
            }
        }

        @Test("the offered file is rewritten after it was indexed: source_changed, or the new version; never a mix")
        func rewrittenBeforePull() async throws {
            try await withAtmoSandbox { sandbox in
                let size = 9 * mebibyte
                let served = try await ServedModel.start(in: sandbox, size: size, seed: 41)
                let newSHA = try ModelFixtures.writeModel(at: served.source, size: Int(size), seed: 42, header: .gguf)
                try #require(newSHA != served.sha256)

                let pull = try await sandbox.run(served.pullArguments(), name: "pull-changed")
                try Self.expectNeverSpliced(pull, served: served, newSHA: newSHA)

                // Once re-indexed, the new version is offered and pulls cleanly.
                try await served.server.waitUntilReady(listing: [served.modelID], sha256: [served.modelID: newSHA])
                let again = try await sandbox.run(served.pullArguments(), name: "pull-new")
                #expect(again.status == 0, "\(again.stderr)")
                #expect(again.pullOutput.result?.sha256 == newSHA)
                #expect(filesEqual(served.installedPath, served.source))
                // The old version can no longer be fetched from this peer: its partial is garbage.
                #expect(served.partialFiles.isEmpty, "\(served.partialFiles)")
            }
        }

        @Test("the offered file is rewritten mid-transfer: the pull fails clearly or gets the new version; never a mix")
        func rewrittenDuringPull() async throws {
            try await withAtmoSandbox { sandbox in
                let size = 64 * mebibyte
                let served = try await ServedModel.start(in: sandbox, size: size, sparse: true, seed: 51)
                try await TCPProxy.run(upstreamPort: served.server.port, options: .init(bytesPerSecond: 32 * 1024 * 1024)) { proxy in
                    let pull = try sandbox.start(served.pullArguments(from: proxy.baseURL), name: "pull-changing")
                    _ = try await waitForPullProgress(pull, atLeast: 16 * mebibyte)
                    let newSHA = try ModelFixtures.writeSparseModel(at: served.source, size: size, seed: 52)
                    let status = try #require(await pull.waitForExit(timeout: 120))
                    try Self.expectNeverSpliced(
                        .init(process: pull, status: status), served: served, newSHA: newSHA, oldVersionWhole: true)
                }
            }
        }

        /// Either `source_changed` (exit 5, nothing installed) or a verified install whose bytes
        /// are exactly one version: the file now offered, or (`oldVersionWhole`) the old one
        /// whole. The fixture writes the new version as a new file under the same name, so a
        /// provider that opened the old file for a range asked before the change still sends
        /// that range of the old file, consistently: a pull whose ranges were all asked by
        /// then (a spliced pull asks in 32 MiB runs) gets the old version whole.
        static func expectNeverSpliced(
            _ pull: AtmoSandbox.Finished, served: ServedModel, newSHA: String, oldVersionWhole: Bool = false
        ) throws {
            let output = pull.pullOutput
            if pull.status == 0 {
                let result = try #require(output.result)
                #expect(try ModelFixtures.sha256(of: served.installedPath) == result.sha256)
                if oldVersionWhole && result.sha256 == served.sha256 { return }
                #expect(result.sha256 == newSHA, "installed the old version's hash over new bytes?")
                #expect(filesEqual(served.installedPath, served.source))
            } else {
                #expect(pull.status == 5, "\(pull.stderr)")
                #expect(output.error?.code == "source_changed", "\(output.error?.code ?? "no error line"): \(pull.stderr)")
                #expect(pull.stderr.contains("changed"))
                #expect(!fileExists(served.installedPath), "something was installed after a failed pull")
            }
        }
    }
}
