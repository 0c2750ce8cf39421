import AtmoProtocol
import Foundation
import Synchronization

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
    /// The base URL of the source in use.
    public var peer: String
    /// The source in use now; changes when the pull fails over to another source.
    public var source: PullSource? = nil

    /// A report, e.g. rebuilt from a node's download status.
    public init(
        requestID: String, modelID: String, phase: Phase, bytesDone: Int64, totalBytes: Int64, resumedBytes: Int64 = 0,
        bytesPerSecond: Double = 0, etaSeconds: Double? = nil, piecesDone: Int = 0, pieceCount: Int = 0, peer: String = "",
        source: PullSource? = nil
    ) {
        self.requestID = requestID
        self.modelID = modelID
        self.phase = phase
        self.bytesDone = bytesDone
        self.totalBytes = totalBytes
        self.resumedBytes = resumedBytes
        self.bytesPerSecond = bytesPerSecond
        self.etaSeconds = etaSeconds
        self.piecesDone = piecesDone
        self.pieceCount = pieceCount
        self.peer = peer
        self.source = source
    }

    public var fraction: Double { totalBytes > 0 ? min(1, Double(bytesDone) / Double(totalBytes)) : 1 }

    /// The wire form of this report.
    public var message: ModelTransferProgress {
        ModelTransferProgress(
            requestID: requestID, modelID: modelID, bytesDownloaded: bytesDone, totalBytes: totalBytes,
            transferRateMbps: bytesPerSecond * 8 / 1_000_000, etaSeconds: etaSeconds, chunksReceived: Int64(piecesDone),
            totalChunks: Int64(pieceCount), extra: extra)
    }

    private var extra: [String: JSONValue] {
        var extra: [String: JSONValue] = ["phase": .string(phase.rawValue), "peer": .string(peer)]
        if let nodeID = source?.nodeID { extra["peer_node_id"] = .string(nodeID) }
        return extra
    }
}

/// Hands a pull's reports to the caller in order, keeping bytes and pieces monotonic
/// within one request id (across a fail-over, whose new source starts from the pieces on
/// disk while the old one had bytes in flight) and within the total.
final class ProgressRelay: Sendable {
    private let last = Mutex<PullProgress?>(nil)
    private let sink: @Sendable (PullProgress) -> Void

    init(_ sink: @escaping @Sendable (PullProgress) -> Void) {
        self.sink = sink
    }

    func report(_ progress: PullProgress) {
        last.withLock { last in
            var shown = progress
            if let last, last.requestID == progress.requestID {
                shown.bytesDone = max(last.bytesDone, shown.bytesDone)
                shown.piecesDone = max(last.piecesDone, shown.piecesDone)
            }
            shown.bytesDone = min(shown.bytesDone, shown.totalBytes)
            last = shown
            // Under the lock, so reports arrive in the order they were clamped.
            sink(shown)
        }
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
