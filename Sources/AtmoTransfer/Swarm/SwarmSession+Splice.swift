import AtmoProtocol
import AtmoStore
import NIOCore
import NIOHTTP1
import Synchronization

/// A peer's spliced connection (`SplicedRangeConnection`), shared by its workers while its
/// answers may take that path: set aside for good once the peer answered in a form the
/// splice path does not take (another worker's run may still be on it), closed when every
/// worker has ended.
final class SplicerSlot: Sendable {
    private let slot: Mutex<(connection: SplicedRangeConnection?, disabled: Bool)>

    init(_ connection: SplicedRangeConnection?) { slot = Mutex((connection, false)) }

    var connection: SplicedRangeConnection? { slot.withLock { $0.disabled ? nil : $0.connection } }

    /// No run takes the connection from now on (it closes with `close`).
    func disable() { slot.withLock { $0.disabled = true } }

    /// Closes the connection; no worker may be using it.
    func close() {
        slot.withLock { slot in
            slot.connection?.close()
            slot.connection = nil
        }
    }
}

/// The pieces a spliced run claimed, which of them are all in the file, and the bytes
/// finished since the resume record was last written.
private final class SplicedClaims: Sendable {
    private let state = Mutex<(claimed: [Int], finished: Set<Int>, unrecorded: Int64)>(([], [], 0))

    func claimed(_ piece: Int) { state.withLock { $0.claimed.append(piece) } }

    /// Whether the resume record is due after this piece of `length` bytes.
    func finished(_ piece: Int, length: Int64, recordEvery: Int64) -> Bool {
        state.withLock { state in
            state.finished.insert(piece)
            state.unrecorded += length
            guard state.unrecorded >= recordEvery else { return false }
            state.unrecorded = 0
            return true
        }
    }

    /// Claimed and not finished: cut short in the file.
    var unfinished: [Int] { state.withLock { state in state.claimed.filter { !state.finished.contains($0) } } }
}

extension SwarmSession {
    /// Whether `peer`'s ranges may be spliced: a whole-file plain-HTTP peer, splicing on, on
    /// Linux, and not a background pull (those adapt their rate to the round trip of each
    /// NIO range, `BandwidthShaper`). Each run also asks `splicesNow`.
    static func splices(_ peer: SwarmPeer, _ configuration: PullConfiguration) -> Bool {
        #if os(Linux)
        guard configuration.splicesRanges, peer.have == nil, let client = peer.channel as? PeerClient, !client.background else {
            return false
        }
        return RangeConnection.Target(baseURL: client.baseURL) != nil
        #else
        return false
        #endif
    }

    /// Whether the next run from `peer` may be spliced: checks are deferred (it is the only
    /// source), and no bandwidth limit applies now (the shaper paces NIO reads; a limit set
    /// while a spliced run is out applies from the next run, at most `splicedRunBytes` on).
    func splicesNow(_ peer: SwarmPeer) -> Bool {
        guard !coordinator.checksPieces else { return false }
        return (peer.channel as? PeerClient)?.shaper?.isUnlimited ?? true
    }

    /// The spliced connection to `peer` for its workers, if its ranges may be spliced.
    func splicedConnection(to peer: SwarmPeer) -> SplicedRangeConnection? {
        guard Self.splices(peer, configuration), let client = peer.channel as? PeerClient else { return nil }
        return SplicedRangeConnection(
            baseURL: client.baseURL, connectTimeout: configuration.connectTimeoutSeconds, stallTimeout: configuration.stallTimeoutSeconds,
            floor: client.throughputFloor)
    }

    /// Fetches a run of whole pieces over `splicer`: each piece the coordinator lets this run
    /// write unchecked (`claimUnchecked`, decided as the piece begins) goes from the socket
    /// into the partial file and to the hasher by the file. At a piece it may not write
    /// (checks began: another peer joined or asked for pieces; or another copy won) the run
    /// ends, and its other pieces go back to the schedule (`.unfetched`), for every peer
    /// to take. A run cut short gives back the claim of the piece it was writing.
    func fetchSpliced(
        _ run: [Int], offset: Int64, lengths: [Int64], from peer: SwarmPeer, client: PeerClient, keys: [SwarmCoordinator.FetchKey],
        streamed: StreamedRun, over splicer: SplicedRangeConnection
    ) async throws -> [PieceOutcome] {
        let length = lengths.reduce(0, +)
        guard let path = RangeConnection.requestPath(of: client.baseURL + HTTPAPI.downloadPrefix + entry.modelID) else {
            throw SplicedRangeConnection.Unspliceable()
        }
        let target = SplicedRangeConnection.Run(
            path: path, headers: PeerClient.rangeHeaders(of: entry, offset: offset, length: length), fd: partial.fd, filePath: partial.path,
            fileOffset: offset, lengths: lengths)
        let claims = SplicedClaims()
        let (entry, coordinator, counters, partial, logger) = (self.entry, self.coordinator, engine.counters, self.partial, self.logger)
        let callbacks = SplicedRangeConnection.Callbacks(
            accept: { head in
                try client.checkPieceResponse(status: head.status.code, headers: head.headers, entry: entry, offset: offset, length: length)
            },
            begin: { index in
                guard case .claimed = coordinator.claimUnchecked(run[index], from: keys[index].peer) else { return false }
                claims.claimed(run[index])
                return true
            },
            finished: { index in
                let recordDue = claims.finished(run[index], length: lengths[index], recordEvery: Self.blockSize)
                streamed.insert(run[index])
                counters.received(bytes: lengths[index], route: peer.source.route, peer: peer.source.nodeID)
                coordinator.arrived(keys[index], valid: true, buffer: nil)
                // A run is long: its pieces are recorded as they come, about every
                // `blockSize`, so a killed pull loses no more than a NIO run would (the
                // worker records the rest when the run ends).
                guard recordDue else { return }
                do {
                    try partial.recordWrittenNow(coordinator.heldPieces)
                } catch {
                    logger.warning("cannot record the pieces written", metadata: ["error": "\(error)"])
                }
            },
            received: runProgress(keys, lengths: lengths))
        let written: Int
        do {
            written = try await splicer.fetch(target, callbacks)
        } catch {
            for piece in claims.unfinished { coordinator.releaseUnchecked(piece) }
            throw error
        }
        return run.indices.map { $0 < written ? .streamed : .unfetched }
    }
}
