import AtmoNode
import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation
import Logging

/// `atmo pull ID --from URL...`: the pull from those URLs only, in this process with its own
/// engine (whether or not a node runs here: a running node's downloads name nodes of its mesh,
/// not URLs), into `store`. Shared by the plain pull and `--into llamafarm`.
extension PullCommand {
    /// Pulls `modelID` from the `--from` URLs into `store`, showing progress; returns the
    /// verified result, or exits with the failure (Ctrl-C: the partial is kept, exit 130).
    func pullFromURLs(into store: LocalModelStore, _ configuration: NodeConfiguration, logger: Logger) async -> PullResult {
        let pullConfiguration = commandPullConfiguration
        let json = self.json
        let bar = ProgressBar(isTerminal: !json && isatty(STDERR_FILENO) == 1)
        let outcome: Result<PullResult, TransferError>
        do {
            outcome = try await withInProcessEngine(configuration, logger: logger) { engine, requesterNodeID in
                let request = PullRequest(
                    modelID: modelID, sources: peers.map { PullSource(baseURL: $0) }, destination: store,
                    expectedSHA256: expectedSHA256, requesterNodeID: requesterNodeID)
                return await Self.runInterruptible { () async throws(TransferError) -> PullResult in
                    try await engine.pull(request) { progress in
                        // The bar keeps what it shows monotonic; JSON lines get the same guarantee.
                        bar.update(progress) { shown in
                            if json { printJSON(shown.message) }
                        }
                    }
                }
            }
        } catch {
            bar.finish()
            Failure(error).exit(json: json)
        }
        bar.finish()
        switch outcome {
        case .success(let result):
            return result
        case .failure(let error):
            let message =
                error.code == .cancelled
                ? interruptedMessage(lastProgress: bar.lastShown, pieceSize: pullConfiguration.pieceSize) : error.message
            Failure(message: message, exitCode: error.exitCode).exit(json: json, code: error.code.description)
        }
    }
}
