import AtmoProtocol

/// Relayed messages the wire decoder refuses (a start announcing an impossible size, a chunk
/// index of 2^62, a chunk larger than its mode allows). docs/TRANSFERS.md §2/§5: such a
/// message cancels its transfer with `protocol_error`. The hub hands the transfer the
/// message names (its `request_id` reads even when the rest does not decode, and it must
/// come from that transfer's peer) an `.unreadable` event, which ends it at once instead
/// of leaving the piece to wait out its 15-30 s timeout; a message for no open transfer is
/// dropped and counted, and logged at a bounded rate.
extension TransferHub {
    /// Undecodable messages are logged the 1st, 2nd, 4th, 8th... time, so a peer sending
    /// thousands writes a few dozen lines.
    static func logsUnreadable(_ count: Int) -> Bool { count > 0 && count & (count - 1) == 0 }

    /// A payload from `sender` that failed to decode with `error`.
    func unreadable(_ payload: [String: JSONValue], from sender: String, error: any Error) {
        let type = String((payload["type"]?.stringValue ?? "?").prefix(64))
        let why = "\(type) did not decode: \(String(describing: error).prefix(300))"
        if let requestID = payload["request_id"]?.stringValue, deliver(.unreadable(why), requestID: requestID, from: sender) {
            return
        }
        let count = unreadableDropped.add(1, ordering: .relaxed).newValue
        if Self.logsUnreadable(count) {
            logger.info(
                "undecodable relayed message for no transfer dropped",
                metadata: ["peer": "\(sender.prefix(64))", "reason": "\(why)", "dropped_so_far": "\(count)"])
        }
    }
}
