import AtmoProtocol
import AtmoStore
import Foundation
import HTTPTypes
import Hummingbird

extension HubRoutes {
    /// A file of a revision only the mesh has (or only part of which this node holds):
    /// - `HEAD` is answered from the entry (size, hashes, commit): nothing is fetched;
    /// - `GET` starts the file's fetch into this node (`HubMeshFetch`), or joins the one
    ///   running, and waits up to `meshFetchWait` for it to end or to offer pieces. Ended:
    ///   served like any local file (or `502`). Still running: `200` (`206` for a `Range`) at
    ///   once, the bytes streamed from this node as the fetch checks them
    ///   (`meshStream`), so swarm pulls and relayed providers serve the client too. A client
    ///   is never sent to a provider: it would get bytes no one checked. A file no piece
    ///   offer exists for (a pull without manifests) gets its bytes once the whole file is
    ///   checked. The fetch outlives the request, so the node holds the file afterwards.
    func resolveMeshFile(
        _ path: String, of resolved: HubCatalog.Resolved, raw: Request, context: ProviderRequestContext
    ) async throws -> Response {
        guard let file = resolved.entry.file(atPath: path) else { return HubAnswers.entryNotFound(commit: resolved.entry.revision) }
        if raw.method == .head { return Self.metadataHead(file, commit: resolved.entry.revision) }
        guard let meshFetch else {
            return HubAnswers.json(HubBodies.ErrorBody(error: "This node does not fetch from the mesh"), status: .serviceUnavailable)
        }
        let fetch: HubMeshFetch.Running
        switch meshFetch.start(resolved.entry, path: path) {
        case .running(let running): fetch = running
        case .backingOff(let wait): return Self.retryLater("Fetching \(path) from the mesh failed lately", after: wait)
        case .busy: return Self.retryLater("This node is fetching \(HubMeshFetch.maxRunning) other files", after: .seconds(5))
        }
        let offers = provider.partialOffers
        // A file of at most the held-back bytes has nothing to stream before its check.
        let streams = file.sizeBytes > HubMeshStreamSource.holdBack
        var outcome = await fetch.wait(upTo: meshFetchWait) { streams && offers.offer(sha256: file.sha256) != nil }
        if outcome == nil {
            // Never sent elsewhere: a provider's bytes reach the client only through this
            // node's checks. A file no piece offer exists for yet (its pull uses no manifest,
            // or the offer comes late) streams once the offer or the checked file is there.
            guard streams else {
                outcome = await fetch.wait(upTo: .seconds(3600))
                return try await answerEnded(outcome, path: path, of: resolved, raw: raw, context: context)
            }
            return meshStream(file, commit: resolved.entry.revision, fetch: fetch, raw: raw)
        }
        return try await answerEnded(outcome, path: path, of: resolved, raw: raw, context: context)
    }

    /// A mesh fetch that ended (or one still running past the hour a tiny file may wait):
    /// `502` when it failed, else the file served as a local one.
    func answerEnded(
        _ outcome: Result<String, HubFetchError>?, path: String, of resolved: HubCatalog.Resolved, raw: Request,
        context: ProviderRequestContext
    ) async throws -> Response {
        switch outcome {
        case .failure(let error):
            context.logger.warning(
                "mesh fetch failed", metadata: ["repo": "\(resolved.entry.repoID)", "path": "\(path)", "error": "\(error)"])
            // The reason stays in the log: it may name this node's folders.
            return HubAnswers.json(
                HubBodies.ErrorBody(error: "Fetching \(path) from the mesh failed; the node's log says why"),
                status: .badGateway)
        case .success, nil:
            break
        }
        guard
            let here = try await waitUntilLocal(
                repoID: resolved.entry.repoID, commit: resolved.entry.revision, { $0.localFile(path) != nil })
        else {
            return HubAnswers.stillScanning()
        }
        return try await resolveFile(path, of: here, raw: raw, context: context)
    }

    /// The file a running mesh fetch is pulling, streamed (`HubMeshStreamSource`): `200`, or
    /// `206` for a single `Range` (`huggingface_hub` resumes with `bytes=N-`), with the head a
    /// local file has; the body ends in an error (the connection is cut before
    /// `Content-Length`) when the fetch fails or stalls.
    func meshStream(_ file: RepositoryFile, commit: String, fetch: HubMeshFetch.Running, raw: Request) -> Response {
        var headers = Self.metadataHead(file, commit: commit).headers
        let size = file.sizeBytes
        guard
            let (status, offset, length) = Self.selectSpan(
                range: raw.headers[.range], ifRange: raw.headers[.ifRange], size: size, headers: &headers)
        else { return Self.rangeNotSatisfiable(size: size, headers: headers) }
        let io = BlockingIO(threadPool: provider.fileReaders)
        let source = HubMeshStreamSource(offers: provider.partialOffers, fetch: fetch, sha256: file.sha256, size: size, io: io)
        let body = HubStreamedFile(source: source, offset: offset, length: length, io: io)
        return Response(status: status, headers: headers, body: body.responseBody())
    }

    /// `503` with `Retry-After` (whole seconds, at least 1).
    static func retryLater(_ message: String, after wait: Duration) -> Response {
        var headers = HTTPFields()
        headers[.retryAfter] = String(max(1, wait.components.seconds + (wait.components.attoseconds > 0 ? 1 : 0)))
        return HubAnswers.json(HubBodies.ErrorBody(error: message + "; retry later"), status: .serviceUnavailable, headers: headers)
    }

    /// The head a `GET` would have, from the entry alone.
    static func metadataHead(_ file: RepositoryFile, commit: String) -> Response {
        var headers = hubHeaders(file, commit: commit)
        headers[.acceptRanges] = "bytes"
        headers[.eTag] = "\"\(file.sha256)\""
        headers[.contentType] = "application/octet-stream"
        headers[.contentLength] = String(file.sizeBytes)
        return Response(status: .ok, headers: headers)
    }

    /// Asks for a rescan and waits (bounded by `mirroredListingWait`) until this node's
    /// snapshot of `commit` satisfies `holds`.
    func waitUntilLocal(
        repoID: String, commit: String, _ holds: (HubCatalog.Resolved) -> Bool
    ) async throws -> HubCatalog.Resolved? {
        let deadline = ContinuousClock.now + mirroredListingWait
        var asked = ContinuousClock.now - .seconds(10)
        while ContinuousClock.now < deadline {
            if case .success(let found) = source.catalog.resolve(repoID: repoID, revision: commit), holds(found) { return found }
            if ContinuousClock.now - asked >= .seconds(2) {
                provider.requestRescan()
                asked = ContinuousClock.now
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }
}
