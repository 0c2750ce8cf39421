import AtmoProtocol
import Foundation

/// One progress report of a pull: byte-weighted, never backwards, never past 100%.
public struct PullProgress: Sendable, Equatable {
    public enum Phase: String, Sendable {
        case preparing, downloading, verifying, installing, completed
    }

    public var requestID: String
    public var modelID: String
    public var phase: Phase
    public var bytesDone: Int64
    public var totalBytes: Int64
    /// Bytes that were already on disk when this pull started (resumed).
    public var resumedBytes: Int64
    public var bytesPerSecond: Double
    public var etaSeconds: Double?
    public var piecesDone: Int
    public var pieceCount: Int
    public var peer: String

    public var fraction: Double { totalBytes > 0 ? min(1, Double(bytesDone) / Double(totalBytes)) : 1 }

    /// The wire form of this report.
    public var message: ModelTransferProgress {
        ModelTransferProgress(
            requestID: requestID, modelID: modelID, bytesDownloaded: bytesDone, totalBytes: totalBytes,
            transferRateMbps: bytesPerSecond * 8 / 1_000_000, etaSeconds: etaSeconds, chunksReceived: Int64(piecesDone),
            totalChunks: Int64(pieceCount), extra: ["phase": .string(phase.rawValue), "peer": .string(peer)])
    }
}

/// Turns raw byte counts into reports: clamps them monotonic and to the total, and
/// smooths the rate over a sliding window so the ETA does not jump around.
public struct ProgressMeter: Sendable {
    let totalBytes: Int64
    let window: Double
    private(set) var shownBytes: Int64 = 0
    private var samples: [(time: Double, bytes: Int64)] = []

    public init(totalBytes: Int64, startBytes: Int64, window: Double = 3) {
        self.totalBytes = totalBytes
        self.window = window
        shownBytes = min(max(0, startBytes), totalBytes)
    }

    /// Feeds a raw count at time `now` (seconds); returns (bytes to show, rate, eta).
    public mutating func update(rawBytes: Int64, now: Double) -> (bytes: Int64, rate: Double, eta: Double?) {
        shownBytes = max(shownBytes, min(rawBytes, totalBytes))
        samples.append((now, shownBytes))
        while let first = samples.first, now - first.time > window, samples.count > 2 { samples.removeFirst() }
        var rate = 0.0
        if let first = samples.first, now - first.time > 0.05 {
            rate = Double(shownBytes - first.bytes) / (now - first.time)
        }
        let remaining = totalBytes - shownBytes
        let eta: Double? = remaining == 0 ? 0 : (rate > 0 ? Double(remaining) / rate : nil)
        return (shownBytes, rate, eta)
    }
}
