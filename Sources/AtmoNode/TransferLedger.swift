import AtmoProtocol
import AtmoStore
import Synchronization

/// The provider's count of transfers: in progress, and how they ended (from the reports
/// consumers send). Shown in `/health`.
public final class TransferLedger: Sendable {
    public struct Counts: Sendable, Equatable, Codable {
        public var activeDownloads = 0
        public var requests = 0
        public var completed = 0
        public var failed = 0
        public var cancelled = 0
        public var bytesServed: Int64 = 0

        enum CodingKeys: String, CodingKey {
            case activeDownloads = "active_downloads", requests, completed, failed, cancelled
            case bytesServed = "bytes_served"
        }
    }

    private let counts = Mutex(Counts())
    /// When each model was last served (or pulled, or marked used), kept in memory and
    /// written in batches (`UsageService`): serving records here at no database cost.
    public let usage = UsageTracker()
    /// The node's metrics; a relayed transfer's bytes served are counted here when it ends.
    public let metrics = NodeMetrics()
    /// The uploads under way (the dashboard's `serving`, `GET /v1/node`).
    let uploads = ActiveUploads()

    public init() {}

    public var snapshot: Counts { counts.withLock { $0 } }

    func downloadStarted() { counts.withLock { $0.activeDownloads += 1 } }

    /// `bytes`: of the file served, each once; `resent`: a relayed transfer's chunks sent
    /// again after their ack timed out (`UploadTally`), in the metrics only. `route`:
    /// counted in the metrics here (relayed transfers); nil: counted as it is written (HTTP
    /// bodies, `FileBodyPump`).
    func downloadEnded(bytes: Int64, resent: Int64 = 0, route: NodeMetrics.Route? = nil, peer: String? = nil) {
        if let route {
            metrics.served(bytes: bytes, route: route, peer: peer)
            metrics.resent(bytes: resent, route: route, peer: peer)
        }
        counts.withLock {
            $0.activeDownloads -= 1
            $0.bytesServed += bytes
        }
    }

    func requested() { counts.withLock { $0.requests += 1 } }

    func record(_ complete: ModelTransferComplete) {
        counts.withLock {
            if complete.verificationStatus == "success" { $0.completed += 1 } else { $0.failed += 1 }
        }
    }

    func record(_ cancel: ModelTransferCancel) {
        counts.withLock {
            if cancel.reason == .userCancelled { $0.cancelled += 1 } else { $0.failed += 1 }
        }
    }
}
