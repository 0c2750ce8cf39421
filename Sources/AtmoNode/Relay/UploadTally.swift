import AtmoTransfer

/// What one relayed transfer put on its link, split as the metrics count it
/// (docs/METRICS.md): each chunk of the range once, on its first transmission the link took
/// (`served`), and every later transmission of it apart (`resent`). A fast-mode sender whose
/// oldest chunk is not acknowledged in time resends every chunk from it on (go-back-N: after
/// a 3 s stall before the first ack, a whole run goes out twice), and those bytes are not
/// more of the file served. A chunk whose first send the link refused (overloaded, closing)
/// is served by the resend that goes out.
struct UploadTally: Sendable, Equatable {
    /// Bytes of the range put on the link, each chunk once.
    private(set) var served: Int64 = 0
    /// Bytes of transmissions after a chunk's first.
    private(set) var resent: Int64 = 0
    /// Chunks whose first send the link refused and no resend has carried yet.
    private var refused: Set<Int64> = []

    /// Records one transmission of `slice` (`resend`: the sender's `.resend`), which the link
    /// `took` or refused. True when it is the chunk's first on the link: the upload's
    /// progress moves by `slice.length`.
    mutating func transmitted(_ slice: ChunkSlice, resend: Bool, took: Bool) -> Bool {
        guard took else {
            if !resend { refused.insert(slice.index) }
            return false
        }
        if resend && refused.remove(slice.index) == nil {
            resent += slice.length
            return false
        }
        served += slice.length
        return true
    }
}
