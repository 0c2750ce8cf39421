import AtmoProtocol
import Foundation
import HTTPTypes
import Hummingbird

/// Where the Hub endpoint finds repositories: this node's snapshots (each file served by its
/// `model_id`, like any model file) and the ones peers offer.
package struct HubRepositorySource: Sendable {
    /// The snapshots this node holds.
    package var local: @Sendable () -> [RepositoryEntry]
    /// The snapshots peers offer (this node's view of the mesh).
    package var mesh: @Sendable () -> [RepositoryEntry]
    /// The revisions peers offer of one repository id, the one the mesh vouches for most
    /// first: what a request reads (nil: `mesh` filtered, every file of the mesh walked).
    package var meshRevisions: (@Sendable (String) -> [RepositoryEntry])?
    /// Whether the node's first scan has listed its folders (before that, a miss is 503).
    package var hasListed: @Sendable () -> Bool
    /// The commits this endpoint answered from the mesh's listing, whose snapshots it fills.
    package let filling: HubFillingCommits

    package init(
        local: @escaping @Sendable () -> [RepositoryEntry], mesh: @escaping @Sendable () -> [RepositoryEntry] = { [] },
        meshRevisions: (@Sendable (String) -> [RepositoryEntry])? = nil, hasListed: @escaping @Sendable () -> Bool = { true },
        filling: HubFillingCommits = HubFillingCommits()
    ) {
        self.filling = filling
        self.local = local
        self.mesh = mesh
        self.meshRevisions = meshRevisions
        self.hasListed = hasListed
    }

    var catalog: HubCatalog {
        let mesh = self.mesh
        return HubCatalog(
            local: local(), meshRevisions: meshRevisions ?? { repoID in mesh().filter { $0.repoID == repoID } },
            fillingFromMesh: filling.commits)
    }
}

/// The part of the Hugging Face Hub's HTTP API that `huggingface_hub` downloads with
/// (docs/PROTOCOL.md, "Hub-compatible endpoint"): repository info, tree listings and
/// `resolve`. Registered after every other route, as a middleware of the router's
/// not-found answer, so it sees only paths no route of the node took; `HubPath` decides
/// which of those are Hub paths, the rest go on to the usual 404/405.
struct HubRoutes: Sendable {
    let provider: ProviderRoutes
    let source: HubRepositorySource
    /// Where a repository neither this node nor the mesh has is mirrored from (`--upstream`).
    var upstream: HubUpstream?
    /// How long a request waits for the inventory to offer a file just fetched from the mesh.
    var mirroredListingWait: Duration = .seconds(120)
    /// Fetches files only the mesh has (nil: such a `GET` is 503).
    var meshFetch: HubMeshFetch?
    /// How long a `GET` of a file only the mesh has waits for its fetch to end or offer
    /// pieces before the answer is streamed (or, with no piece offer possible, a `302` to a
    /// provider), below `huggingface_hub`'s 10 s read timeout.
    var meshFetchWait: Duration = .seconds(5)

    func register(on router: Router<ProviderRequestContext>) {
        router.add(middleware: HubMiddleware(routes: self))
    }

    func answer(_ request: HubRequest, raw: Request, context: ProviderRequestContext) async throws -> Response {
        let method = raw.method
        guard method == .get || method == .head else {
            var headers = HTTPFields()
            headers[.allow] = "GET, HEAD"
            return HubAnswers.json(
                HubBodies.ErrorBody(error: "Method \(method.rawValue) not allowed here"), status: .methodNotAllowed, headers: headers)
        }
        let resolved: HubCatalog.Resolved
        switch await locate(repoID: request.repoID, revision: request.revision, context: context) {
        case .found(let found): resolved = found
        case .mirroring(let mirroring, let upstream): return try await answerMirroring(request, mirroring, upstream: upstream, raw: raw)
        case .answer(let response): return response
        }
        let entry = resolved.entry
        switch request {
        case .info:
            return HubAnswers.json(HubBodies.Info(entry))
        case .tree(_, _, let path, let recursive):
            guard let items = HubCatalog.treeItems(entry, path: path, recursive: recursive) else {
                return HubAnswers.entryNotFound(commit: entry.revision)
            }
            return HubAnswers.json(items.map(HubBodies.TreeItem.init))
        case .resolve(_, _, let path):
            guard resolved.entry.file(atPath: path) != nil || resolved.localFile(path) != nil else {
                // A snapshot mirrored in part (the node stopped mid-mirror): the upstream's.
                if let upstream,
                    case .mirroring(let mirroring, _) = await mirror(
                        repoID: entry.repoID, revision: entry.revision, from: upstream, miss: .revision, context: context),
                    mirroring.file(atPath: path) != nil
                {
                    return try await answerMirroring(request, mirroring, upstream: upstream, raw: raw)
                }
                return HubAnswers.entryNotFound(commit: entry.revision)
            }
            return try await resolveFile(path, of: resolved, raw: raw, context: context)
        }
    }

    /// One file this node holds: served by the node's download route (ranges, `If-Range`,
    /// the file pump) with the Hub's headers added: `X-Repo-Commit`, `X-Linked-Etag` (the
    /// Hub's etag, which `huggingface_hub` prefers to `ETag` and names the blob by) and
    /// `X-Linked-Size`. One only the mesh has: see `resolveMeshFile`.
    func resolveFile(
        _ path: String, of resolved: HubCatalog.Resolved, raw: Request, context: ProviderRequestContext
    ) async throws -> Response {
        guard let file = resolved.localFile(path) else {
            return try await resolveMeshFile(path, of: resolved, raw: raw, context: context)
        }
        var response = try await provider.download(
            raw, id: file.modelID, includeBody: raw.method == .get, channel: context.channel)
        response.headers.append(contentsOf: Self.hubHeaders(file, commit: resolved.entry.revision))
        return response
    }

    static func hubHeaders(_ file: RepositoryFile, commit: String) -> HTTPFields {
        var headers = HTTPFields()
        headers[.repoCommit] = commit
        headers[.linkedETag] = "\"\(file.blobID)\""
        headers[.linkedSize] = String(file.sizeBytes)
        return headers
    }
}

extension HubRequest {
    /// The revision the request names (nil: `main`).
    var revision: String? {
        switch self {
        case .info(_, let revision): revision
        case .tree(_, let revision, _, _), .resolve(_, let revision, _): revision
        }
    }
}

/// Hands Hub paths to `HubRoutes`, everything else on.
struct HubMiddleware: RouterMiddleware {
    typealias Context = ProviderRequestContext
    let routes: HubRoutes

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        switch HubPath.parse(path: request.uri.path, query: request.uri.query) {
        case .notHub:
            return try await next(request, context)
        case .request(let hubRequest):
            return try await routes.answer(hubRequest, raw: request, context: context)
        case .repositoryNotFound:
            return HubAnswers.repositoryNotFound()
        case .revisionNotFound(let repoID, let revision):
            // An impossible revision of a repository nobody has is still "repository not found".
            guard routes.source.catalog.resolve(repoID: repoID, revision: "main") != .failure(.repository) else {
                return HubAnswers.repositoryNotFound()
            }
            return HubAnswers.revisionNotFound(revision)
        case .entryNotFound(let repoID, let revision):
            switch routes.source.catalog.resolve(repoID: repoID, revision: revision) {
            case .success(let found): return HubAnswers.entryNotFound(commit: found.entry.revision)
            case .failure(.repository): return HubAnswers.repositoryNotFound()
            case .failure(.revision): return HubAnswers.revisionNotFound(revision)
            }
        }
    }
}

extension HubRoutes {
    /// Stops the work requests started and left running: mesh fetches and upstream mirrors.
    func stopBackgroundWork() async {
        await meshFetch?.cancelAll()
        await upstream?.cancelAll()
    }
}
