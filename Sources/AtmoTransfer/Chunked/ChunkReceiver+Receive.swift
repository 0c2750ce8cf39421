import AtmoProtocol
import Foundation

extension ChunkReceiver {
    /// A chunk of this transfer arrived at `now`.
    ///
    /// - Another request id, a `total_chunks` that differs from the start's, an index outside
    ///   the range or a length other than the chunk's: protocol violation, cancel.
    /// - The next expected chunk with a matching SHA-256 (or none stated): delivered and
    ///   acknowledged (`compat`: at once, naming it; fast modes: cumulatively, once
    ///   `ackEveryChunks` chunks or `ackEveryBytes` bytes wait, or on a later `tick`).
    /// - A SHA-256 mismatch: dropped, not acknowledged (the sender resends it); the
    ///   `maxBadCopies`-th bad copy of one chunk cancels with `hash_mismatch`.
    /// - A duplicate: acknowledged again at once. A chunk past a gap: dropped; in the fast
    ///   modes the ack of what is received goes out at once.
    public mutating func receive(chunk: ReceivedChunk, now: Int64) -> [Action] {
        switch state {
        case .receiving:
            break
        case .complete:
            // The sender may have missed the last ack: answer its resends.
            guard chunk.requestID == requestID, range.contains(chunk.chunkIndex) else { return [] }
            statistics.duplicates += 1
            return [.sendAck(makeAck(naming: mode.isFast ? nextExpectedChunk - 1 : chunk.chunkIndex, now: now))]
        case .ready, .cancelled:
            return []
        }
        guard chunk.requestID == requestID else {
            return end(.protocolError, "a chunk of request \(chunk.requestID) arrived on transfer \(requestID)")
        }
        if let total = chunk.totalChunks, total != range.fileChunkCount {
            return end(.protocolError, "chunk \(chunk.chunkIndex) states total_chunks \(total), the start stated \(range.fileChunkCount)")
        }
        let index = chunk.chunkIndex
        guard range.contains(index) else {
            return end(.protocolError, "chunk \(index) is outside the transfer's \(range)")
        }
        let length = range.length(of: index)
        guard Int64(chunk.data.count) == length else {
            return end(.protocolError, "chunk \(index) holds \(chunk.data.count) bytes, expected \(length)")
        }
        lastActivityMs = now
        if index < nextExpectedChunk {
            statistics.duplicates += 1
            if !mode.isFast { return [.sendAck(makeAck(naming: index, now: now))] }
            ackRequested = true
            return ackIfAllowed(now: now)
        }
        if index > nextExpectedChunk {
            statistics.gaps += 1
            // Nothing received yet: a cumulative ack cannot name "none".
            guard mode.isFast, nextExpectedChunk > range.firstChunk else { return [] }
            ackRequested = true
            return ackIfAllowed(now: now)
        }
        if let stated = chunk.sha256 {
            guard ChunkDigest.sha256(chunk.data) == stated else {
                statistics.badChunks += 1
                badCopiesOfNext += 1
                guard badCopiesOfNext < configuration.maxBadCopies else {
                    return end(.hashMismatch, "chunk \(index) failed its SHA-256 check \(badCopiesOfNext) times")
                }
                return []
            }
        } else {
            statistics.unverifiedChunks += 1
        }
        return accept(chunk, length: length, now: now)
    }

    /// Acknowledges what waited `ackDelayMs` (fast modes), and cancels with `timeout` when
    /// no chunk arrived for the idle timeout.
    public mutating func tick(now: Int64) -> [Action] {
        guard state == .receiving else { return [] }
        if now - lastActivityMs >= idleTimeoutMs {
            return end(.timeout, "no chunk arrived for \(idleTimeoutMs / 1000) s")
        }
        if let since = pendingSinceMs, now - since >= configuration.ackDelayMs { ackRequested = true }
        return ackIfAllowed(now: now)
    }

    /// When the receiver next needs a `tick`: a delayed ack, or the idle timeout.
    public var nextDeadline: Int64? {
        guard state == .receiving else { return nil }
        var deadline = lastActivityMs + idleTimeoutMs
        // An owed ack is held back only by the interval; a pending one waits `ackDelayMs` too.
        var ackAt = ackRequested ? lastAckMs : pendingSinceMs.map { $0 + configuration.ackDelayMs }
        if let due = ackAt, let last = lastAckMs { ackAt = max(due, last + configuration.minAckIntervalMs) }
        if let ackAt { deadline = min(deadline, ackAt) }
        return deadline
    }

    /// The idle timeout in force.
    public var idleTimeoutMs: Int64 {
        configuration.idleTimeoutMs ?? (mode.isFast ? 60_000 : 150_000)
    }

    /// Accepts the next expected chunk: deliver its requested part, ack as the mode says.
    private mutating func accept(_ chunk: ReceivedChunk, length: Int64, now: Int64) -> [Action] {
        let index = chunk.chunkIndex
        statistics.chunksAccepted += 1
        badCopiesOfNext = 0
        nextExpectedChunk += 1
        var actions: [Action] = []
        let offset = range.offset(of: index)
        let low = max(offset, deliverFrom)
        let high = min(offset + length, deliverTo)
        if high > low {
            let whole = low == offset && high == offset + length
            let start = chunk.data.startIndex + Int(low - offset)
            actions.append(.deliver(offset: low, data: whole ? chunk.data : Data(chunk.data[start..<start + Int(high - low)])))
        }
        pendingAckChunks += 1
        pendingAckBytes += length
        pendingSinceMs = pendingSinceMs ?? now
        if nextExpectedChunk == range.endChunk {
            actions.append(.sendAck(makeAck(naming: index, now: now)))
            state = .complete
            actions.append(.complete)
            return actions
        }
        guard mode.isFast else {
            actions.append(.sendAck(makeAck(naming: index, now: now)))
            return actions
        }
        if pendingAckChunks >= configuration.ackEveryChunks || pendingAckBytes >= configuration.ackEveryBytes { ackRequested = true }
        return actions + ackIfAllowed(now: now)
    }

    /// The owed cumulative ack, unless `minAckIntervalMs` holds it back (then `nextDeadline`
    /// says when) or nothing is received yet.
    private mutating func ackIfAllowed(now: Int64) -> [Action] {
        guard ackRequested, nextExpectedChunk > range.firstChunk else { return [] }
        if let last = lastAckMs, now - last < configuration.minAckIntervalMs { return [] }
        return [.sendAck(makeAck(naming: nextExpectedChunk - 1, now: now))]
    }

    /// An ack naming chunk `index` (cumulative: every chunk up to it is received), which
    /// settles everything owed.
    private mutating func makeAck(naming index: Int64, now: Int64) -> ModelTransferChunkAck {
        pendingAckChunks = 0
        pendingAckBytes = 0
        pendingSinceMs = nil
        ackRequested = false
        lastAckMs = now
        statistics.acksSent += 1
        return ModelTransferChunkAck(requestID: requestID, chunkIndex: index, cumulative: true, receivedBytes: receivedBytes)
    }
}
