import AtmoTesting
import Foundation
import Testing

/// Every end-to-end test runs real `atmo` child processes. They all nest in this suite so
/// they run one at a time: two transfers at once would fight for the 2 cores CI has and
/// make timing-based steps (kill mid-transfer) meaningless.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct EndToEnd {}

/// A sandbox with one provider serving one model: the usual starting point.
struct ServedModel: Sendable {
    let sandbox: AtmoSandbox
    let server: ServeProcess
    let modelID: String
    let sha256: String
    let size: Int64
    /// The offered file.
    let source: String

    /// The consumer's state folder; pulled models land in `{consumer}/models`.
    var consumer: String { sandbox.path("consumer") }
    var installedPath: String { consumer + "/models/" + modelID }
    var partialFolder: String { consumer + "/models/.atmo-partial" }

    /// `atmo pull ID --from URL --state-dir consumer --json`.
    func pullArguments(from url: String? = nil, extra: [String] = []) -> [String] {
        ["pull", modelID, "--from", url ?? server.baseURL, "--state-dir", consumer, "--json"] + extra
    }

    /// `.part` files in the consumer's partial folder.
    var partialFiles: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: partialFolder)) ?? []).filter { $0.hasSuffix(".part") }
    }

    /// Starts a provider offering one model file. `sparse` writes a large file fast (see
    /// `ModelFixtures.writeSparseModel`); otherwise every byte is pseudo-random.
    /// `serveArguments` are added to the provider's `atmo serve` command line.
    static func start(
        in sandbox: AtmoSandbox, modelID: String = "e2e-model.gguf", size: Int64, sparse: Bool = false, seed: UInt64 = 1,
        serveArguments: [String] = []
    ) async throws -> ServedModel {
        let folder = sandbox.path("offered")
        let path = folder + "/" + modelID
        let sha256 =
            sparse
            ? try ModelFixtures.writeSparseModel(at: path, size: size, seed: seed)
            : try ModelFixtures.writeModel(at: path, size: Int(size), seed: seed, header: .gguf)
        let server = try await sandbox.serve(
            folders: [folder], stateDirectory: sandbox.path("provider"), readyModels: [modelID], extraArguments: serveArguments)
        return ServedModel(sandbox: sandbox, server: server, modelID: modelID, sha256: sha256, size: size, source: path)
    }
}

/// Byte-for-byte equality of two files (streamed, bounded memory).
func filesEqual(_ a: String, _ b: String) -> Bool {
    guard let left = FileHandle(forReadingAtPath: a), let right = FileHandle(forReadingAtPath: b) else { return false }
    defer {
        try? left.close()
        try? right.close()
    }
    while true {
        let x = ((try? left.read(upToCount: 4 << 20)) ?? nil).flatMap { $0.isEmpty ? nil : $0 }
        let y = ((try? right.read(upToCount: 4 << 20)) ?? nil).flatMap { $0.isEmpty ? nil : $0 }
        if x != y { return false }
        if x == nil { return true }
    }
}

func fileExists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

/// Progress lines must never go backwards or past the total.
func expectMonotonicProgress(_ output: PullOutput, total: Int64, sourceLocation: SourceLocation = #_sourceLocation) {
    let bytes = output.progress.map(\.bytesDownloaded)
    #expect(bytes == bytes.sorted(), "progress went backwards: \(bytes)", sourceLocation: sourceLocation)
    #expect(
        output.progress.allSatisfy { $0.totalBytes == total && $0.bytesDownloaded <= total && $0.progressPercent <= 100 },
        "progress past the total", sourceLocation: sourceLocation)
}

/// The piece size of `atmo pull` (PullConfiguration's default): the resume granularity.
let pieceSize: Int64 = 2 << 20
let mebibyte: Int64 = 1 << 20
