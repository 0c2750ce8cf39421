import AtmoProtocol
import AtmoStore

extension PullEngine {
    /// A node still pulling the model itself: what a pull starts from when no source offers
    /// the model whole.
    struct PartialHolder: Sendable {
        var source: PullSource
        var channel: any SourceChannel
        /// The pieces it holds now; nil when it holds the file whole by now.
        var have: Bitfield?
        /// The entry it announced (`PullRequest.announcedEntry`), or its own once it offers
        /// the file whole.
        var entry: ModelEntry
    }

    /// When no source offers the model whole but some answered they do not (a node pulling
    /// it lists it in its catalog's `partial_models`, not in `models`): the first of those
    /// that holds pieces of `request.announcedEntry`. The pull then pins that entry and takes
    /// pieces from every partial holder as they get them, each checked against the entry's
    /// piece manifest, the whole-file SHA-256 deciding as always.
    ///
    /// Nil when this does not apply: no entry announced, one of another model or version, an
    /// entry pinned already, or no source that answered "not offered". Throws `not_offered`,
    /// saying to wait or to pull from a complete holder, when it applies but cannot work (no
    /// piece manifest to check pieces against, no holder that says which pieces it holds).
    ///
    /// A pull that announces no entry (`atmo pull --from URL`) takes the one the holders
    /// list in their catalogs' `partial_models` (`partialEntry`).
    func partialHolder(for request: PullRequest, after selection: SourceSelection) async throws(TransferError) -> PartialHolder? {
        guard selection.pinned == nil else { return nil }
        let holders = selection.notOfferingSources
        guard !holders.isEmpty else { return nil }
        var announcedEntry = request.announcedEntry
        if announcedEntry == nil { announcedEntry = try await partialEntry(of: request, at: holders) }
        guard let announced = announcedEntry, announced.modelID == request.modelID,
            request.expectedSHA256.map({ $0.lowercased() == announced.sha256.lowercased() }) ?? true
        else { return nil }
        guard announced.manifestReference != nil, configuration.usesPieceManifests else {
            throw Self.onlyPartialHolders(
                request.modelID, holders: holders.count, "its entry names no piece manifest to check their pieces against")
        }
        guard let found = await lookUp(holders, for: announced).first else {
            throw Self.onlyPartialHolders(request.modelID, holders: holders.count, "none of them says which pieces it holds")
        }
        return PartialHolder(source: found.source, channel: found.channel, have: found.have, entry: found.entry ?? announced)
    }

    /// The failure of a pull that only nodes still downloading the model could feed.
    static func onlyPartialHolders(_ modelID: String, holders: Int, _ reason: String) -> TransferError {
        let nodes = holders == 1 ? "a node that is" : "\(holders) routes to nodes that are"
        return TransferError(
            .notOffered,
            "\(modelID) is offered only by \(nodes) still downloading it, which serve it piece by piece, and \(reason); "
                + "wait until one of them has it whole, or pull it from a node that holds it complete (see `atmo models`)")
    }
}
