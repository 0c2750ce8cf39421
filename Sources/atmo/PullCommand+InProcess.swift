import AtmoMesh
import AtmoNode
import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

extension PullCommand {
    /// How long a pull with no node running looks for the model in the mesh.
    static let inProcessDiscoverySeconds = 10.0
    /// A node for the length of one pull in this process, when none runs here: on loopback,
    /// port chosen by the OS, offering nothing, with config.json's peers and this command's
    /// storage limit. Exits with the error when it cannot be made.
    func transientNode(_ base: NodeConfiguration, logger: Logger) -> MeshNode {
        var configuration = base
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.mesh.offerToMesh = false
        configuration.isTransient = true
        if let file = try? NodeConfigFile.load(path: NodeConfigFile.defaultPath(stateDirectory: configuration.stateDirectory)) {
            file.apply(to: &configuration)
        }
        storageLimit.apply(to: &configuration.storage)
        do {
            return try MeshNode(configuration: configuration, logger: logger)
        } catch {
            Failure(error).exit(json: json)
        }
    }

    /// No node runs on this state folder: run one in this process for the length of the
    /// pull. It finds peers (LAN, `config.json`), learns their catalogs and downloads with
    /// the same engine and queue as `atmo serve`, but offers nothing to the mesh. Ctrl-C
    /// stops it with the partial kept.
    func pullInProcess(_ base: NodeConfiguration, logger: Logger) async -> Never {
        let node = transientNode(base, logger: logger)
        let group = ServiceGroup(services: [node], gracefulShutdownSignals: [], logger: logger)
        let outcome: Failure? = await withTaskGroup(of: Failure??.self) { tasks in
            tasks.addTask {
                do { try await group.run() } catch { return Failure(error, context: "the node stopped") }
                return nil
            }
            tasks.addTask { await .some(self.downloadInProcess(node)) }
            let first = await tasks.next() ?? nil
            await group.triggerGracefulShutdown()
            await tasks.waitForAll()
            return first ?? nil
        }
        if let outcome { outcome.exit(json: json) }
        Foundation.exit(ExitStatus.success)
    }

    /// Waits for the model to show up in the mesh, downloads it, shows its progress.
    /// Returns nil on success, else the failure to report. `completed` (the path of the
    /// node's copy, and whether this pull fetched it) replaces the report of the install.
    func downloadInProcess(_ node: MeshNode, completed: (@Sendable (String, Bool) -> Failure?)? = nil) async -> Failure? {
        let deadline = ContinuousClock.now + .seconds(Self.inProcessDiscoverySeconds)
        var versions = node.models(id: modelID).filter { !$0.providers.isEmpty }
        while versions.isEmpty, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(200))
            versions = node.models(id: modelID).filter { !$0.providers.isEmpty }
        }
        switch SourcePlanner.plan(modelID: modelID, versions: versions, sha256: expectedSHA256, preferredNode: peer) {
        case .pull: break
        case .alreadyHere:
            // Asked for again, this node's copy counts as used.
            _ = await node.markUsed(modelID: modelID)
            if let completed {
                let store = LocalModelStore(directory: node.configuration.modelsDirectory)
                guard let model = store.installed(modelID: modelID) else {
                    return Failure(
                        message: "\(modelID) is on this node but not in its store", exitCode: ExitStatus.notFound, code: "not_offered")
                }
                return completed(store.filePath(of: model), false)
            }
            return nil
        case .chooseVersion(let message): return Failure(message: message, exitCode: ExitStatus.usage, code: "ambiguous_version")
        case .refuse(let code, let message):
            let hint = " (no node runs here; searched the LAN and config.json peers for \(Int(Self.inProcessDiscoverySeconds)) s)"
            return Failure(message: message + hint, exitCode: ErrorMapping.exitCode(for: code), code: code.description)
        }
        let requestID: String
        do {
            requestID = try node.download(modelID: modelID, sha256: expectedSHA256, preferredNode: peer)
        } catch {
            return Failure(error)
        }
        let bar = ProgressBar(isTerminal: !json && isatty(STDERR_FILENO) == 1)
        defer { bar.finish() }
        let json = self.json
        let modelID = self.modelID
        return await withTaskGroup(of: Failure??.self) { tasks in
            tasks.addTask {
                for await update in node.downloadUpdates where update.requestID == requestID {
                    switch update.state {
                    case .downloading(let done, let total, let rate, let peer):
                        let progress = PullProgress(
                            requestID: requestID, modelID: modelID, phase: .downloading, bytesDone: done, totalBytes: total,
                            bytesPerSecond: rate, peer: peer ?? "")
                        bar.update(progress) { shown in if json { printJSON(shown.message) } }
                    case .completed(let path):
                        if let completed { return .some(completed(path, true)) }
                        let entry = node.models(id: modelID).first?.entry
                        if json {
                            printJSON(
                                PullSummary(
                                    modelID: modelID, path: path, sha256: entry?.sha256 ?? "", sizeBytes: entry?.sizeBytes ?? 0,
                                    bytesTransferred: entry?.sizeBytes ?? 0, resumedBytes: 0, alreadyInstalled: false, seconds: 0))
                        } else {
                            print("\(modelID): verified and installed at \(path)")
                        }
                        return .some(nil)
                    case .failed(let reason, let code):
                        let known = TransferError.Code(description: code) ?? .localError
                        return .some(Failure(message: reason, exitCode: ErrorMapping.exitCode(for: known), code: known.description))
                    case .cancelled:
                        return .some(
                            Failure(
                                message: "interrupted: the partial download of \(modelID) is kept; run the pull again to resume it",
                                exitCode: ExitStatus.interrupted, code: "cancelled"))
                    case .queued, .waiting, .unknown:
                        if let note = update.state.wireState.note(modelID: modelID) { bar.note(note) }
                    default:
                        continue
                    }
                }
                return .some(Failure(message: "the node stopped before the download ended", exitCode: ExitStatus.failure))
            }
            tasks.addTask {
                for await _ in await UnixSignalsSequence(trapping: .sigint, .sigterm) {
                    node.cancel(requestID: requestID)
                    return nil
                }
                return nil
            }
            while let next = await tasks.next() {
                if let result = next {
                    tasks.cancelAll()
                    return result
                }
            }
            return nil
        }
    }
}
