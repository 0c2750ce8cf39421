import AtmoNode
import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation
import Logging
import ServiceLifecycle

/// `atmo pull ID --into llamafarm` for a single-file model: downloaded like any pull (by the
/// running node, else by one in this process; from `--from URL`s in this process, see
/// PullCommand+LlamaFarmURLs.swift), then installed into LlamaFarm's models folder
/// where the provider's LlamaFarm had it (`LlamaFarmLayout`), hard-linked from the store.
/// A model fetched for LlamaFarm leaves the store (its bytes live in LlamaFarm's folder, which
/// the node scans); one the store held already stays.
extension PullCommand {
    /// `--into llamafarm` with a plain model id and no repository option: maybe a single-file
    /// model (a repository of that id is pulled by `pullRepository`).
    var isLlamaFarmModelPull: Bool {
        into == .llamafarm && !modelID.contains("/") && include.isEmpty && exclude.isEmpty && repositoryFile == nil
            && filePath == nil
    }

    /// LlamaFarm's models folder: the one the scanner reads (`~/.llamafarm/models`).
    func llamaFarmRoot(_ configuration: NodeConfiguration) -> String {
        if case .llamaFarm(let root) = repositoryDestination(configuration) { return root }
        return NSHomeDirectory() + "/.llamafarm/models"
    }

    /// Pulls the single-file model `modelID` into LlamaFarm's folder and exits; returns only
    /// when the mesh offers no such model (then it may be a repository).
    func pullModelIntoLlamaFarm(_ configuration: NodeConfiguration, logger: Logger) async {
        if let expectedSHA256, !Validation.isValidSHA256(expectedSHA256.lowercased()) {
            Failure(message: "--sha256 takes 64 hex digits", exitCode: ExitStatus.usage).exit(json: json)
        }
        if peers.contains(where: { $0.contains("://") }) { return await pullModelIntoLlamaFarmFromURLs(configuration, logger: logger) }
        let root = llamaFarmRoot(configuration)
        if let node = await LocalNodeClient.find(stateDirectory: configuration.stateDirectory) {
            let versions: [MeshAPI.Model]
            do {
                versions = try await node.get(MeshAPI.modelsPath + "/" + modelID, as: MeshAPI.ModelList.self).models
            } catch let error as LocalNodeError where error.status == 404 {
                return
            } catch {
                Failure(message: "the local node did not answer: \(error)", exitCode: ExitStatus.unreachable).exit(
                    json: json, code: "no_node")
            }
            if versions.isEmpty { return }
            let store = LocalModelStore(directory: configuration.modelsDirectory)
            switch SourcePlanner.plan(modelID: modelID, versions: versions, sha256: expectedSHA256, preferredNode: peer) {
            case .pull(let plan):
                alreadyInLlamaFarm(plan.entry, root: root)
                if detach {
                    // The node's own download ends in its store: LlamaFarm's folder would never see it.
                    Failure(
                        message: "--detach leaves the install to the node, which puts a single-file model into its store only; "
                            + "run the pull without --detach to install \(modelID) into LlamaFarm's folder", exitCode: ExitStatus.usage
                    ).exit(json: json, code: "usage")
                }
                await pullThroughNode(node) { final in
                    let entry = versions.first { $0.entry.sha256 == final.sha256 }?.entry ?? plan.entry
                    let fetched = (final.bytesTransferred ?? 0) > 0
                    self.finishLlamaFarm(
                        entry, from: final.path ?? "", root: root, store: fetched ? store : nil, downloadedFrom: final.peer
                    )?.exit(json: self.json)
                    Foundation.exit(ExitStatus.success)
                }
            case .alreadyHere:
                guard let model = store.installed(modelID: modelID),
                    let entry = versions.first(where: { $0.entry.sha256 == model.sha256 })?.entry
                else {
                    Failure(message: "\(modelID) is on this node, but not in its store", exitCode: ExitStatus.notFound).exit(
                        json: json, code: "not_offered")
                }
                finishLlamaFarm(entry, from: store.filePath(of: model), root: root, store: nil, downloadedFrom: nil)?.exit(json: json)
                Foundation.exit(ExitStatus.success)
            case .chooseVersion(let message):
                Failure(message: message, exitCode: ExitStatus.usage).exit(json: json, code: "ambiguous_version")
            case .refuse(let code, let message):
                Failure(message: message, exitCode: ErrorMapping.exitCode(for: code)).exit(json: json, code: code.description)
            }
        }
        await pullModelIntoLlamaFarmInProcess(configuration, root: root, logger: logger)
    }

    /// No node runs here: one runs in this process for the pull (as `pullInProcess`). Returns
    /// when the mesh offers a repository, not a model, of that id.
    func pullModelIntoLlamaFarmInProcess(_ base: NodeConfiguration, root: String, logger: Logger) async {
        if detach {
            Failure(
                message: "--detach queues the pull in the running node, and none runs here (start `atmo serve`)", exitCode: ExitStatus.usage
            )
            .exit(json: json, code: "no_node")
        }
        let node = transientNode(base, logger: logger)
        let group = ServiceGroup(services: [node], gracefulShutdownSignals: [], logger: logger)
        let id = modelID
        let outcome: Failure?? = await withTaskGroup(of: Failure???.self) { tasks in
            tasks.addTask {
                do { try await group.run() } catch { return .some(.some(Failure(error, context: "the node stopped"))) }
                return nil
            }
            tasks.addTask {
                let deadline = ContinuousClock.now + .seconds(Self.inProcessDiscoverySeconds)
                while node.models(id: id).allSatisfy({ $0.providers.isEmpty }), ContinuousClock.now < deadline {
                    if !node.repositories(id: id).isEmpty { return .some(.none) }
                    try? await Task.sleep(for: .milliseconds(200))
                }
                let offered = node.models(id: id).filter { !$0.providers.isEmpty }.map(\.entry)
                    .filter { self.expectedSHA256 == nil || $0.sha256 == self.expectedSHA256?.lowercased() }
                if offered.count == 1, let path = LlamaFarmInstaller(root: root).installedAlready(offered[0]) {
                    self.reportAlreadyInLlamaFarm(offered[0], path: path)
                    return .some(.some(nil))
                }
                let store = LocalModelStore(directory: node.configuration.modelsDirectory)
                let failure = await self.downloadInProcess(node) { path, fetched in
                    let sha256 = store.installed(modelID: id)?.sha256
                    guard let entry = node.models(id: id).first(where: { $0.entry.sha256 == sha256 })?.entry else {
                        return Failure(message: "the mesh no longer lists \(id)", exitCode: ExitStatus.notFound, code: "not_offered")
                    }
                    return self.finishLlamaFarm(entry, from: path, root: root, store: fetched ? store : nil, downloadedFrom: nil)
                }
                return .some(.some(failure))
            }
            let first = await tasks.next() ?? nil
            await group.triggerGracefulShutdown()
            await tasks.waitForAll()
            return first ?? .some(Failure(message: "the node stopped before the pull ended", exitCode: ExitStatus.failure))
        }
        // A repository of that id: pulled by `pullRepository`.
        guard let outcome else { return }
        if let outcome { outcome.exit(json: json) }
        Foundation.exit(ExitStatus.success)
    }

    /// Exits when `entry` is in LlamaFarm's folder already (same size and SHA-256): nothing to fetch.
    func alreadyInLlamaFarm(_ entry: ModelEntry, root: String) {
        guard let path = LlamaFarmInstaller(root: root).installedAlready(entry) else { return }
        reportAlreadyInLlamaFarm(entry, path: path)
        Foundation.exit(ExitStatus.success)
    }

    func reportAlreadyInLlamaFarm(_ entry: ModelEntry, path: String) {
        if json {
            printJSON(
                PullSummary(
                    modelID: entry.modelID, path: path, sha256: entry.sha256, sizeBytes: entry.sizeBytes, bytesTransferred: 0,
                    resumedBytes: 0, alreadyInstalled: true, seconds: 0))
        } else {
            print("\(entry.modelID) is already installed for LlamaFarm at \(path) (sha256 \(entry.sha256))")
        }
    }

    /// Installs the node's verified copy at `path` into LlamaFarm's folder and reports it;
    /// with `store`, then drops that copy from the store (fetched for LlamaFarm only).
    /// Returns the failure to report, if any.
    func finishLlamaFarm(_ entry: ModelEntry, from path: String, root: String, store: LocalModelStore?, downloadedFrom: String?)
        -> Failure?
    {
        let done: LlamaFarmInstall
        do {
            done = try LlamaFarmInstaller(root: root).install(entry, from: path, sha256Verified: true, downloadedFrom: downloadedFrom)
        } catch {
            return Failure(error, context: "could not install \(entry.modelID) into \(root)")
        }
        if let store, let model = store.installed(modelID: entry.modelID), model.sha256 == entry.sha256, store.filePath(of: model) == path {
            try? store.remove(modelID: entry.modelID)
        }
        if json {
            printJSON(
                PullSummary(
                    modelID: entry.modelID, path: done.path, sha256: entry.sha256, sizeBytes: entry.sizeBytes,
                    bytesTransferred: store == nil ? 0 : entry.sizeBytes, resumedBytes: 0, alreadyInstalled: done.alreadyInstalled,
                    seconds: 0))
        } else {
            let how = done.alreadyInstalled ? "already installed" : done.linked ? "linked from the store" : "copied"
            print("\(entry.modelID): \(formatBytes(entry.sizeBytes)) verified and installed for LlamaFarm at \(done.path) (\(how))")
        }
        return nil
    }
}
