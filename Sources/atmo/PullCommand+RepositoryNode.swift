import AsyncHTTPClient
import AtmoNode
import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation
import NIOCore
import NIOFoundationCompat
import UnixSignals

extension PullCommand {
    /// The repository pull run by the running node (`POST /v1/repository-pulls`), its
    /// events shown as they come. Returns only when the node has no such route (an older
    /// node): the caller then pulls in this process. Ctrl-C ends the request, which stops
    /// the node's pull (the files done and the current partial stay).
    func pullRepositoryThroughNode(_ node: LocalNodeClient, destination: RepositoryDestination) async {
        let pinned = await pinnedRepository(node)
        var start = RepositoryPullAPI.Start(
            modelID: pinned.modelID, revision: pinned.revision, include: include, exclude: exclude, paths: repositorySelection.paths,
            into: destination.name)
        start.priority = priority
        switch destination {
        case .huggingFace(let cache): start.hubCache = cache.root
        case .llamaFarm(let root): start.llamaFarmRoot = root
        case .store: break
        }
        var request = HTTPClientRequest(url: node.file.baseURL + RepositoryPullAPI.path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        do {
            request.body = .bytes(ByteBuffer(data: try WireCoding.encode(start)))
        } catch {
            Failure(error).exit(json: json)
        }
        let bar = ProgressBar(isTerminal: !json && isatty(STDERR_FILENO) == 1)
        let (json, prepared) = (self.json, request)
        let requestID = UUID().uuidString.lowercased()
        // A long re-hash of a large file sends no event for a while; a node that dies closes the connection.
        let configuration = LocalNodeClient.httpConfiguration(read: .hours(1))
        let outcome: NodeOutcome = await withTaskGroup(of: NodeOutcome?.self) { group in
            group.addTask {
                do {
                    return try await HTTPClient.withHTTPClient(configuration: configuration) { http in
                        let response = try await http.execute(prepared, timeout: .hours(24 * 365))
                        if response.status == .notFound || response.status == .methodNotAllowed { return .noRoute }
                        guard response.status == .ok else {
                            let body = try await response.body.collect(upTo: 64 * 1024)
                            return .failed(
                                RepositoryPullAPI.Failure(error: "the node refused: \(String(buffer: body))", code: "node_refused"))
                        }
                        return try await Self.follow(response.body) { progress in
                            bar.update(RepositoryPullProgress(progress).asPullProgress(requestID: requestID)) { shown in
                                if json { printJSON(shown.message) }
                            }
                        }
                    }
                } catch {
                    return Task.isCancelled
                        ? nil : .failed(RepositoryPullAPI.Failure(error: "lost the connection to the node: \(error)", code: "no_node"))
                }
            }
            group.addTask {
                for await _ in await UnixSignalsSequence(trapping: .sigint, .sigterm) { return .interrupted }
                return nil
            }
            var outcome: NodeOutcome = .interrupted
            while let next = await group.next() {
                group.cancelAll()
                if let next {
                    outcome = next
                    break
                }
            }
            return outcome
        }
        bar.finish()
        switch outcome {
        case .noRoute:
            return
        case .done(let result):
            if json {
                printJSON(result)
            } else {
                let size = formatBytes(result.files.reduce(0) { $0 + $1.sizeBytes })
                let fetched = result.files.filter { $0.outcome == RepositoryFileOutcome.fetched.rawValue }.count
                print(
                    "\(result.repoID)@\(result.revision.prefix(12)): \(result.files.count) files (\(size)) installed at \(result.path)"
                        + " by the node (\(fetched) fetched, \(formatBytes(result.bytesTransferred)) transferred, \(String(format: "%.1f", result.seconds)) s)"
                )
            }
            Foundation.exit(ExitStatus.success)
        case .failed(let failure):
            let code = TransferError.Code(description: failure.code)
            Failure(message: failure.error, exitCode: code.map(ErrorMapping.exitCode(for:)) ?? ExitStatus.failure).exit(
                json: json, code: failure.code)
        case .interrupted:
            Failure(
                message:
                    "interrupted: the files installed and the partial of the current one are kept; run `atmo pull \(modelID)` again to resume",
                exitCode: ExitStatus.interrupted
            ).exit(json: json, code: "cancelled")
        }
    }

    /// `--detach`: the repository pull queued in the running node (`POST /v1/downloads` with
    /// `kind: repository`), which runs it, resumes it after a restart, and lists it in
    /// `atmo downloads`; the command returns at once.
    func queueRepositoryInNode(_ node: LocalNodeClient, destination: RepositoryDestination) async -> Never {
        let pinned = await pinnedRepository(node)
        var choices = DownloadAPI.Repository(
            revision: pinned.revision, include: include, exclude: exclude, files: repositorySelection.paths, into: destination.name)
        switch destination {
        case .huggingFace(let cache): choices.hubCache = cache.root
        case .llamaFarm(let root): choices.llamaFarmRoot = root
        case .store: break
        }
        let start = DownloadAPI.Start(modelID: pinned.modelID, priority: priority, kind: .repository, repository: choices)
        let requestID: String
        do {
            requestID = try await node.post(DownloadAPI.path, start, as: DownloadAPI.Started.self).requestID
        } catch {
            Failure(error, context: "the local node refused the download").exit(json: json, code: "node_refused")
        }
        if json {
            printJSON(DownloadAPI.Started(requestID: requestID))
        } else {
            print(
                "downloading \(modelID) in the node (request \(requestID)); `atmo downloads` shows it, "
                    + "`atmo downloads pause \(modelID)` pauses it, `atmo cancel \(modelID)` stops it")
        }
        Foundation.exit(ExitStatus.success)
    }

    enum NodeOutcome: Sendable {
        case noRoute
        case done(RepositoryPullAPI.Result)
        case failed(RepositoryPullAPI.Failure)
        case interrupted
    }

    /// Reads the event stream until its `result` or `error` event.
    static func follow(
        _ body: HTTPClientResponse.Body, progress: @Sendable (RepositoryPullAPI.Progress) -> Void
    ) async throws -> NodeOutcome {
        var pending: [UInt8] = []
        var event = ""
        for try await chunk in body {
            pending.append(contentsOf: chunk.readableBytesView)
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                if line.hasPrefix("event: ") {
                    event = String(line.dropFirst(7))
                    continue
                }
                guard line.hasPrefix("data: ") else { continue }
                let data = Data(line.dropFirst(6).utf8)
                switch event {
                case "progress":
                    if let report = try? WireCoding.decode(RepositoryPullAPI.Progress.self, from: data) { progress(report) }
                case "result":
                    return .done(try WireCoding.decode(RepositoryPullAPI.Result.self, from: data))
                case "error":
                    return .failed(try WireCoding.decode(RepositoryPullAPI.Failure.self, from: data))
                default:
                    continue
                }
            }
            if pending.count > 1 << 20 { pending.removeAll() }
        }
        return .failed(RepositoryPullAPI.Failure(error: "the node ended the pull without a result", code: "local_error"))
    }
}
