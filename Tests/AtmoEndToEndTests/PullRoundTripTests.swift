import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

extension EndToEnd {
    /// `atmo pull` against a real `atmo serve`, then the local commands on the result.
    @Suite("pull, ls, verify, rm")
    struct PullRoundTrip {
        /// 4 full pieces of 2 MiB and a short last one.
        static let size: Int64 = 9 * mebibyte + 123

        @Test("pull installs the same bytes and reports progress then a result as JSON")
        func pullInstallsIdenticalBytes() async throws {
            try await withAtmoSandbox { sandbox in
                let served = try await ServedModel.start(in: sandbox, size: Self.size, seed: 3)
                let pull = try await sandbox.run(served.pullArguments(), name: "pull")
                #expect(pull.status == 0, "\(pull.stderr)")

                let output = pull.pullOutput
                #expect(output.invalid.isEmpty, "lines that are neither progress nor result: \(output.invalid)")
                #expect(output.kinds.last == "result")
                #expect(output.kinds.dropLast().allSatisfy { $0 == "progress" }, "\(output.kinds)")
                #expect(!output.progress.isEmpty)
                // Pieces are the provider's manifest's: 1 MiB for this size.
                let pieces = PieceManifest.pieceCount(fileSize: Self.size, pieceSize: PieceManifest.pieceSize(forFileSize: Self.size))
                #expect(output.progress.allSatisfy { $0.modelID == served.modelID && $0.totalChunks == pieces })
                #expect(Set(output.progress.map(\.requestID)).count == 1, "one request id per pull")
                expectMonotonicProgress(output, total: Self.size)
                #expect(output.progress.last.flatMap(PullOutput.phase(of:)) == "completed")
                #expect(output.progress.last?.bytesDownloaded == Self.size)

                let result = try #require(output.result)
                #expect(result.modelID == served.modelID)
                #expect(result.sha256 == served.sha256)
                #expect(result.sizeBytes == Self.size)
                #expect(result.bytesTransferred == Self.size)
                #expect(result.resumedBytes == 0)
                #expect(!result.alreadyInstalled)
                #expect(result.path == served.installedPath)
                #expect(filesEqual(served.installedPath, served.source), "installed bytes differ from the offered file")
                #expect(served.partialFiles.isEmpty, "partial left behind: \(served.partialFiles)")

                // The sidecar describes the artefact and where it came from.
                let sidecarData = try Data(contentsOf: URL(fileURLWithPath: served.installedPath + ".json"))
                let sidecar = try #require(try JSONSerialization.jsonObject(with: sidecarData) as? [String: Any])
                #expect(sidecar["sha256"] as? String == served.sha256)
                #expect(sidecar["model_id"] as? String == served.modelID)
                #expect(sidecar["downloaded_from"] as? String == served.server.baseURL)

                // The same version again: nothing is fetched.
                let again = try await sandbox.run(served.pullArguments(), name: "pull-again")
                #expect(again.status == 0, "\(again.stderr)")
                let second = try #require(again.pullOutput.result)
                #expect(second.alreadyInstalled)
                #expect(second.bytesTransferred == 0)
            }
        }

        @Test("verify passes, finds a flipped byte (exit 5); rm removes (then verify exits 4)")
        func verifyAndRemove() async throws {
            try await withAtmoSandbox { sandbox in
                let served = try await ServedModel.start(in: sandbox, size: Self.size, seed: 4)
                let pull = try await sandbox.run(served.pullArguments(), name: "pull")
                try #require(pull.status == 0, "\(pull.stderr)")
                let state = ["--state-dir", served.consumer]

                let verify = try await sandbox.run(["verify", served.modelID, "--json"] + state, name: "verify")
                #expect(verify.status == 0, "\(verify.stderr)")
                let verdict = try #require(
                    verify.lines.last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
                #expect(verdict["ok"] as? Bool == true)
                #expect(verdict["sha256"] as? String == served.sha256)

                try ModelFixtures.flipByte(at: Self.size / 2, of: served.installedPath)
                let corrupt = try await sandbox.run(["verify", served.modelID] + state, name: "verify-corrupt")
                #expect(corrupt.status == 5, "\(corrupt.stderr)")
                #expect(corrupt.stderr.contains("corrupt"))

                let remove = try await sandbox.run(["rm", served.modelID] + state, name: "rm")
                #expect(remove.status == 0, "\(remove.stderr)")
                #expect(!fileExists(served.installedPath))
                #expect(!fileExists(served.installedPath + ".json"))

                let gone = try await sandbox.run(["verify", served.modelID, "--json"] + state, name: "verify-gone")
                #expect(gone.status == 4, "\(gone.stderr)")
                #expect(PullOutput(lines: gone.lines).error?.code == "not_installed")
                let removeAgain = try await sandbox.run(["rm", served.modelID] + state, name: "rm-again")
                #expect(removeAgain.status == 4, "\(removeAgain.stderr)")
            }
        }

        @Test("pull --to DIR installs there; verify --in and rm --in find it")
        func pullIntoFolder() async throws {
            try await withAtmoSandbox { sandbox in
                let served = try await ServedModel.start(in: sandbox, size: 2 * mebibyte + 5, seed: 6)
                let folder = sandbox.path("elsewhere/models")
                let pull = try await sandbox.run(served.pullArguments(extra: ["--to", folder]), name: "pull-to")
                #expect(pull.status == 0, "\(pull.stderr)")
                #expect(pull.pullOutput.result?.path == folder + "/" + served.modelID)
                #expect(filesEqual(folder + "/" + served.modelID, served.source))
                #expect(!fileExists(served.installedPath), "--to must not also install into the models folder")
                let state = ["--state-dir", served.consumer, "--in", folder]
                let verify = try await sandbox.run(["verify", served.modelID] + state, name: "verify-in")
                #expect(verify.status == 0, "\(verify.stderr)")
                let remove = try await sandbox.run(["rm", served.modelID, "--json"] + state, name: "rm-in")
                #expect(remove.status == 0, "\(remove.stderr)")
                #expect(remove.stdout.contains("remove_result"))
                #expect(!fileExists(folder + "/" + served.modelID))
            }
        }

        @Test("models --json lists the provider's catalog; ls --json lists the pulled model")
        func listings() async throws {
            try await withAtmoSandbox { sandbox in
                let served = try await ServedModel.start(in: sandbox, size: 1 * mebibyte, seed: 5)
                let models = try await sandbox.run(["models", "--from", served.server.baseURL, "--json"], name: "models")
                #expect(models.status == 0, "\(models.stderr)")
                let catalog = try WireCoding.decode(HTTPAPI.ModelList.self, from: Data(models.stdout.utf8))
                #expect(catalog.models.map(\.modelID) == [served.modelID])
                #expect(catalog.models.first?.sha256 == served.sha256)
                #expect(!models.stdout.contains(sandbox.directory.path), "the catalog exposes a local path")

                let pull = try await sandbox.run(served.pullArguments(), name: "pull")
                try #require(pull.status == 0, "\(pull.stderr)")
                let list = try await sandbox.run(["ls", "--json", "--state-dir", served.consumer], name: "ls")
                #expect(list.status == 0, "\(list.stderr)")
                let rows = try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]] ?? []
                #expect(
                    rows.contains { $0["model_id"] as? String == served.modelID && $0["sha256"] as? String == served.sha256 },
                    "\(list.stdout)")
            }
        }
    }
}
