import AtmoProtocol
import Hummingbird
import Logging

extension HubRoutes {
    /// A snapshot found for a request, or the answer that ends it.
    enum Location: Sendable {
        case found(HubCatalog.Resolved)
        case answer(Response)
    }

    /// The snapshot of `repoID` at `revision`: this node's, the mesh's, or (with an upstream)
    /// mirrored from the upstream into this node's cache and offered by its next scan.
    func locate(repoID: String, revision: String?, context: ProviderRequestContext) async -> Location {
        let miss: HubCatalog.Miss
        switch source.catalog.resolve(repoID: repoID, revision: revision) {
        case .success(let found): return .found(found)
        case .failure(let known): miss = known
        }
        guard source.hasListed() else { return .answer(HubAnswers.stillScanning()) }
        guard let upstream else { return .answer(Self.answer(miss, revision: revision)) }
        do {
            switch try await upstream.mirror(repoID: repoID, revision: revision) {
            case .miss(let upstreamMiss):
                // A repository known here whose revision the upstream lacks: that revision.
                return .answer(Self.answer(miss == .revision ? .revision : upstreamMiss, revision: revision))
            case .found(let commit):
                guard let found = try await waitUntilLocal(repoID: repoID, commit: commit, { $0.isLocal }) else {
                    return .answer(HubAnswers.stillScanning())
                }
                return .found(found)
            }
        } catch {
            context.logger.warning("upstream mirror failed", metadata: ["repo": "\(repoID)", "error": "\(error)"])
            return .answer(HubAnswers.json(HubBodies.ErrorBody(error: "The upstream endpoint failed: \(error)"), status: .badGateway))
        }
    }

    static func answer(_ miss: HubCatalog.Miss, revision: String?) -> Response {
        miss == .repository ? HubAnswers.repositoryNotFound() : HubAnswers.revisionNotFound(revision)
    }
}
