import ArgumentParser
import AsyncHTTPClient
import AtmoNode
import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation
import Logging
import UnixSignals

struct PullCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Download a model from the mesh (or one peer), verified and resumable.",
        discussion: """
            Without --from, asks the node running on this state folder (`atmo serve`) which peers \
            offer MODEL_ID, tries them best first (direct HTTP, then latency, reliability, load) \
            and moves to the next one when a peer fails, keeping the bytes already verified. \
            --from URL pulls from that peer only (repeat it to pull from several URLs at once, \
            piece by piece); --from NODE (an id or name from `atmo peers`) \
            from that node of the mesh only. \
            Fetches MODEL_ID into the models folder (or --to DIR) as \
            {model_id}.{format} plus {model_id}.json. Interrupted pulls (Ctrl-C, kill, reboot) \
            resume where they stopped when run again. The SHA-256 is checked while the bytes \
            arrive; a mismatch installs nothing and discards the partial. With --json, prints \
            one model_transfer_progress line per update, then a pull_result line (or an error \
            line with code and exit_code) to stdout. Ctrl-C keeps the partial and exits 130.
            """)

    @OptionGroup var store: StoreOptions
    @OptionGroup var storageLimit: StorageLimitOptions

    @Argument(help: "The model id (see `atmo models`), or a repository: org/name.")
    var modelID: String

    // Repositories (PullCommand+Repository.swift).
    @Argument(help: "One file of the repository to pull (its path in the repository).")
    var filePath: String?

    @Option(name: .customLong("file"), help: "One file of the repository to pull (same as PATH).")
    var repositoryFile: String?

    @Option(help: "Repository: pull only files matching this glob (fnmatch, as `hf download`), repeatable.")
    var include: [String] = []

    @Option(help: "Repository: skip files matching this glob, repeatable.")
    var exclude: [String] = []

    @Option(
        help: "Install into hf (the Hugging Face cache, a repository's default), atmo (the node's store) or llamafarm (also a single file).")
    var into: RepositoryTarget?

    @Option(help: "Repository: pull this branch, tag or full commit (default: the commit most nodes offer).")
    var revision: String?

    @Option(
        name: .customLong("from"),
        help: "Only this peer: a base URL (http://192.168.1.20:\(HTTPAPI.defaultPort)), repeatable, or a node id or name of the mesh.")
    var peers: [String] = []

    /// The one `--from` (a node id or name, or the first URL).
    var peer: String? { peers.first }

    @Option(name: .customLong("to"), help: "Install into this folder instead of the node's models folder.")
    var destination: String?

    @Option(name: .customLong("sha256"), help: "Refuse any version of the model but this one.")
    var expectedSHA256: String?

    @Option(help: "Parallel range connections (a pull through a running node uses the node's settings).")
    var connections = PullConfiguration().connections

    @Option(name: .customLong("stall-timeout"), help: "Seconds without data before a connection is retried.")
    var stallTimeout = PullConfiguration().stallTimeoutSeconds

    @Flag(help: "Print progress and the result as JSON lines.")
    var json = false

    @Flag(help: "With a running node: start the download there and return at once (it continues in the node).")
    var detach = false

    @Option(
        help: """
            With a running node: critical (inference waits on it; may pause a lower download), \
            high (the default), normal (background sync) or low (prefetch).
            """)
    var priority: DownloadPriority = .default

    func validate() throws {
        guard connections >= 1 && connections <= 64 else { throw ValidationError("--connections must be 1-64") }
        guard stallTimeout > 0 else { throw ValidationError("--stall-timeout must be positive") }
        for peer in peers where peer.contains("://") && !Validation.isValidHTTPEndpoint(peer) {
            throw ValidationError("--from takes a URL such as http://HOST:\(HTTPAPI.defaultPort), or a node id or name")
        }
        if peers.count > 1 && !peers.allSatisfy({ $0.contains("://") }) {
            throw ValidationError("several --from must all be URLs; a node id or name of the mesh goes alone")
        }
        if into == .llamafarm && destination != nil {
            throw ValidationError(
                "--into llamafarm installs into LlamaFarm's models folder (~/.llamafarm/models); --to names another, drop one")
        }
        if isRepositoryPull { return try validateRepositoryPull() }
        guard Validation.isValidModelID(modelID) else {
            throw ValidationError(
                "'\(modelID)' is not a model id: ids are 1-200 of A-Z a-z 0-9 . _ -, start with a letter or digit and never contain '..' (see `atmo models --from URL`)"
            )
        }
        if let expectedSHA256, !Validation.isValidSHA256(expectedSHA256.lowercased()) {
            throw ValidationError("--sha256 takes 64 hex digits")
        }
    }

    func run() async throws {
        let configuration = store.nodeConfiguration()
        let logger = store.makeLogger(label: "atmo.pull", defaultLevel: .warning)
        try await pull(configuration, logger: logger)
    }

    /// The pull `run` starts (and `--into` may start again for another target).
    func pull(_ configuration: NodeConfiguration, logger: Logger) async throws {
        if isLlamaFarmModelPull { await pullModelIntoLlamaFarm(configuration, logger: logger) }
        if isSingleFileIntoPull { try await pullSingleFileInto(configuration, logger: logger) }
        if isRepositoryPull { await pullRepository(configuration, logger: logger) }
        let viaURL = peer?.contains("://") ?? false
        if !viaURL {
            guard destination == nil else {
                Failure(
                    message: "--to works with --from URL (a pull by id installs into the node's models folder)", exitCode: ExitStatus.usage
                ).exit(json: json)
            }
            if let node = await LocalNodeClient.find(stateDirectory: configuration.stateDirectory) {
                _ = await meshPlan(node)  // refuses at once what the mesh cannot give
                await pullThroughNode(node)
            }
            var inProcess = configuration
            inProcess.pull = commandPullConfiguration
            await pullInProcess(inProcess, logger: logger)
        }
        // From here on: a pull from the URLs only, in this process.
        let result = await pullFromURLs(
            into: LocalModelStore(directory: destination.map(absolute) ?? configuration.modelsDirectory), configuration, logger: logger)
        if json {
            printJSON(PullSummary(result))
        } else if result.alreadyInstalled {
            print("\(result.entry.modelID) is already installed at \(result.path) (sha256 \(result.entry.sha256))")
        } else {
            let rate = result.seconds > 0 ? Double(result.bytesTransferred) / result.seconds : 0
            let resumed = result.resumedBytes > 0 ? ", resumed after \(formatBytes(result.resumedBytes))" : ""
            print(
                "\(result.entry.modelID): \(formatBytes(result.entry.sizeBytes)) verified and installed at \(result.path) "
                    + "(\(String(format: "%.1f", result.seconds)) s, \(formatBytes(Int64(rate)))/s\(resumed))")
        }
    }

    /// What Ctrl-C says: what is kept (whole pieces only: a piece cut short is fetched again)
    /// and the command that resumes it.
    func interruptedMessage(lastProgress: PullProgress?, pieceSize: Int64) -> String {
        var command = "atmo pull \(modelID)"
        for peer in peers { command += " --from \(peer)" }
        if let stateDirectory = store.stateDirectory { command += " --state-dir \(stateDirectory)" }
        if let modelsDirectory = store.modelsDirectory { command += " --models-dir \(modelsDirectory)" }
        if let destination { command += " --to \(destination)" }
        guard let lastProgress, lastProgress.piecesDone > 0 else {
            return "interrupted before a whole piece arrived; run `\(command)` to start again"
        }
        // The pull's own piece size: the configured one unless its progress counts another
        // number of pieces (a swarm pull's are the manifest's, a power of two).
        var pulledPieceSize = pieceSize
        let (count, total) = (Int64(lastProgress.pieceCount), lastProgress.totalBytes)
        if count > 0, !((count - 1) * pieceSize < total && total <= count * pieceSize) {
            pulledPieceSize = 1
            while pulledPieceSize * count < total { pulledPieceSize *= 2 }
        }
        let kept = min(lastProgress.totalBytes, Int64(lastProgress.piecesDone) * pulledPieceSize)
        return "interrupted: the partial download of \(modelID) is kept (\(formatBytes(kept)) of "
            + "\(formatBytes(lastProgress.totalBytes)), \(lastProgress.piecesDone) of \(lastProgress.pieceCount) pieces); "
            + "run `\(command)` again to resume it"
    }

    /// Runs the pull, cancelling it on SIGINT/SIGTERM so it saves its resume state and tells
    /// the peer before exiting.
    static func runInterruptible(
        _ body: @escaping @Sendable () async throws(TransferError) -> PullResult
    ) async -> Result<PullResult, TransferError> {
        await withTaskGroup(of: Result<PullResult, TransferError>?.self) { group in
            group.addTask {
                do throws(TransferError) { return .success(try await body()) } catch { return .failure(error) }
            }
            group.addTask {
                for await _ in await UnixSignalsSequence(trapping: .sigint, .sigterm) {
                    return nil
                }
                return nil
            }
            // Whichever ends first: the pull, or a signal (then the pull is cancelled and
            // its cancellation error is the result).
            var outcome: Result<PullResult, TransferError>? = nil
            while let next = await group.next() {
                if let next {
                    outcome = next
                    group.cancelAll()
                    break
                }
                group.cancelAll()
            }
            while let next = await group.next() {
                if outcome == nil, let next { outcome = next }
            }
            return outcome ?? .failure(TransferError(.cancelled, "interrupted"))
        }
    }
}

/// The last line of `atmo pull --json`.
struct PullSummary: Encodable {
    var type = "pull_result"
    var modelID: String
    var path: String
    var sha256: String
    var sizeBytes: Int64
    var bytesTransferred: Int64
    var resumedBytes: Int64
    var alreadyInstalled: Bool
    var seconds: Double

    init(
        modelID: String, path: String, sha256: String, sizeBytes: Int64, bytesTransferred: Int64, resumedBytes: Int64,
        alreadyInstalled: Bool, seconds: Double
    ) {
        self.modelID = modelID
        self.path = path
        self.sha256 = sha256
        self.sizeBytes = sizeBytes
        self.bytesTransferred = bytesTransferred
        self.resumedBytes = resumedBytes
        self.alreadyInstalled = alreadyInstalled
        self.seconds = seconds
    }

    init(_ result: PullResult) {
        modelID = result.entry.modelID
        path = result.path
        sha256 = result.entry.sha256
        sizeBytes = result.entry.sizeBytes
        bytesTransferred = result.bytesTransferred
        resumedBytes = result.resumedBytes
        alreadyInstalled = result.alreadyInstalled
        seconds = result.seconds
    }

    enum CodingKeys: String, CodingKey {
        case type, path, sha256, seconds
        case modelID = "model_id", sizeBytes = "size_bytes", bytesTransferred = "bytes_transferred"
        case resumedBytes = "resumed_bytes", alreadyInstalled = "already_installed"
    }
}
