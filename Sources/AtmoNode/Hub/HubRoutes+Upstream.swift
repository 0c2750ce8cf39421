import AtmoProtocol
import AtmoStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

extension HubRoutes {
    /// A request for a revision being mirrored from the upstream: info, tree and `HEAD` from
    /// its listing; a `GET` gets the file's bytes as they arrive (`upstreamFile`).
    func answerMirroring(
        _ request: HubRequest, _ revision: HubUpstreamRevision, upstream: HubUpstream, raw: Request
    ) async throws -> Response {
        switch request {
        case .info:
            return HubAnswers.json(HubBodies.Info(revision.entry))
        case .tree(_, _, let path, let recursive):
            guard let items = HubCatalog.treeItems(revision.entry, path: path, recursive: recursive) else {
                return HubAnswers.entryNotFound(commit: revision.commit)
            }
            return HubAnswers.json(items.map(HubBodies.TreeItem.init))
        case .resolve(_, _, let path):
            guard let file = revision.file(atPath: path) else { return HubAnswers.entryNotFound(commit: revision.commit) }
            return try await upstreamFile(file, of: revision, upstream: upstream, raw: raw)
        }
    }

    /// One file of a revision being mirrored:
    /// - in the cache already (verified): served from its blob, ranges honoured;
    /// - else its download from the upstream is started (or joined), and once the upstream
    ///   answered (at most 5 s), the client gets `200` and the bytes as they arrive, all but
    ///   the last one until the whole file matches the upstream's hash; a download that
    ///   fails (a wrong hash, a stalled or cut upstream) cuts the client's connection, so it
    ///   never holds a complete-looking file of unchecked bytes.
    /// A `Range` for a blob some client may hold unchecked bytes of (`HubUpstreamTaint`),
    /// and any `Range` while the download runs, is answered whole (200): the client starts over.
    func upstreamFile(
        _ file: HubUpstreamClient.File, of revision: HubUpstreamRevision, upstream: HubUpstream, raw: Request
    ) async throws -> Response {
        var headers = Self.upstreamHeaders(file, commit: revision.commit)
        if raw.method == .head {
            headers[.contentLength] = String(file.sizeBytes)
            return Response(status: .ok, headers: headers)
        }
        let taint = upstream.taint
        let range = raw.headers[.range]
        var honoursRange = false
        if range != nil { honoursRange = try await !upstream.io.run { taint.isTainted(blobID: file.blobID) } }
        if let cached = try await upstream.linkCachedBlob(file, of: revision) {
            return try await cachedBlob(cached.path, file, headers: headers, range: honoursRange ? range : nil, raw: raw, io: upstream.io)
        }
        let running: (attempt: HubUpstreamAttempt, task: Task<Void, Never>)
        switch upstream.attempt(for: file, of: revision) {
        case .running(let attempt, let task): running = (attempt, task)
        case .backingOff(let wait):
            if let refusal = upstream.lastRefusal(for: file, of: revision) {
                return HubAnswers.upstreamRefusal(refusal, upstream: upstream.client.baseURL, wait: wait)
            }
            var retry = HTTPFields()
            retry[.retryAfter] = String(max(1, wait.components.seconds + (wait.components.attoseconds > 0 ? 1 : 0)))
            return HubAnswers.json(
                HubBodies.ErrorBody(error: "The upstream endpoint failed on this file lately; retry later"),
                status: .serviceUnavailable, headers: retry)
        }
        if file.sizeBytes <= HubUpstreamAttempt.holdBack {
            // Nothing to hand out before the check: a 200 now would be a complete file of
            // unchecked bytes. Answered once the download ended (from the cache, or 502).
            await running.task.value
        } else {
            await running.attempt.waitUntilStarted(limit: .seconds(5))
        }
        if let refusal = running.attempt.progress.refusal {
            return HubAnswers.upstreamRefusal(refusal, upstream: upstream.client.baseURL)
        }
        if case .failed(let message) = running.attempt.progress.outcome {
            return HubAnswers.json(HubBodies.ErrorBody(error: "The upstream endpoint failed: \(message)"), status: .badGateway)
        }
        guard let fd = running.attempt.openReader() else {
            // Ended meanwhile: verified and installed, or failed.
            if let cached = try await upstream.linkCachedBlob(file, of: revision) {
                return try await cachedBlob(cached.path, file, headers: headers, range: nil, raw: raw, io: upstream.io)
            }
            return HubAnswers.json(HubBodies.ErrorBody(error: "The upstream endpoint failed"), status: .badGateway)
        }
        headers[.contentLength] = String(file.sizeBytes)
        let attempt = running.attempt
        let source = HubUpstreamStreamSource(fd: fd, size: file.sizeBytes) { attempt.progress }
        let body = HubStreamedFile(source: source, offset: 0, length: file.sizeBytes, io: upstream.io)
        return Response(status: .ok, headers: headers, body: body.responseBody())
    }

    /// A verified blob of the cache, with single ranges (`ByteRangeSelection`).
    func cachedBlob(
        _ path: String, _ file: HubUpstreamClient.File, headers: HTTPFields, range: String?, raw: Request, io: BlockingIO
    ) async throws -> Response {
        var headers = headers
        let size = file.sizeBytes
        guard let (status, offset, length) = Self.selectSpan(range: range, ifRange: raw.headers[.ifRange], size: size, headers: &headers)
        else { return Self.rangeNotSatisfiable(size: size, headers: headers) }
        let fd = try await io.run { try FileIO.open(path, flags: O_RDONLY) }
        let done = HubUpstreamAttempt.Progress(started: true, written: size, outcome: .verified(sha256: ""), streamsUnverified: false)
        let body = HubStreamedFile(source: HubUpstreamStreamSource(fd: fd, size: size) { done }, offset: offset, length: length, io: io)
        return Response(status: status, headers: headers, body: body.responseBody())
    }

    /// The Hub's headers for a file of the upstream's listing (the `ETag` is its blob id:
    /// the SHA-256 of an LFS file, as on this node's own files).
    static func upstreamHeaders(_ file: HubUpstreamClient.File, commit: String) -> HTTPFields {
        var headers = HTTPFields()
        headers[.repoCommit] = commit
        headers[.linkedETag] = "\"\(file.blobID)\""
        headers[.linkedSize] = String(file.sizeBytes)
        headers[.eTag] = "\"\(file.blobID)\""
        headers[.acceptRanges] = "bytes"
        headers[.contentType] = "application/octet-stream"
        return headers
    }
}

/// The scratch file of an upstream download (or a verified blob), read as far as
/// `progress` allows (`HubUpstreamAttempt.readable`); a failed download fails the body.
/// Owns `fd`.
struct HubUpstreamStreamSource: HubStreamSource {
    let fd: Int32
    let size: Int64
    let progress: @Sendable () -> HubUpstreamAttempt.Progress

    func window(from position: Int64) async throws -> HubStreamWindow {
        let now = progress()
        if case .failed(let message) = now.outcome { throw HubUpstreamError("the upstream download failed: \(message)") }
        return HubStreamWindow(readable: HubUpstreamAttempt.readable(now, size: size), activity: now.written)
    }

    func read(offset: Int64, count: Int) throws -> ByteBuffer? {
        try HubStreamedFile.pread(fd, offset: offset, count: count, path: "upstream file")
    }

    func close() { FileIO.close(fd) }
}
