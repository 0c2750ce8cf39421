import ArgumentParser
import AsyncHTTPClient
import AtmoNode
import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// `atmo pull org/name [path] [--include G]... [--exclude G]... [--into hf|atmo|llamafarm]`:
/// a Hugging Face repository (one snapshot, all its files) pulled where tools find it.
extension PullCommand {
    /// `--into`: where a repository goes.
    enum RepositoryTarget: String, ExpressibleByArgument, CaseIterable {
        case hf, atmo, llamafarm
    }

    /// Whether this pull is of a repository: an `org/name` id, or any repository option.
    var isRepositoryPull: Bool {
        modelID.contains("/") || !include.isEmpty || !exclude.isEmpty || into != nil || repositoryFile != nil || filePath != nil
            || revision != nil
    }

    /// The repository's `model_id`: `org/name` becomes `org--name`; a model id stays.
    var repositoryModelID: String { modelID.replacingOccurrences(of: "/", with: "--") }

    var repositorySelection: RepositoryFileSelection {
        let paths = [repositoryFile, filePath].compactMap { $0 }
        return RepositoryFileSelection(include: include, exclude: exclude, paths: paths.isEmpty ? nil : paths)
    }

    func validateRepositoryPull() throws {
        guard HubCache.isValidRepositoryID(modelID) || Validation.isValidModelID(modelID) else {
            throw ValidationError("'\(modelID)' is neither a repository id (org/name) nor a model id")
        }
        guard Validation.isValidModelID(repositoryModelID) else { throw ValidationError("'\(modelID)' makes no valid model id") }
        try validateRevision()
        if repositoryFile != nil && filePath != nil { throw ValidationError("name the file once: PATH or --file PATH") }
        for path in [repositoryFile, filePath].compactMap({ $0 }) where !HubCache.isSafeRelativePath(path) {
            throw ValidationError("'\(path)' is not a path inside a repository")
        }
        if destination != nil { throw ValidationError("--to does not apply to a repository; use --into hf|atmo|llamafarm") }
        if detach && peers.contains(where: { $0.contains("://") }) {
            throw ValidationError("--detach queues the pull in the running node; it does not take --from URL")
        }
    }

    /// Where the files go.
    func repositoryDestination(_ configuration: NodeConfiguration) -> RepositoryDestination {
        let environment = ProcessInfo.processInfo.environment
        switch into ?? .hf {
        case .hf: return .huggingFace(HubCache(root: HubCache.defaultRoot(environment: environment, home: NSHomeDirectory())))
        case .atmo: return .store
        case .llamafarm:
            return .llamaFarm(root: configuration.scanRoots.llamaFarmModels?.path ?? NSHomeDirectory() + "/.llamafarm/models")
        }
    }

    /// The repository pull: from `--from URL`s, else from the mesh the running node sees,
    /// else from the mesh an in-process node finds.
    func pullRepository(_ configuration: NodeConfiguration, logger: Logger) async -> Never {
        let destination = repositoryDestination(configuration)
        let urls = peers.filter { $0.contains("://") }
        if !urls.isEmpty {
            // From every `--from` whose catalogs could be read; those that cannot are skipped.
            let (entry, _, _, answered) = await repositoryFromCatalogs(urls: urls, logger: logger)
            await pullRepositoryHere(
                entry, sources: answered.map { PullSource(baseURL: $0) }, destination: destination, configuration, logger: logger)
        }
        if let node = await LocalNodeClient.find(stateDirectory: configuration.stateDirectory) {
            if detach { await queueRepositoryInNode(node, destination: destination) }
            await pullRepositoryThroughNode(node, destination: destination)
            // An older node without the route: pulled here, from the providers it knows.
            let (entry, sources, providers, _) = await repositoryFromCatalogs(
                urls: [node.file.baseURL], excludingNode: node.file.nodeID, logger: logger)
            await pullRepositoryHere(entry, sources: sources, providers: providers, destination: destination, configuration, logger: logger)
        }
        if detach {
            Failure(
                message: "--detach queues the pull in the running node, and none runs here (start `atmo serve`)", exitCode: ExitStatus.usage
            )
            .exit(json: json, code: "no_node")
        }
        await pullRepositoryInProcess(configuration, destination: destination, logger: logger)
    }

    /// The repository as the catalogs `urls` know them (a node's `/v1/catalogs`: its own and
    /// those it learned), with the HTTP endpoints of the nodes offering that commit and
    /// their own entries of it by node id: a commit asked for by one id (`org--tiny`) may be
    /// offered by another node under another (`org--tiny-1a2b3c4d`, a tag beside its `main`).
    /// `answered`: the `urls` whose catalogs were read.
    ///
    /// Each URL's catalogs are read within the bound of a whole mesh's catalogs
    /// (`PeerClient.catalogBundle`, 64 MiB). A URL that cannot be read (down, not a node,
    /// an answer too large or unreadable) is skipped, as a single-file pull skips a bad
    /// source: one dead or hostile `--from` cannot deny what another offers. Exits when
    /// none can be read, or none offers the repository, naming each URL's problem.
    func repositoryFromCatalogs(
        urls: [String], excludingNode: String? = nil, logger: Logger
    ) async -> (RepositoryEntry, [PullSource], [String: RepositoryEntry], answered: [String]) {
        var found: [(entry: RepositoryEntry, source: PullSource)] = []
        var refused: [String] = []
        var unreadable: [(url: String, error: TransferError)] = []
        var refusedCatalogs: [String] = []
        var answered: [String] = []
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(3), read: .seconds(15))
        for url in urls {
            // One at a time: at most one answer (64 MiB at most) is held at once.
            let read: Result<HTTPAPI.CatalogBundle, TransferError>
            do {
                read = try await HTTPClient.withHTTPClient(configuration: configuration) { http in
                    do throws(TransferError) {
                        return .success(try await PeerClient(baseURL: url, http: http, logger: logger).catalogBundle())
                    } catch {
                        return .failure(error)
                    }
                }
            } catch {
                read = .failure(TransferError(.internalError, "the HTTP client failed: \(error)"))
            }
            let bundle: HTTPAPI.CatalogBundle
            switch read {
            case .success(let read): bundle = read
            case .failure(let error):
                unreadable.append((url, error))
                continue
            }
            answered.append(url)
            if let first = bundle.rejected.first {
                refusedCatalogs.append("\(bundle.rejected.count) catalogs of \(url) were refused (\(first))")
            }
            for catalog in bundle.catalogs where catalog.nodeID != excludingNode {
                // Entries this node refused (a file id not its own, a hostile path...): said if nothing matches.
                refused += catalog.rejectedModels.filter { $0.message.contains("repositories") }.map { "\(url): \($0.message)" }
                let http = urls.count == 1 && excludingNode == nil ? url : catalog.transferEndpoints.http
                guard let http else { continue }
                for entry in catalog.repositories { found.append((entry, PullSource(baseURL: http, nodeID: catalog.nodeID))) }
            }
        }
        // Each message names its URL (`PeerClient.catalogBundle`), unless a status answer's.
        let problems = unreadable.map { $0.error.message.contains($0.url) ? $0.error.message : "\($0.url): \($0.error.message)" }
        if answered.isEmpty {
            let message = "could not read the catalogs of any source: " + problems.joined(separator: "; ")
            Failure(message: message, exitCode: ExitStatus.unreachable).exit(json: json, code: "peer_unreachable")
        }
        // The commits the id names, each with every node offering it (under any id).
        let commit = { (entry: RepositoryEntry) in entry.repoID + "@" + entry.revision }
        let (match, id) = (revisionMatch, repositoryModelID)
        let named = Set(found.filter { match.isAsked($0.entry) && match.isAt($0.entry) }.map { commit($0.entry) })
        let commits = Dictionary(grouping: found.filter { named.contains(commit($0.entry)) }, by: { commit($0.entry) })
        // The commit most nodes offer; its entry under the id asked for with the most files
        // (a node that pulled some files offers only those).
        guard let best = commits.values.max(by: { $0.count < $1.count }),
            let entry = best.map(\.entry).filter(match.isAsked).max(by: {
                ($0.modelID == id ? 1 : 0, $0.files.count) < ($1.modelID == id ? 1 : 0, $1.files.count)
            })
        else {
            if revision != nil { noSuchRevision(found.map(\.entry).filter(match.isAsked)) }
            let refusals = refused.prefix(3).joined(separator: "; ")
            var why = refused.isEmpty ? "" : "; \(refused.count) repository entries were refused as invalid: \(refusals)"
            // What was not seen at all: catalogs refused whole, `--from`s that could not be read.
            for problem in refusedCatalogs.prefix(3) { why += "; " + problem }
            if !problems.isEmpty { why += "; could not read the catalogs of: " + problems.prefix(3).joined(separator: "; ") }
            let message = "no node of the mesh offers the repository \(modelID) (see `atmo models`)\(why)"
            Failure(message: message, exitCode: ExitStatus.notFound).exit(json: json, code: "not_offered")
        }
        let providers = Dictionary(
            best.compactMap { found in found.source.nodeID.map { ($0, found.entry) } }, uniquingKeysWith: { a, _ in a })
        if !unreadable.isEmpty {
            logger.warning("skipped the sources whose catalogs cannot be read: \(problems.joined(separator: "; "))")
        }
        return (entry, best.map(\.source), providers, answered)
    }

    /// Pulls in this process with its own engine (a running node's mesh view, or URLs).
    func pullRepositoryHere(
        _ entry: RepositoryEntry, sources: [PullSource], providers: [String: RepositoryEntry] = [:], destination: RepositoryDestination,
        _ configuration: NodeConfiguration, logger: Logger
    ) async -> Never {
        let bar = ProgressBar(isTerminal: !json && isatty(STDERR_FILENO) == 1)
        let (json, selection) = (self.json, repositorySelection)
        let outcome: Result<InstalledRepository, TransferError>
        do {
            outcome = try await withInProcessEngine(configuration, logger: logger) { engine, requesterNodeID in
                let puller = RepositoryPuller(
                    engine: engine, store: LocalModelStore(directory: configuration.modelsDirectory), requesterNodeID: requesterNodeID,
                    logger: logger)
                let requestID = UUID().uuidString.lowercased()
                return await Self.runRepositoryInterruptible { () async throws(TransferError) -> InstalledRepository in
                    try await puller.pull(entry, from: sources, providers: providers, files: selection, into: destination) { progress in
                        bar.update(progress.asPullProgress(requestID: requestID)) { shown in if json { printJSON(shown.message) } }
                    }
                }
            }
        } catch {
            Failure(error).exit(json: json)
        }
        bar.finish()
        reportRepository(outcome)
    }

    /// No node runs here: one runs in this process (finding peers on the LAN and in
    /// config.json) for the length of the pull, offering nothing.
    func pullRepositoryInProcess(_ base: NodeConfiguration, destination: RepositoryDestination, logger: Logger) async -> Never {
        let node = transientNode(base, logger: logger)
        let group = ServiceGroup(services: [node], gracefulShutdownSignals: [], logger: logger)
        let (json, selection, match) = (self.json, repositorySelection, revisionMatch)
        let bar = ProgressBar(isTerminal: !json && isatty(STDERR_FILENO) == 1)
        let outcome: Result<InstalledRepository, TransferError> = await withTaskGroup(of: Result<InstalledRepository, TransferError>?.self)
        { tasks in
            tasks.addTask {
                try? await group.run()
                return nil
            }
            tasks.addTask {
                let deadline = ContinuousClock.now + .seconds(Self.inProcessDiscoverySeconds)
                var found = Self.offered(by: node, match)
                while found == nil, ContinuousClock.now < deadline {
                    try? await Task.sleep(for: .milliseconds(200))
                    found = Self.offered(by: node, match)
                }
                guard let found else {
                    let searched = "no node runs here; searched the LAN and config.json peers for \(Int(Self.inProcessDiscoverySeconds)) s"
                    return .failure(Self.notFound(by: node, match, searched: searched))
                }
                let requestID = UUID().uuidString.lowercased()
                return await Self.runRepositoryInterruptible { () async throws(TransferError) -> InstalledRepository in
                    try await node.pullRepository(found, files: selection, into: destination) { progress in
                        bar.update(progress.asPullProgress(requestID: requestID)) { shown in if json { printJSON(shown.message) } }
                    }
                }
            }
            var result: Result<InstalledRepository, TransferError>? = nil
            while let next = await tasks.next() {
                if let next {
                    result = next
                    break
                }
            }
            await group.triggerGracefulShutdown()
            await tasks.waitForAll()
            return result ?? .failure(TransferError(.localError, "the node stopped before the pull ended"))
        }
        bar.finish()
        reportRepository(outcome)
    }

    /// Runs the pull, cancelling it on SIGINT/SIGTERM (partials and files done are kept).
    static func runRepositoryInterruptible(
        _ body: @escaping @Sendable () async throws(TransferError) -> InstalledRepository
    ) async -> Result<InstalledRepository, TransferError> {
        await withTaskGroup(of: Result<InstalledRepository, TransferError>?.self) { group in
            group.addTask {
                do throws(TransferError) { return .success(try await body()) } catch { return .failure(error) }
            }
            group.addTask {
                for await _ in await UnixSignalsSequence(trapping: .sigint, .sigterm) { return nil }
                return nil
            }
            var outcome: Result<InstalledRepository, TransferError>? = nil
            while let next = await group.next() {
                group.cancelAll()
                if let next, outcome == nil { outcome = next }
            }
            return outcome ?? .failure(TransferError(.cancelled, "interrupted"))
        }
    }

    /// Prints the result (or the failure) and exits.
    func reportRepository(_ outcome: Result<InstalledRepository, TransferError>) -> Never {
        switch outcome {
        case .success(let done):
            if json {
                printJSON(done.summary)
            } else {
                let size = formatBytes(done.files.reduce(0) { $0 + $1.sizeBytes })
                let fetched = done.files.filter { $0.outcome == .fetched }.count
                print(
                    "\(done.entry.repoID)@\(done.entry.revision.prefix(12)): \(done.files.count) files (\(size)) installed at \(done.path)"
                        + " (\(fetched) fetched, \(formatBytes(done.bytesTransferred)) transferred, \(String(format: "%.1f", done.seconds)) s)"
                )
            }
            Foundation.exit(ExitStatus.success)
        case .failure(let error):
            let message =
                error.code == .cancelled
                ? "interrupted: the files installed and the partial of the current one are kept; run `atmo pull \(modelID)` again to resume"
                : error.message
            Failure(message: message, exitCode: error.exitCode).exit(json: json, code: error.code.description)
        }
    }
}
