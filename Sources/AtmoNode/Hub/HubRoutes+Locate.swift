import AtmoMesh
import AtmoProtocol
import Hummingbird
import Logging

extension HubRoutes {
    /// A snapshot found for a request, or the answer that ends it.
    enum Location: Sendable {
        case found(HubCatalog.Resolved)
        /// A revision being mirrored from the upstream, answered from its listing.
        case mirroring(HubUpstreamRevision, HubUpstream)
        case answer(Response)
    }

    /// The snapshot of `repoID` at `revision`: a revision being mirrored from the upstream
    /// (until this node offers all of it), this node's, the mesh's, or (with an upstream)
    /// the upstream's, whose mirror starts.
    func locate(repoID: String, revision: String?, context: ProviderRequestContext) async -> Location {
        if let upstream, let mirroring = upstream.active(repoID: repoID, revision: revision) {
            guard mirroring.walk == .complete,
                case .success(let found) = source.catalog.resolve(repoID: repoID, revision: mirroring.commit),
                let local = found.local, local.files.count >= mirroring.files.count
            else { return .mirroring(mirroring, upstream) }
            upstream.retire(mirroring)
        }
        let miss: HubCatalog.Miss
        switch source.catalog.resolve(repoID: repoID, revision: revision) {
        case .success(let found):
            // A commit answered from the mesh's listing: its snapshot here fills from the mesh.
            if found.local == nil { source.filling.insert(MeshRepository.Key(entry: found.entry)) }
            return .found(found)
        case .failure(let known): miss = known
        }
        guard source.hasListed() else { return .answer(HubAnswers.stillScanning()) }
        guard let upstream else { return .answer(Self.answer(miss, revision: revision)) }
        return await mirror(repoID: repoID, revision: revision, from: upstream, miss: miss, context: context)
    }

    /// Opens the upstream's revision (its listing; the files follow).
    func mirror(
        repoID: String, revision: String?, from upstream: HubUpstream, miss: HubCatalog.Miss, context: ProviderRequestContext
    ) async -> Location {
        do {
            switch try await upstream.open(repoID: repoID, revision: revision) {
            case .miss(let upstreamMiss):
                // A repository known here whose revision the upstream lacks: that revision.
                return .answer(Self.answer(miss == .revision ? .revision : upstreamMiss, revision: revision))
            case .revision(let mirroring):
                return .mirroring(mirroring, upstream)
            }
        } catch let refusal as HubUpstreamRefusal {
            return .answer(HubAnswers.upstreamRefusal(refusal, upstream: upstream.client.baseURL))
        } catch let busy as HubUpstreamBusy {
            context.logger.info("upstream reads busy", metadata: ["repo": "\(repoID)", "error": "\(busy)"])
            return .answer(HubAnswers.upstreamBusy(busy, upstream: upstream.client.baseURL))
        } catch {
            context.logger.warning("upstream mirror failed", metadata: ["repo": "\(repoID)", "error": "\(error)"])
            return .answer(HubAnswers.json(HubBodies.ErrorBody(error: "The upstream endpoint failed: \(error)"), status: .badGateway))
        }
    }

    static func answer(_ miss: HubCatalog.Miss, revision: String?) -> Response {
        miss == .repository ? HubAnswers.repositoryNotFound() : HubAnswers.revisionNotFound(revision)
    }
}
