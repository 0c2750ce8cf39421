import AtmoProtocol
import Foundation
import HTTPTypes
import Hummingbird

extension HubRoutes {
    /// A file of a revision only the mesh has (or only part of which this node holds):
    /// - `HEAD` is answered from the entry (size, hashes, commit): nothing is fetched;
    /// - `GET` starts the file's fetch into this node (`HubMeshFetch`) and waits for it up
    ///   to `meshFetchWait`; once here, it is served like any local file. A fetch still
    ///   running then sends the client to a provider that has the file (`302` to its
    ///   `/v1/models/download/{file's model_id}`) while this node goes on fetching it, so
    ///   the client never waits past its read timeout and the node still holds the file
    ///   afterwards; with no provider reachable over HTTP (a relayed one), the request waits
    ///   for the fetch.
    func resolveMeshFile(
        _ path: String, of resolved: HubCatalog.Resolved, raw: Request, context: ProviderRequestContext
    ) async throws -> Response {
        guard let file = resolved.entry.file(atPath: path) else { return HubAnswers.entryNotFound(commit: resolved.entry.revision) }
        if raw.method == .head { return Self.metadataHead(file, commit: resolved.entry.revision) }
        guard let meshFetch else {
            return HubAnswers.json(HubBodies.ErrorBody(error: "This node does not fetch from the mesh"), status: .serviceUnavailable)
        }
        var outcome = await meshFetch.fetch(resolved.entry, path: path, wait: meshFetchWait)
        if outcome == nil {
            if let provider = meshFetch.providerURL(resolved.entry) {
                var headers = Self.hubHeaders(file, commit: resolved.entry.revision)
                headers[.location] = MeshClient.trimmed(provider) + "/v1/models/download/" + file.modelID
                headers[.contentLength] = "0"
                return Response(status: .found, headers: headers)
            }
            outcome = await meshFetch.fetch(resolved.entry, path: path, wait: .seconds(3600))
        }
        switch outcome {
        case .failure(let error):
            context.logger.warning(
                "mesh fetch failed", metadata: ["repo": "\(resolved.entry.repoID)", "path": "\(path)", "error": "\(error)"])
            return HubAnswers.json(HubBodies.ErrorBody(error: "Fetching \(path) from the mesh failed: \(error)"), status: .badGateway)
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
