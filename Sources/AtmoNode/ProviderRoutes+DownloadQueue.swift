import AtmoProtocol
import AtmoStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

extension ProviderRoutes {
    /// The download queue (`DownloadAPI`): start, list, cancel and follow (Server-Sent
    /// Events), from this machine only (statuses carry local paths; other nodes have no
    /// business starting downloads here).
    func registerDownloads(on router: Router<ProviderRequestContext>) {
        router.post(.init(DownloadAPI.path)) { request, context in
            try Self.requireLocal(context)
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: Self.maxDownloadRequestBytes)
            } catch is NIOTooManyBytesError {
                return Self.downloadRequestTooLarge()
            }
            let start: DownloadAPI.Start
            do {
                start = try WireCoding.decode(DownloadAPI.Start.self, from: Data(buffer: body))
            } catch {
                throw HTTPError(
                    .badRequest,
                    message:
                        "Expected {\"model_id\": \"...\", \"sha256\"?: \"...\", \"from\"?: \"node\", \"priority\"?: \"critical|high|normal|low\"}"
                        + " or {\"repo_id\": \"org/name\", \"kind\": \"repository\", \"include\"?: [...], \"exclude\"?: [...], \"files\"?: [...], \"into\"?: \"hf|atmo|llamafarm\"}: \(error)"
                )
            }
            if let problem = Self.problem(with: start) { throw HTTPError(.badRequest, message: problem) }
            do {
                let id = try self.downloads.start(start)
                return JSONResponse.make(DownloadAPI.Started(requestID: id), status: .accepted)
            } catch let error as StoreError where self.downloads.isQueueFull(error) {
                return JSONResponse.error(.tooManyRequests, error.message, code: DownloadAPI.queueFullCode)
            }
        }
        router.get(.init(DownloadAPI.path)) { _, context in
            try Self.requireLocal(context)
            return JSONResponse.make(DownloadAPI.StatusList(downloads: self.downloads.list()))
        }
        router.delete(.init(DownloadAPI.path + "/:id")) { _, context in
            try Self.requireLocal(context)
            guard let id = context.parameters.get("id"), !id.isEmpty, id.utf8.count <= 200 else {
                throw HTTPError(.badRequest, message: "Give a request id or a model id")
            }
            let cancelled = self.downloads.cancel(id)
            guard !cancelled.isEmpty else { throw HTTPError(.notFound, message: "No download of \(id) is under way") }
            // A running pull stops asynchronously (it saves its resume record and tells the
            // peer): answer with the final statuses once it has, or after `cancelAnswerWait`.
            let clock = ContinuousClock()
            let deadline = clock.now + Self.cancelAnswerWait
            while clock.now < deadline, cancelled.contains(where: { self.downloads.status(of: $0)?.isFinal == false }) {
                try await Task.sleep(for: .milliseconds(20))
            }
            return JSONResponse.make(DownloadAPI.StatusList(downloads: cancelled.compactMap(self.downloads.status(of:))))
        }
        router.post(.init(DownloadAPI.path + "/:id" + DownloadAPI.pauseSuffix)) { _, context in
            try Self.requireLocal(context)
            let id = try Self.downloadID(context)
            let paused = self.downloads.pause(id)
            guard !paused.isEmpty else { throw HTTPError(.notFound, message: "No download of \(id) is under way") }
            // As for a cancel: answer once the running pulls have stopped (partial and resume
            // record saved), or after `cancelAnswerWait`.
            let clock = ContinuousClock()
            let deadline = clock.now + Self.cancelAnswerWait
            while clock.now < deadline, self.downloads.isRunning(paused) {
                try await Task.sleep(for: .milliseconds(20))
            }
            return JSONResponse.make(DownloadAPI.StatusList(downloads: paused.compactMap(self.downloads.status(of:))))
        }
        router.post(.init(DownloadAPI.path + "/:id" + DownloadAPI.resumeSuffix)) { _, context in
            try Self.requireLocal(context)
            let id = try Self.downloadID(context)
            let resumed = self.downloads.resume(id)
            guard !resumed.isEmpty else { throw HTTPError(.notFound, message: "No download of \(id) is under way") }
            return JSONResponse.make(DownloadAPI.StatusList(downloads: resumed.compactMap(self.downloads.status(of:))))
        }
        router.get(.init(DownloadAPI.eventsPath)) { _, context in
            try Self.requireLocal(context)
            return self.downloadEvents(from: context.remoteAddress?.ipAddress ?? "")
        }
    }

    /// `text/event-stream`: every status now, then each change, with keep-alive comments;
    /// ends when the node stops. Capped as `/v1/events` is, in a budget of its own
    /// (`downloadStreams`): one stream more than `NodeAPI.maxEventStreamsPerAddress` from an
    /// address closes that address's oldest (`event: closed`, `stream_superseded`, then the
    /// connection is cut), one more than `NodeAPI.maxEventStreams` from another address is
    /// a 503. Each stream queues at most `eventQueueLimit` events for its client (the newest).
    func downloadEvents(from address: String) -> Response {
        let slots = downloadStreams
        guard let slot = slots.acquire(address: address) else {
            return slots.refusal("download event streams", advice: "retry shortly")
        }
        let events = downloads.subscribe()
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                // The slot is held as long as the body (released when it is dropped, even unwritten).
                withExtendedLifetime(slot) {}
                // nil: superseded.
                let (outgoing, sink) = AsyncStream.makeStream(
                    of: DownloadEvent?.self, bufferingPolicy: .bufferingNewest(Self.eventQueueLimit))
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await event in events { sink.yield(event) }
                        sink.finish()
                    }
                    group.addTask {
                        for await _ in slot.superseded {
                            sink.yield(nil)
                            return
                        }
                    }
                    defer { group.cancelAll() }
                    for await event in outgoing {
                        switch event {
                        case .status(let status)?:
                            let json = (try? WireCoding.encode(status)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
                            try await writer.write(ByteBuffer(string: "event: download\ndata: \(json)\n\n"))
                        case .keepalive?:
                            try await writer.write(ByteBuffer(string: ": keepalive\n\n"))
                        case nil:
                            try await writer.write(
                                EventStreamSlots.supersededFrame("download event streams", perAddress: slots.perAddress))
                            throw EventStreamSlots.Superseded()
                        }
                    }
                }
                withExtendedLifetime(slot) {}
                try await writer.finish(nil)
            })
    }

    /// The events one `/v1/downloads/events` stream holds for a client that reads slower
    /// than they come; older ones are dropped (the first statuses fit: a node lists 256
    /// unfinished downloads by default and `DownloadAPI.historyLimit` final ones).
    static let eventQueueLimit = 512

    /// The `{id}` of `/v1/downloads/{id}...`: a request id or a model id.
    static func downloadID(_ context: ProviderRequestContext) throws -> String {
        guard let id = context.parameters.get("id"), !id.isEmpty, id.utf8.count <= 200 else {
            throw HTTPError(.badRequest, message: "Give a request id or a model id")
        }
        return id
    }

    /// Why `start` cannot be queued (nil: it can).
    static func problem(with start: DownloadAPI.Start) -> String? {
        guard Validation.isValidModelID(start.modelID) else {
            return "Invalid model id: use 1-200 of A-Z a-z 0-9 . _ - (no '..'); a repository: repo_id org/name"
        }
        if let kind = start.kind, !kind.isKnown { return "kind must be model or repository" }
        if let sha = start.sha256, !Validation.isValidSHA256(sha.lowercased()) { return "sha256 must be 64 hex digits" }
        if start.isRepository {
            if start.sha256 != nil { return "sha256 names a model's version; a repository takes revision" }
            return start.repository?.problem
        }
        return nil
    }

    /// Largest `POST /v1/downloads` body: a repository download may name up to
    /// `DownloadAPI.Repository.maxFiles` (10,000) files, which do not fit in the other control
    /// routes' 64 KiB; 4 MiB takes 10,000 paths of ~400 bytes (a local route, read once).
    static let maxDownloadRequestBytes = 4 << 20

    /// 413 for a download request (or a repository pull's) over `maxDownloadRequestBytes`.
    static func downloadRequestTooLarge() -> Response {
        JSONResponse.error(
            .contentTooLarge,
            "A download request is at most \(maxDownloadRequestBytes >> 20) MiB of JSON (10,000 files of up to ~400 bytes each);"
                + " split a longer file list into several downloads", code: WireError.Code.tooLarge.description)
    }

    /// How long `DELETE` waits for cancelled downloads to stop before it answers with
    /// statuses that may still say `downloading`.
    static let cancelAnswerWait: Duration = .seconds(5)

    static func requireLocal(_ context: ProviderRequestContext) throws {
        try context.requireControl("The download queue")
    }
}
