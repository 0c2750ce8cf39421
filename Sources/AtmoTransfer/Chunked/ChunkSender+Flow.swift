import AtmoProtocol
import Foundation

extension ChunkSender {
    /// A `model_transfer_chunk_ack` of this request at `now`.
    ///
    /// `cumulative: true` acknowledges every chunk up to `chunk_index`; otherwise only that
    /// chunk (the older meaning, which `compat` consumers send). An ack for a chunk never
    /// sent, or for another request, is a protocol violation; one for a chunk already
    /// released is ignored; `received_bytes` is informational. Each newly acknowledged chunk
    /// sent only once gives the window estimator an RTT and a delivery-rate sample.
    public mutating func receive(ack: ModelTransferChunkAck, now: Int64) -> [Action] {
        guard state == .sending else { return [] }
        guard ack.requestID == requestID else {
            return protocolViolation("an ack for request \(ack.requestID) arrived on transfer \(requestID)")
        }
        statistics.acks += 1
        let index = ack.chunkIndex
        guard index >= baseIndex else {
            statistics.staleAcks += 1
            return []
        }
        guard index < nextNew else {
            return protocolViolation("ack for chunk \(index), which was never sent (sent so far: \(range.firstChunk)..<\(nextNew))")
        }
        var newest: OutstandingChunk?
        var newlyAcked: Int64 = 0
        for chunk in (ack.cumulative == true ? baseIndex : index)...index {
            let position = Int(chunk - baseIndex)
            guard !outstanding[position].acked else { continue }
            outstanding[position].acked = true
            markNotInFlight(position)
            newlyAcked += outstanding[position].length
            newest = outstanding[position]
        }
        guard let newest else {
            statistics.duplicateAcks += 1
            return []
        }
        ackedBytes += newlyAcked
        if newest.transmissions == 1 {
            let interval = max(now - newest.deliveredTimeAtSend, newest.lastSentMs - newest.firstSentTimeAtSend)
            let sample = WindowEstimator.Sample(
                rttMs: now - newest.lastSentMs, deliveredBytes: ackedBytes - newest.deliveredAtSend, intervalMs: interval,
                sentAtMs: newest.lastSentMs, ackedBytes: newlyAcked)
            estimator.record(sample, nowMs: now)
            roundTripSamples += 1
            latestRoundTripMs = sample.rttMs
        }
        deliveredTimeMs = now
        firstSentTimeMs = newest.lastSentMs
        let released = outstanding.prefix { $0.acked }.count
        if released > 0 {
            outstanding.removeFirst(released)
            lastProgressMs = now
        }
        sendCursor = max(sendCursor, baseIndex)
        if outstanding.isEmpty && nextNew == range.endChunk {
            state = .finished
            return [.finished]
        }
        return fill(now: now)
    }

    /// Fires the resend timers due at `now` and sends what the window then allows.
    ///
    /// Fast modes: when the oldest unacknowledged chunk is not covered within the resend
    /// timeout (counted from its send or from the last progress, whichever is later), every
    /// chunk from it on is presumed lost and resent (go-back-N). `compat`: each chunk has
    /// its own 30 s timer and is resent alone. After `maxResends` resends of one chunk the
    /// sender cancels with `timeout`.
    public mutating func tick(now: Int64) -> [Action] {
        guard state == .sending else { return [] }
        if mode.isFast {
            if let base = outstanding.first, base.inFlight, now >= max(base.lastSentMs, lastProgressMs) + estimator.resendTimeoutMs {
                guard base.timeouts < configuration.maxResends else { return giveUp(base.index, afterMs: estimator.resendTimeoutMs) }
                outstanding[0].timeouts += 1
                statistics.timeouts += 1
                for position in outstanding.indices { markNotInFlight(position) }
                sendCursor = base.index
            }
        } else {
            for position in outstanding.indices {
                let chunk = outstanding[position]
                guard !chunk.acked, chunk.inFlight, now >= chunk.lastSentMs + configuration.compatResendTimeoutMs else { continue }
                guard chunk.timeouts < configuration.maxResends else {
                    return giveUp(chunk.index, afterMs: configuration.compatResendTimeoutMs)
                }
                outstanding[position].timeouts += 1
                statistics.timeouts += 1
                markNotInFlight(position)
            }
        }
        return fill(now: now)
    }

    /// With `needsCredit`: `bytes` more may go out from `now` (the shaper's answer to
    /// `creditWanted`); returns what that lets the sender send.
    public mutating func grant(_ bytes: Int64, now: Int64) -> [Action] {
        guard state == .sending else { return [] }
        credit += max(0, bytes)
        return fill(now: now)
    }

    /// When the sender next needs a `tick`: the earliest resend timer, or the moment pacing
    /// lets the next chunk go. Nil when nothing is pending (waiting for acks only, or over).
    public var nextDeadline: Int64? {
        guard state == .sending else { return nil }
        var deadline: Int64?
        if mode.isFast {
            if let base = outstanding.first, base.inFlight {
                deadline = max(base.lastSentMs, lastProgressMs) + estimator.resendTimeoutMs
            }
        } else {
            deadline = outstanding.lazy.filter { !$0.acked && $0.inFlight }.map { $0.lastSentMs + self.configuration.compatResendTimeoutMs }
                .min()
        }
        if pacingBlocked, let rate = configuration.maxChunksPerSecond, rate > 0 {
            let wait = Int64(((1 - tokens) * 1000 / rate - 1e-6).rounded(.up))
            let paced = tokensStampMs + max(1, wait)
            deadline = min(deadline ?? paced, paced)
        }
        return deadline
    }

    /// Chunks sent and not acknowledged (and not presumed lost).
    public var inFlightChunkCount: Int { inFlightCount }
    /// Bytes sent and not acknowledged (and not presumed lost).
    public var bytesInFlight: Int64 { inFlightBytes }

    /// A JSON chunk of `slice` holding `data` (the slice's bytes, read from the file), with
    /// its `chunk_sha256`: what `.send`/`.resend` send in the text modes.
    public func textChunk(_ slice: ChunkSlice, data: Data) -> ModelTransferChunk {
        ModelTransferChunk(
            requestID: requestID, modelID: modelID, chunkIndex: slice.index, totalChunks: range.fileChunkCount, chunkBytes: data,
            chunkSHA256: ChunkDigest.hex(ChunkDigest.sha256(data)))
    }

    /// A binary chunk frame of `slice` holding `data`: what `.send`/`.resend` send in
    /// `fast_binary`, as the payload of a relay binary `direct` frame (`encoded()`).
    public func binaryFrame(_ slice: ChunkSlice, data: Data) -> FastChunkFrame {
        FastChunkFrame(requestID: requestID, chunkIndex: slice.index, sha256: ChunkDigest.sha256(data), data: data)
    }

    /// The first chunk not yet released.
    var baseIndex: Int64 { outstanding.first?.index ?? nextNew }

    /// Sends (and resends) what the flow control allows at `now`.
    mutating func fill(now: Int64) -> [Action] {
        refillTokens(now: now)
        pacingBlocked = false
        creditWanted = nil
        var actions: [Action] = []
        if mode.isFast {
            while true {
                while sendCursor < nextNew, outstanding[Int(sendCursor - baseIndex)].acked { sendCursor += 1 }
                guard sendCursor < range.endChunk else { break }
                let length = range.length(of: sendCursor)
                guard inFlightBytes == 0 || inFlightBytes + length <= estimator.windowBytes else { break }
                guard inFlightCount < configuration.maxChunksInFlight else { break }
                guard hasCredit(length), takeToken() else { break }
                spendCredit(length)
                actions.append(transmit(sendCursor, now: now))
                sendCursor += 1
            }
        } else {
            for position in outstanding.indices where !outstanding[position].acked && !outstanding[position].inFlight {
                let length = outstanding[position].length
                guard inFlightCount < configuration.compatChunksInFlight, hasCredit(length), takeToken() else { return actions }
                spendCredit(length)
                actions.append(transmit(outstanding[position].index, now: now))
            }
            while inFlightCount < configuration.compatChunksInFlight, nextNew < range.endChunk, hasCredit(range.length(of: nextNew)),
                takeToken()
            {
                spendCredit(range.length(of: nextNew))
                actions.append(transmit(nextNew, now: now))
            }
            sendCursor = nextNew
        }
        return actions
    }

    /// Sends chunk `index` (new, or again) at `now`.
    private mutating func transmit(_ index: Int64, now: Int64) -> Action {
        let slice = ChunkSlice(index: index, offset: range.offset(of: index), length: range.length(of: index))
        if index < nextNew {
            let position = Int(index - baseIndex)
            outstanding[position].lastSentMs = now
            outstanding[position].transmissions += 1
            stampDelivery(position)
            if !outstanding[position].inFlight {
                outstanding[position].inFlight = true
                inFlightBytes += slice.length
                inFlightCount += 1
            }
            statistics.chunksResent += 1
            return .resend(slice)
        }
        outstanding.append(
            OutstandingChunk(
                index: index, length: slice.length, lastSentMs: now, deliveredAtSend: ackedBytes, deliveredTimeAtSend: deliveredTimeMs,
                firstSentTimeAtSend: firstSentTimeMs))
        nextNew += 1
        inFlightBytes += slice.length
        inFlightCount += 1
        statistics.chunksSent += 1
        return .send(slice)
    }

    private mutating func stampDelivery(_ position: Int) {
        outstanding[position].deliveredAtSend = ackedBytes
        outstanding[position].deliveredTimeAtSend = deliveredTimeMs
        outstanding[position].firstSentTimeAtSend = firstSentTimeMs
    }

    private mutating func markNotInFlight(_ position: Int) {
        guard outstanding[position].inFlight else { return }
        outstanding[position].inFlight = false
        inFlightBytes -= outstanding[position].length
        inFlightCount -= 1
    }

    private mutating func giveUp(_ index: Int64, afterMs timeout: Int64) -> [Action] {
        state = .cancelled(.timeout, byPeer: false)
        let message = "chunk \(index) was not acknowledged after \(configuration.maxResends) resends (\(timeout) ms each)"
        return [.cancel(cancelMessage(.timeout, message))]
    }

    private mutating func refillTokens(now: Int64) {
        guard let rate = configuration.maxChunksPerSecond, now > tokensStampMs else { return }
        tokens = min(configuration.chunkBurst, tokens + Double(now - tokensStampMs) * rate / 1000)
        tokensStampMs = now
    }

    /// Whether the credit covers `length` (always without `needsCredit`); if not, asks for it.
    private mutating func hasCredit(_ length: Int64) -> Bool {
        guard configuration.needsCredit, credit < length else { return true }
        creditWanted = length - credit
        return false
    }

    private mutating func spendCredit(_ length: Int64) {
        guard configuration.needsCredit else { return }
        credit -= length
    }

    private mutating func takeToken() -> Bool {
        guard configuration.maxChunksPerSecond != nil else { return true }
        guard tokens >= 1 - 1e-9 else {
            pacingBlocked = true
            return false
        }
        tokens -= 1
        return true
    }
}
