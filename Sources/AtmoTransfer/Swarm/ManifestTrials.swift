/// Which piece manifest a swarm pull tries next when its peers' entries name different ones
/// for the same file, and whom each verdict blames. A pure state machine: the verdicts of
/// trials come in, the next trial and the peers to blame come out.
///
/// The rules, in one place:
/// - The first trial is the pinned manifest (the one the first source's entry names), with
///   every peer.
/// - A manifest is *doubted* when two peers' copies of one piece fail it (`SwarmSchedule`):
///   maybe it is wrong, maybe those peers lie. It is *wrong* when every piece matched it and
///   the whole file failed the catalog's SHA-256: the whole-file hash is the authority.
/// - Next comes the most named manifest not tried yet (ties: the first named), with the peers
///   that name it and those that name none (a partial holder only when its pieces have the
///   pinned manifest's size); peers that name another manifest stay out.
/// - A wrong manifest's namers are blamed at once. A manifest doubted before some manifest
///   was proven wrong is tried once more, without the peers that named the wrong one: their
///   bad copies may be what got it doubted (two sybils naming a made-up manifest).
/// - When a trial pulls the file, the namers of every doubted manifest are blamed too.
/// - When none is left, the namers of every doubted or wrong manifest are suspects.
struct ManifestTrials: Sendable {
    typealias PeerID = SwarmSchedule.PeerID

    /// One swarm session to run: with `name`'s manifest, these peers; `vouching` name it.
    struct Trial: Sendable, Hashable {
        var name: ManifestName
        var peers: [PeerID]
        var vouching: [PeerID]
    }

    enum Verdict: Sendable, Hashable {
        /// Two peers' copies of a piece failed it.
        case doubted
        /// Every piece matched it; the whole file failed the catalog's SHA-256.
        case wrong
    }

    /// One peer of the pull: the manifest its own entry names (nil: none, e.g. a partial
    /// holder or an older node) and whether it holds only some pieces.
    struct Peer: Sendable, Hashable {
        var id: PeerID
        var name: ManifestName?
        var partial: Bool
    }

    let pinned: ManifestName
    let peers: [Peer]
    private var verdicts: [ManifestName: Verdict] = [:]
    private var tries: [ManifestName: Int] = [:]
    /// Doubted manifests to try once more (a manifest was proven wrong after their doubt).
    private var retryable: Set<ManifestName> = []
    /// Peers blamed so far.
    private(set) var blamed: Set<PeerID> = []

    init(pinned: ManifestName, peers: [Peer]) {
        self.pinned = pinned
        self.peers = peers
    }

    /// The first trial: the pinned manifest, with every peer.
    mutating func first() -> Trial {
        tries[pinned, default: 0] += 1
        return Trial(name: pinned, peers: peers.map(\.id), vouching: namers(of: pinned))
    }

    /// The trial of `name` ended with `verdict`. Returns the peers to blame now (a wrong
    /// manifest's namers).
    mutating func ended(_ name: ManifestName, _ verdict: Verdict) -> [PeerID] {
        verdicts[name] = verdict
        retryable.remove(name)
        guard verdict == .wrong else { return [] }
        // Their bad copies may have got another manifest doubted: it gets one more trial.
        for (doubted, said) in verdicts where said == .doubted && tries[doubted, default: 0] < 2 { retryable.insert(doubted) }
        return blame(namers(of: name))
    }

    /// The next trial, nil when none is left.
    mutating func next() -> Trial? {
        let untried = ranked(names.filter { tries[$0] == nil })
        let again = ranked(names.filter { retryable.contains($0) })
        guard let name = untried.first ?? again.first else { return nil }
        tries[name, default: 0] += 1
        retryable.remove(name)
        let usable = peers.filter { peer in
            if let named = peer.name { return named == name }
            return !peer.partial || name.pieceSize == pinned.pieceSize
        }
        return Trial(name: name, peers: usable.map(\.id), vouching: namers(of: name))
    }

    /// The trial of `name` pulled the file. Returns the peers to blame: the namers of every
    /// other manifest that was doubted, not blamed yet.
    mutating func pulled(_ name: ManifestName) -> [PeerID] {
        verdicts[name] = nil
        return blame(verdicts.filter { $0.key != name }.keys.flatMap { namers(of: $0) })
    }

    /// The peers that named a doubted or wrong manifest, in peer order.
    var suspects: [PeerID] {
        peers.filter { peer in peer.name.map { verdicts[$0] != nil } ?? false }.map(\.id)
    }

    /// The manifests named, in the order their first namer joined.
    private var names: [ManifestName] {
        var seen = Set<ManifestName>()
        return peers.compactMap(\.name).filter { seen.insert($0).inserted }
    }

    /// `candidates`, most namers first, then as named.
    private func ranked(_ candidates: [ManifestName]) -> [ManifestName] {
        candidates.enumerated()
            .sorted { (namers(of: $0.element).count, -$0.offset) > (namers(of: $1.element).count, -$1.offset) }
            .map(\.element)
    }

    private func namers(of name: ManifestName) -> [PeerID] {
        peers.filter { $0.name == name }.map(\.id)
    }

    private mutating func blame(_ ids: [PeerID]) -> [PeerID] {
        let fresh = peers.map(\.id).filter { ids.contains($0) && !blamed.contains($0) }
        blamed.formUnion(fresh)
        return fresh
    }
}
