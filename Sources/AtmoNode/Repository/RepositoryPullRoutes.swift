import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `POST /v1/repository-pulls` (`RepositoryPullAPI`): a thin layer over the node's download
/// queue for `atmo pull org/name`. It waits a while for the mesh to offer the repository
/// (else `not_offered` at once), queues a repository download (`kind: repository`: durable,
/// resumed after a restart, paused and cancelled like any), and streams that download's
/// progress, then its result, to the local client. The client going away cancels a download
/// it started (files done and the current file's partial stay); `atmo pull --detach` queues
/// with `POST /v1/downloads` instead.
struct RepositoryPullRoutes: Sendable {
    let node: MeshNode

    /// How long a request waits for the mesh to offer the repository (a node that just
    /// started knows no catalogs yet).
    static let waitForProviders: Duration = .seconds(10)

    func register(on router: Router<ProviderRequestContext>) {
        router.post(.init(RepositoryPullAPI.path)) { request, context in
            try ProviderRoutes.requireLocal(context)
            let body: ByteBuffer
            do {
                // As large as the queue's own requests: `--files` may name up to 10,000 paths.
                body = try await request.body.collect(upTo: ProviderRoutes.maxDownloadRequestBytes)
            } catch is NIOTooManyBytesError {
                return ProviderRoutes.downloadRequestTooLarge()
            }
            let start: RepositoryPullAPI.Start
            do {
                start = try WireCoding.decode(RepositoryPullAPI.Start.self, from: Data(buffer: body))
            } catch {
                throw HTTPError(.badRequest, message: "not a repository pull request: \(error)")
            }
            let queued = Self.queueRequest(start)
            if let problem = ProviderRoutes.problem(with: queued) { throw HTTPError(.badRequest, message: problem) }
            return events(queued)
        }
    }

    /// The download of the queue that `start` asks for.
    static func queueRequest(_ start: RepositoryPullAPI.Start) -> DownloadAPI.Start {
        DownloadAPI.Start(
            modelID: start.modelID, priority: start.priority, kind: .repository,
            repository: DownloadAPI.Repository(
                revision: start.revision, include: start.include, exclude: start.exclude, files: start.paths, into: start.into,
                hubCache: start.hubCache, llamaFarmRoot: start.llamaFarmRoot))
    }

    /// The event stream: `progress` events while the download runs, then `result` or `error`.
    func events(_ start: DownloadAPI.Start) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        let node = self.node
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                guard await Self.waitForRepository(start, node: node) else {
                    let at = start.repository?.revision.map { " at revision \($0)" } ?? ""
                    let failure = RepositoryPullAPI.Failure(
                        error: "no other node of the mesh offers the repository \(start.modelID)\(at) (see `atmo models`)"
                            + node.mesh.refusalHint(modelID: start.modelID),
                        code: TransferError.Code.notOffered.description)
                    try await writer.write(Self.event("error", failure))
                    try await writer.finish(nil)
                    return
                }
                let events = node.downloads.subscribe()
                let requestID: String
                let created: Bool
                do {
                    (requestID, created) = try node.downloads.enqueue(start)
                } catch let error as StoreError where node.downloads.isQueueFull(error) {
                    // A full queue is the client's to resolve (cancel some, or wait): said
                    // as the stream's error event, as the queue's own route answers 429.
                    try await writer.write(Self.event("error", RepositoryPullAPI.Failure(error: error.message, code: DownloadAPI.queueFullCode)))
                    try await writer.finish(nil)
                    return
                }
                var ended = false
                do {
                    for await event in events {
                        guard case .status(let status) = event else {
                            try await writer.write(ByteBuffer(string: ": keepalive\n\n"))
                            continue
                        }
                        guard status.requestID == requestID else { continue }
                        if let last = Self.lastEvent(of: status, downloads: node.downloads) {
                            try await writer.write(last)
                            ended = true
                            break
                        }
                        try await writer.write(Self.event("progress", Self.progress(of: status)))
                    }
                } catch {
                    // The client went away: a download it started stops (what it did stays).
                    if created { _ = node.downloads.cancel(requestID) }
                    throw error
                }
                // Cancelled (the connection closed) rather than the node stopping: the same.
                if !ended, Task.isCancelled {
                    if created { _ = node.downloads.cancel(requestID) }
                    throw CancellationError()
                }
                try await writer.finish(nil)
            })
    }

    /// Whether the mesh offers the repository (at its revision, when named), waiting up to
    /// `waitForProviders`.
    static func waitForRepository(_ start: DownloadAPI.Start, node: MeshNode) async -> Bool {
        let revision = start.repository?.revision
        let deadline = ContinuousClock.now + waitForProviders
        while !Task.isCancelled {
            if node.repositories(id: start.modelID).contains(where: { revision == nil || $0.entry.revision == revision }) { return true }
            guard ContinuousClock.now < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return false
    }

    /// The `progress` event of a status.
    static func progress(of status: DownloadAPI.Status) -> RepositoryPullAPI.Progress {
        RepositoryPullAPI.Progress(
            modelID: status.modelID, filesDone: status.filesDone ?? 0, fileCount: status.filesTotal ?? 0, bytesDone: status.bytesDone,
            totalBytes: status.totalBytes, bytesPerSecond: status.bytesPerSecond, currentPath: status.currentPath, peer: status.peer)
    }

    /// The `result` or `error` event that ends the stream, once the download is final.
    static func lastEvent(of status: DownloadAPI.Status, downloads: DownloadManager) -> ByteBuffer? {
        switch status.state {
        case .completed:
            if let result = downloads.repositoryResult(of: status.requestID) { return event("result", result) }
            return event("error", RepositoryPullAPI.Failure(error: "the download completed without a result", code: "local_error"))
        case .cancelled:
            return event("error", RepositoryPullAPI.Failure(error: "the download was cancelled", code: "cancelled"))
        case .failed:
            return event(
                "error", RepositoryPullAPI.Failure(error: status.error ?? "the download failed", code: status.errorCode ?? "local_error"))
        default:
            return nil
        }
    }

    static func event<T: Encodable>(_ name: String, _ value: T) -> ByteBuffer {
        let json = (try? WireCoding.encode(value)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
        return ByteBuffer(string: "event: \(name)\ndata: \(json)\n\n")
    }
}

extension MeshNode {
    /// The repository pull routes of this node (registered by `run`).
    func repositoryPullRoutes() -> RepositoryPullRoutes { RepositoryPullRoutes(node: self) }
}
