import AtmoProtocol

/// The other direction: what a peer's answer means for this node's pull. A peer's failure is
/// never this node's (its full disk is not ours), so these codes are the peer kinds.
extension ErrorMapping {
    /// The code of a peer's HTTP error answer to a pull's request.
    public static func peerCode(forHTTPStatus status: Int) -> TransferError.Code {
        switch status {
        case 404: return .notOffered
        case 409: return .sourceChanged
        default: return .peerError
        }
    }

    /// A peer's answer longer than `limit` bytes, the most this node reads of `what` (a
    /// bounded read stopped with `NIOTooManyBytesError`): the peer's failure, named with the
    /// bound, never the library's dump of it.
    public static func answerTooLarge(from peer: String, what: String, limit: Int, underlying: (any Error)? = nil) -> TransferError {
        let bound = limit % (1 << 20) == 0 ? "\(limit >> 20) MiB" : "\(limit) bytes"
        return TransferError(
            .peerError, "\(peer) sent \(what) over \(bound), the most a node reads (too_large); that node is misbehaving",
            underlying: underlying)
    }

    /// The code of a piece the peer cancelled (or that this node cancelled) with `reason`.
    /// A `hash_mismatch` means the peer's copy is not the pinned artefact any more; a
    /// `not_held`, that the peer is still pulling the file and lacks a piece of the range
    /// (not a failure); a reason this version does not know is the peer's failure.
    public static func peerCode(forCancel reason: CancelReason) -> TransferError.Code {
        switch reason {
        case .hashMismatch: return .sourceChanged
        case .timeout: return .timeout
        case .networkError: return .peerUnreachable
        case .notHeld: return .notHeld
        default: return .peerError
        }
    }
}

extension ErrorMapping {
    /// The code of an error answer of this machine's own node (`atmo` commands asking it):
    /// its body's `code` when it names one, else its status read back through the table.
    public static func code(ofLocalAnswer status: Int, wireCode: String?) -> TransferError.Code {
        if let code = wireCode.flatMap(TransferError.Code.init(description:)) { return code }
        switch status {
        case 400..<404, 405..<409, 410..<500: return .invalidRequest
        case 404: return .notFound
        case 409: return .conflict
        case 503: return .peerUnreachable  // the node is shutting down
        case 507: return .storageFull
        default: return .internalError
        }
    }
}
