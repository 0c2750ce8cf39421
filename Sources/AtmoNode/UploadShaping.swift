import AtmoProtocol
import AtmoTransfer

/// The node's `BandwidthShaper` in a chunked upload (relayed or over the node's own
/// WebSocket): the `ChunkSender` runs with `needsCredit`, asks for the bytes of its next
/// chunk (`creditWanted`), and gets them once the shaper lets them go; each round-trip
/// sample of its acks goes to the shaper, whose delay controller holds a background upload
/// back when the delay to that peer rises.
///
/// Nothing sleeps: a wait becomes a due time, checked on every event of the transfer (its
/// clock ticks every 20 ms), so acks keep being read on time and their RTTs stay true.
struct UploadShaping {
    let shaper: BandwidthShaper
    let peer: String
    let modelSize: Int64
    /// Whether this upload yields to delay (`BandwidthLimits.adaptiveUploads`).
    let background: Bool
    private var due: (at: ContinuousClock.Instant, bytes: Int64)?
    private var samplesSeen = 0

    init(shaper: BandwidthShaper, peer: String, modelSize: Int64) {
        self.shaper = shaper
        self.peer = peer
        self.modelSize = modelSize
        background = shaper.limits.adaptiveUploads
    }

    /// The sender's configuration with credit turned on.
    static func configuration(_ base: ChunkSender.Configuration, shaper: BandwidthShaper?) -> ChunkSender.Configuration {
        var configuration = base
        configuration.needsCredit = shaper != nil
        return configuration
    }

    /// Grants the credit the sender asked for when the shaper lets it go now (or a wait it
    /// was given has passed): the sender's actions that follow, to perform. Empty while it
    /// waits or wants nothing.
    mutating func credit(_ sender: inout ChunkSender, now: Int64) -> [ChunkSender.Action] {
        if let due {
            guard ContinuousClock.now >= due.at else { return [] }
            self.due = nil
            return sender.grant(due.bytes, now: now)
        }
        guard let wanted = sender.creditWanted else { return [] }
        let wait = shaper.reserve(Int(wanted), direction: .up, peer: peer, modelSize: modelSize, background: background)
        guard wait > .zero else { return sender.grant(wanted, now: now) }
        due = (ContinuousClock.now + wait, wanted)
        return []
    }

    /// Hands the sender's new round-trip sample, if any, to the shaper.
    mutating func observe(_ sender: ChunkSender) {
        guard sender.roundTripSamples != samplesSeen, let ms = sender.latestRoundTripMs else { return }
        samplesSeen = sender.roundTripSamples
        shaper.recordRoundTrip(.milliseconds(ms), peer: peer, direction: .up)
    }
}
