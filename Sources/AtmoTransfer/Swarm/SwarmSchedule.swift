import AtmoProtocol

/// Which piece to ask of which peer in a pull fed by many sources, and every rule about
/// those peers: rarest piece first, deeper request queues for faster peers, blame for bad
/// pieces, back-off and dropping of failing or far slower peers, the endgame, and the
/// in-order feed of the whole-file hash. A pure state machine: the engine reports events
/// (with the time, in seconds from any origin) and performs the returned actions. No I/O.
///
/// Pieces move `missing -> inFlight -> held -> hashed`: `held` means written and verified
/// against the piece manifest (or, for a pull without one, written: then the whole-file
/// hash is the only check and nobody can be blamed). A resumed pull starts with its saved
/// pieces held.
///
/// Piece order: among the pieces a peer holds that are missing here and asked of nobody,
/// the one the fewest peers hold; ties go in file order while every peer holds the whole
/// file (one seed or several: the in-order hash then runs alongside the transfer), and in
/// an order salted per node once partial holders take part, so that nodes starting
/// together ask the seed for different pieces and can trade them (BitTorrent's rarest
/// first with random ties). (Taking ties a window of pieces at a time, so that the
/// in-order hash follows, made the 8-node fan-out of `atmo-swarm-sim` 2x slower than one
/// node alone instead of 1.3x: nodes collide on the seed's pieces.)
public struct SwarmSchedule: Sendable {
    public typealias PeerID = Int

    public enum PieceState: Sendable, Equatable {
        case missing
        case inFlight
        case held
        case hashed
    }

    /// What a peer's worker should do next.
    public enum Request: Sendable, Equatable {
        /// Ask the peer for piece `piece`.
        case fetch(piece: Int)
        /// Nothing for this peer now; ask again after `until` (a back-off) or on any change.
        case wait(until: Double?)
        /// This peer gets no more work in this pull (dropped, or every piece is held).
        case done
    }

    /// Why a fetch failed, as far as the schedule cares.
    public enum Failure: Sendable, Equatable {
        /// Timeout, lost connection, a 5xx: try again later, maybe elsewhere.
        case retriable
        /// A partial holder does not hold the piece (yet): not a failure of the peer.
        case notHeld
        /// The peer cannot serve this artefact at all (not offered, changed, broke the
        /// protocol): dropped at once.
        case unusable
        /// The engine cancelled the fetch (endgame duplicate, peer dropped, shutdown).
        case cancelled
        /// The connection that carried the fetch was lost (a relay went away mid-piece): the
        /// piece goes back to missing at once, the peer is not blamed (no failure in a row)
        /// and gets no work for `linkLostBackOff`, so other peers take its pieces meanwhile.
        case linkLost
    }

    public enum DropReason: Sendable, Equatable {
        /// Sent this many pieces that failed verification.
        case badPieces(Int)
        /// Failed this many times in a row.
        case failures(Int)
        /// Answered that it cannot serve the artefact.
        case unusable
        /// Far slower than the best peer: `rate` against `best`, bytes per second.
        case slow(rate: Double, best: Double)
    }

    public enum Action: Sendable, Equatable {
        /// Cancel the fetch of `piece` from `peer`: another copy arrived first (endgame).
        case cancel(piece: Int, peer: PeerID)
        /// Stop every worker of `peer` and cancel its fetches; the pieces went back to
        /// missing. Tell whoever keeps peer records (reliability falls for bad pieces).
        case drop(peer: PeerID, reason: DropReason)
        /// Two different peers sent copies of `piece` that fail the manifest, or two sent bad
        /// pieces before anyone sent a good one: more likely the manifest is wrong (whoever
        /// named it lied) than the peers. Stop the swarm, trust none of its pieces, blame nobody
        /// yet (the engine may try the manifest the other sources name). Only peers that did
        /// not name this manifest themselves count (`vouchForManifest`).
        case doubtManifest(piece: Int)
    }

    public enum HashStep: Sendable, Equatable {
        case hash(piece: Int)
        case wait
        case complete
    }

    public struct Configuration: Sendable {
        /// The deepest request queue of one peer (the channel's own limit applies too).
        public var maxRequestsPerPeer = 4
        /// The queue of a peer whose rate is not measured yet.
        public var initialRequestsPerPeer = 2
        /// A peer's queue holds about this much of its transfer time: depth is
        /// `rate * queueSeconds / pieceSize` (rounded, at least 1), so faster peers get more
        /// requests at once, and a slow one (a capped seed shared by many) only one: what is
        /// asked of it waits there while other holders may turn up.
        public var queueSeconds = 0.5
        /// Bad pieces after which a peer is no longer asked for anything in this pull.
        public var badPiecesToDrop = 2
        /// Failures in a row after which a peer is dropped while another peer is left...
        public var failuresToDrop = 3
        /// ...and when it is the last one.
        public var failuresToDropLast = 8
        /// First back-off after a failure; doubles per failure in a row, at most 32 times.
        public var retryBaseDelay = 0.25
        /// How long a peer whose link was lost gets no work (its next request waits for a
        /// route back; pieces wait in it only while nobody else can take them).
        public var linkLostBackOff = 1.0
        /// A peer slower than this fraction of the best peer's rate is dropped...
        public var slowFraction = 0.1
        /// ...once both were measured over at least this long.
        public var slowAfterSeconds = 5.0
        /// How many peers may be asked for one piece in the endgame.
        public var endgameCopies = 2
        /// A piece in flight is duplicated in the endgame only after this long (and twice
        /// the time its fetcher's rate predicts).
        public var endgameAfterSeconds = 1.0
        /// Salt of the tie order among equally rare pieces (random per node).
        public var salt: UInt64 = 0

        public init() {}
    }

    struct Peer: Sendable {
        /// Nil: holds the whole file.
        var have: Bitfield?
        var channelLimit: Int
        var inFlight: Set<Int> = []
        /// Pieces in flight that ride on another's range request (`extendRun`): a run
        /// counts once against the peer's queue.
        var runFollowers: Set<Int> = []
        /// Range requests in flight.
        var requests: Int { inFlight.count - runFollowers.intersection(inFlight).count }
        var badPieces = 0
        var failuresInARow = 0
        var backOffUntil = 0.0
        var dropped = false
        /// Pieces not to ask of it again while another peer holds them (it sent them bad).
        var refused: Set<Int> = []
        /// Whether the engine has another route to the same node when this one is dropped.
        var hasFallback = false
        /// Whether its own catalog entry names the manifest the pieces are checked against
        /// (`vouchForManifest`): its bad pieces are then its fault, never the manifest's.
        var namesManifest = false
        /// Bytes per second, smoothed; nil until measured.
        var rate: Double?
        var bytesSinceSample: Int64 = 0
        var sampleStart: Double
        var measuredSince: Double?

        func holds(_ piece: Int) -> Bool { have?[piece] ?? true }
    }

    public internal(set) var configuration: Configuration
    public let totalSize: Int64
    public let pieceSize: Int64
    public let pieceCount: Int
    /// Whether arriving pieces are checked against a manifest (blame is possible).
    public let verified: Bool
    public internal(set) var states: [PieceState]
    /// How many peers hold each piece (complete peers are counted in `completePeers`).
    var holders: [Int]
    var completePeers = 0
    var peers: [PeerID: Peer] = [:]
    /// The peers that sent a bad copy of each piece.
    var badCopies: [Int: Set<PeerID>] = [:]
    /// Copies that matched the manifest in this run.
    var goodArrivals = 0
    /// Who is fetching each piece in flight (more than one only in the endgame), and since when.
    var requesters: [Int: [PeerID: Double]] = [:]
    /// Pieces missing and asked of nobody.
    public internal(set) var unrequested: Int
    /// The lowest piece not yet hashed.
    public internal(set) var hashCursor = 0
    public internal(set) var heldCount = 0

    public init(totalSize: Int64, pieceSize: Int64, held: Bitfield? = nil, verified: Bool, configuration: Configuration = Configuration()) {
        precondition(pieceSize > 0)
        self.configuration = configuration
        self.totalSize = totalSize
        self.pieceSize = pieceSize
        self.verified = verified
        pieceCount = PieceManifest.pieceCount(fileSize: totalSize, pieceSize: pieceSize)
        states = Array(repeating: .missing, count: pieceCount)
        holders = Array(repeating: 0, count: pieceCount)
        if let held, held.count == pieceCount {
            for index in 0..<pieceCount where held[index] { states[index] = .held }
        }
        heldCount = states.lazy.filter { $0 == .held }.count
        unrequested = pieceCount - heldCount
    }

    public func range(of piece: Int) -> (offset: Int64, length: Int64) {
        let offset = Int64(piece) * pieceSize
        return (offset, min(pieceSize, totalSize - offset))
    }

    public var isComplete: Bool { heldCount == pieceCount }

    /// The pieces held (written, and verified when the pull has a manifest).
    public var heldPieces: Bitfield {
        var field = Bitfield(count: pieceCount)
        for index in 0..<pieceCount where states[index] == .held || states[index] == .hashed { field[index] = true }
        return field
    }

    public var heldBytes: Int64 {
        guard heldCount > 0 else { return 0 }
        var total = Int64(heldCount) * pieceSize
        if let last = states.last, last == .held || last == .hashed { total -= pieceSize - range(of: pieceCount - 1).length }
        return total
    }

    /// Peers still taking part.
    public var activePeers: [PeerID] { peers.filter { !$0.value.dropped }.map(\.key).sorted() }

    public func rate(of peer: PeerID) -> Double? { peers[peer]?.rate }
    public func isDropped(_ peer: PeerID) -> Bool { peers[peer]?.dropped ?? true }
}
