import AtmoProtocol
import Synchronization

/// The files this node is pulling now and the pieces of each it holds, verified against the
/// file's piece manifest: what it can serve to other nodes before its own pull completes.
///
/// The pull engine writes it (a pull with a manifest begins an offer, marks each verified
/// piece, ends the offer when it installs or stops); the provider's routes, the relay
/// provider and the catalog read it. Only verified pieces are ever marked, so a reader that
/// serves the bytes of held pieces never serves wrong or unverified bytes.
public final class PartialOffers: Sendable {
    /// One file being pulled.
    public struct Offer: Sendable {
        /// The catalog entry being assembled (with `pieceSize` and `piecesSHA256`).
        public var entry: ModelEntry
        public var manifest: PieceManifest
        /// The partial file: held pieces are at their offsets, the rest is not to be read.
        public var partialPath: String
        /// The pieces written and verified.
        public var held: Bitfield
        /// Which `begin` made this offer: unique per offer of this object, so a pull of the
        /// same file begun again (its partial maybe discarded and written anew) is another
        /// offer. See `isCurrent(sha256:serial:)`.
        public internal(set) var serial: UInt64 = 0

        /// Whether every piece that bytes `[offset, offset + length)` touch is held.
        public func holds(offset: Int64, length: Int64) -> Bool {
            guard length > 0 else { return true }
            guard offset >= 0, offset < entry.sizeBytes, length <= entry.sizeBytes - offset else { return false }
            let first = Int(offset / manifest.pieceSize)
            let last = Int((offset + length - 1) / manifest.pieceSize)
            return (first...last).allSatisfy { held[$0] }
        }

        public var availability: PieceAvailability {
            PieceAvailability(
                sha256: entry.sha256, pieceSize: manifest.pieceSize, pieceCount: manifest.pieceCount,
                complete: held.setCount == held.count, have: held.bytes)
        }
    }

    private struct State {
        var offers: [String: Offer] = [:]
        var generation: UInt64 = 0
        /// The serial of the last offer begun.
        var lastSerial: UInt64 = 0
        /// Offers ended less than `endGrace` ago, by SHA-256, with when they ended.
        var ended: [String: (offer: Offer, at: ContinuousClock.Instant)] = [:]
        /// Files whose offer another node asked for since it began.
        var asked: Set<String> = []
    }

    private let state = Mutex(State())

    public init() {}

    /// A pull of `entry` started (or resumed) with `held` pieces already verified.
    public func begin(entry: ModelEntry, manifest: PieceManifest, partialPath: String, held: Bitfield) {
        state.withLock { state in
            state.lastSerial &+= 1
            var offer = Offer(entry: entry, manifest: manifest, partialPath: partialPath, held: held)
            offer.serial = state.lastSerial
            state.offers[entry.sha256] = offer
            state.ended[entry.sha256] = nil
            state.generation &+= 1
        }
    }

    /// Piece `index` of `sha256` is written and verified.
    public func pieceVerified(sha256: String, index: Int) {
        state.withLock { state in
            guard let offer = state.offers[sha256], index >= 0, index < offer.held.count else { return }
            state.offers[sha256]?.held[index] = true
        }
    }

    /// The pull of `sha256` ended: installed (the inventory offers it from now on) or stopped.
    public func end(sha256: String) {
        state.withLock { state in
            let now = ContinuousClock.now
            state.ended = state.ended.filter { now - $0.value.at < Self.endGrace }
            if let ended = state.offers.removeValue(forKey: sha256) {
                state.generation &+= 1
                state.ended[sha256] = (ended, now)
            }
            state.asked.remove(sha256)
        }
    }

    public func offer(sha256: String) -> Offer? {
        state.withLock { state in
            let offer = state.offers[sha256.lowercased()]
            if let offer { state.asked.insert(offer.entry.sha256) }
            return offer
        }
    }

    /// Whether another node asked for the pieces of `sha256` (its availability, manifest or
    /// bytes) since its offer began: then the pull checks its pieces as they arrive, so that
    /// it has some to give.
    public func wasAsked(sha256: String) -> Bool {
        state.withLock { $0.asked.contains(sha256) }
    }

    /// The offer of model `modelID` (any version being pulled; the first by hash if several).
    public func offer(modelID: String) -> Offer? {
        state.withLock { state in
            let offer = state.offers.values.filter { $0.entry.modelID == modelID }.min { $0.entry.sha256 < $1.entry.sha256 }
            if let offer { state.asked.insert(offer.entry.sha256) }
            return offer
        }
    }

    /// How long an ended offer still answers for its file (`justEnded(modelID:)`).
    public static let endGrace: Duration = .seconds(10)

    /// The offer of `modelID` that ended less than `endGrace` ago, when none of that id
    /// lives: its pull installed the file (the inventory lists it within a second or two)
    /// or stopped. Its pieces are no longer served; a provider answers "not held yet" for
    /// it instead of "not offered", so that a consumer taking pieces from this node waits
    /// for the installed file rather than dropping the node.
    public func justEnded(modelID: String) -> Offer? {
        let now = ContinuousClock.now
        return state.withLock { state in
            guard !state.offers.values.contains(where: { $0.entry.modelID == modelID }) else { return nil }
            return state.ended.values.filter { $0.offer.entry.modelID == modelID && now - $0.at < Self.endGrace }
                .max { $0.at < $1.at }?.offer
        }
    }

    /// Whether the offer `serial` of `sha256` still lives: not ended, nor replaced by a pull
    /// of the same file begun again. While it lives its held pieces stay held and their
    /// bytes are not written again, whatever other offers begin or end meanwhile.
    public func isCurrent(sha256: String, serial: UInt64) -> Bool {
        state.withLock { $0.offers[sha256.lowercased()]?.serial == serial }
    }

    /// The entries being pulled, sorted by id then hash.
    public var entries: [ModelEntry] {
        state.withLock { $0.offers.values.map(\.entry) }.sorted { ($0.modelID, $0.sha256) < ($1.modelID, $1.sha256) }
    }

    /// Changes when an offer begins or ends (not per piece): when to republish the catalog.
    public var generation: UInt64 { state.withLock { $0.generation } }
}
