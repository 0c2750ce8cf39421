import AsyncHTTPClient
import AtmoProtocol
import AtmoStore
import Crypto
import Foundation
import NIOCore

extension PullSession {
    /// A fetch worker: takes pieces from the plan until none is left. A failed piece is
    /// retried by the same worker after a doubling back-off; a fatal failure ends the pull.
    func fetchLoop() async throws {
        var work = try await coordinator.nextWork()
        while case .fetch(let index, let offset, let length) = work {
            let buffer: ByteBuffer
            do {
                buffer = try await peer.fetchPiece(of: entry, offset: offset, length: length) { [coordinator] bytes in
                    coordinator.received(index, bytesSoFar: bytes)
                }
                try await write(buffer, at: offset)
            } catch {
                try Task.checkCancellation()
                let failure = Self.transferError(error)
                guard Self.isRetriable(failure) else {
                    coordinator.fail(failure)
                    throw failure
                }
                logger.info(
                    "piece failed; retrying", metadata: ["piece": "\(index)", "peer": "\(peer.address)", "error": "\(failure)"])
                let delay = try coordinator.failed(index, error: failure)
                try await Task.sleep(for: .seconds(delay))
                work = try coordinator.retry(index)
                continue
            }
            coordinator.written(index, buffer: buffer)
            engine.counters.received(bytes: Int64(buffer.readableBytes), route: source.route, peer: source.nodeID)
            do {
                try await recordWritten()
            } catch {
                let failure = Self.transferError(error)
                coordinator.fail(failure)
                throw failure
            }
            work = try await coordinator.nextWork()
        }
    }

    func write(_ buffer: ByteBuffer, at offset: Int64) async throws {
        let fd = self.fd
        let path = partialPath
        try await engine.blockingIO.run {
            try buffer.withUnsafeReadableBytes { bytes throws(StoreError) in
                try FileIO.pwrite(fd, bytes, offset: offset, path: path)
            }
        }
    }

    func recordWritten() async throws {
        let written = coordinator.plan.writtenPieces.bytes
        let database = engine.database
        let sha256 = entry.sha256
        let path = partialPath
        try await engine.blockingIO.run {
            try database.updateDownloadPieces(sha256: sha256, written: written, durable: nil, partialPath: path)
        }
    }

    /// Feeds pieces into SHA-256 in file order: from memory when a worker just wrote them,
    /// from the partial file's pages for pieces of an earlier run. Returns the
    /// hex digest of the whole file.
    func hashLoop() async throws -> String? {
        var hasher = hashState.withLock { $0.hasher }
        while true {
            switch try await coordinator.nextHashWork() {
            case .complete:
                return hasher.finalize().hexString
            case .hash(let index, let buffer):
                if let buffer {
                    buffer.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                } else {
                    let (offset, length) = coordinator.plan.range(of: index)
                    hasher = try await partial.hashBack(hasher, offset: offset, length: length)
                }
                hashState.withLock { $0 = HashCheckpoint(hasher: hasher, pieces: index + 1) }
                coordinator.hashed(index)
            }
        }
    }

    /// Reports progress every 200 ms and makes written pieces durable every 2 s or every
    /// `syncEveryBytes`, whichever comes first, until cancelled (the transfer's end cancels it).
    func tickLoop() async {
        var meter = ProgressMeter(totalBytes: entry.sizeBytes, startBytes: startBytes)
        let clock = ContinuousClock()
        let start = clock.now
        var lastSync = clock.now
        var syncedBytes = startBytes
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(200))
            if Task.isCancelled { return }
            let now = clock.now
            let (bytes, _) = coordinator.progressBytes
            let shown = meter.update(rawBytes: bytes, now: (now - start).seconds)
            report(.downloading, bytes: shown.bytes, rate: shown.rate, eta: shown.eta)
            let written = coordinator.plan.writtenBytes
            if now - lastSync >= .seconds(2) || written - syncedBytes >= configuration.syncEveryBytes {
                lastSync = now
                syncedBytes = written
                await syncDurable()
            }
        }
    }

    /// fsyncs the partial file, then records the pieces written before the fsync as durable.
    func syncDurable() async {
        let written = coordinator.plan.writtenPieces.bytes
        let fd = self.fd
        let path = partialPath
        let database = engine.database
        let sha256 = entry.sha256
        do {
            try await engine.blockingIO.run {
                try FileIO.fsync(fd, path: path)
                try database.updateDownloadPieces(sha256: sha256, written: written, durable: written, partialPath: path)
            }
        } catch {
            logger.warning("cannot sync the partial download", metadata: ["path": "\(path)", "error": "\(error)"])
        }
    }

    static func isRetriable(_ error: TransferError) -> Bool {
        error.code == .timeout || error.code == .peerUnreachable || error.code == .peerError
    }
}
