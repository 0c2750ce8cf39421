/// How a pull behaves. Defaults suit a LAN; tests shrink the timeouts.
public struct PullConfiguration: Sendable {
    /// Parallel range connections to one peer.
    public var connections: Int = 4
    /// Bytes per piece (one range request each). Also the resume granularity: a killed pull
    /// re-transfers at most `connections + maxPiecesAhead` pieces.
    public var pieceSize: Int64 = 2 * 1024 * 1024
    /// A piece is held in memory while it downloads: a partial recorded with larger pieces
    /// than this is not resumed.
    static let maxPieceSize: Int64 = 64 * 1024 * 1024
    /// How far ahead of the in-order hash the pieces may run: written pieces wait in memory
    /// for the hasher, so a pull holds at most `(connections + maxPiecesAhead) * pieceSize`
    /// of file bytes (20 MiB by default).
    public var maxPiecesAhead: Int = 6
    /// A connection that delivers no byte for this long is stalled: the piece is retried.
    public var stallTimeoutSeconds: Double = 30
    /// A piece that averages less than this over `throughputWindowSeconds` is trickling, and
    /// is retried like a stalled one (`ThroughputFloor`). 0 turns the rule off.
    public var minimumBytesPerSecond: Double = 4096
    /// The window of `minimumBytesPerSecond`: long enough that a busy machine's pause is not
    /// taken for a trickle.
    public var throughputWindowSeconds: Double = 30
    /// Connecting to a peer gives up after this long.
    public var connectTimeoutSeconds: Double = 10
    /// Attempts per piece before the pull fails.
    public var maxAttemptsPerPiece: Int = 8
    /// Attempts per piece while other sources remain: then a failing source is left after
    /// a second or so instead of being waited for (the last source gets the full budget).
    public var maxAttemptsBeforeFailover: Int = 3
    /// First retry delay; doubles per attempt, up to 32 times this (8 s by default), so the
    /// default budget rides out a provider restart of about 20 s.
    public var retryBaseDelaySeconds: Double = 0.25
    /// Whether an entry that names a piece manifest is pulled as a swarm (every source at
    /// once, each piece verified); false pulls one source at a time, trusting the whole-file
    /// hash alone, as for a provider without manifests.
    public var usesPieceManifests = true
    /// Written pieces are fsynced and recorded for resume at least this often (bytes).
    public var syncEveryBytes: Int64 = 64 * 1024 * 1024
    /// The node's bandwidth shaper, for HTTP pieces to admit their bytes and time their
    /// first byte (`BandwidthShaper.admit`, `recordRoundTrip`); nil: no limits.
    public var shaper: BandwidthShaper? = nil
    /// Whether the pulls are background transfers for the shaper (they yield bandwidth when
    /// the round trip to their peer rises): the node's `normal` and `low` downloads.
    public var background = false
    /// Whether a pull from one whole-file plain-HTTP source, while its piece checks are
    /// deferred, takes the range answers straight from the socket into the partial file
    /// (`SplicedRangeConnection`, Linux); false reads them through NIO, as every other pull.
    public var splicesRanges = true
    /// How long every transfer report (`POST /v1/transfers/reports`) may take to reach a
    /// peer before it is dropped; nil keeps each report's own deadline: 2 s for a stop
    /// (`model_transfer_cancel`, sent after the pull has ended), 5 s for a swarm's completion
    /// (sent to every peer at once), the peer client's control deadline for a single source's
    /// completion. Reports are best effort: a peer that misses one changes nothing for the pull.
    public var reportTimeoutSeconds: Double? = nil

    public init() {}
}
