import AtmoProtocol
import Foundation

extension PullEngine {
    /// The entry to pin for a pull that names none (`atmo pull --from URL`: no mesh view
    /// announced one) when its HTTP sources answered that they do not offer the model whole:
    /// the entry of the model in the `partial_models` of the catalogs those nodes serve
    /// (`GET /v1/catalogs`; a node still pulling the model lists it there). The pull then
    /// takes their pieces as they get them, and waits for the rest (`partialHolder`).
    ///
    /// Nil when no such node lists it in part. Throws `not_offered` when they list several
    /// versions and the pull pinned none (`--sha256` chooses).
    func partialEntry(of request: PullRequest, at sources: [PullSource]) async throws(TransferError) -> ModelEntry? {
        var found: [String: ModelEntry] = [:]
        for source in sources where source.baseURL.hasPrefix("http://") || source.baseURL.hasPrefix("https://") {
            guard let bundle = await catalogs(at: source.baseURL) else { continue }
            for catalog in bundle.catalogs {
                for entry in catalog.partialModels where entry.modelID == request.modelID {
                    if let expected = request.expectedSHA256, expected.lowercased() != entry.sha256.lowercased() { continue }
                    found[entry.sha256.lowercased()] = found[entry.sha256.lowercased()] ?? entry
                }
            }
        }
        guard found.count <= 1 else {
            let versions = found.keys.sorted().map { String($0.prefix(12)) }.joined(separator: ", ")
            throw TransferError(
                .notOffered,
                "\(request.modelID) is offered only by nodes still downloading it, in \(found.count) versions (\(versions)); "
                    + "choose one with --sha256")
        }
        return found.values.first
    }

    /// `GET {baseURL}/v1/catalogs` within the bound of a whole mesh's catalogs
    /// (`PeerClient.catalogBundle`); nil when it cannot be read (a peer from before the mesh,
    /// a plain HTTP server): the pull then fails as not offered, as before.
    private func catalogs(at baseURL: String) async -> HTTPAPI.CatalogBundle? {
        let peer = PeerClient(baseURL: baseURL, http: http, logger: logger)
        do {
            return try await peer.catalogBundle()
        } catch {
            logger.debug("cannot read the catalogs of a source", metadata: ["source": "\(peer.baseURL)", "error": "\(error)"])
            return nil
        }
    }
}
