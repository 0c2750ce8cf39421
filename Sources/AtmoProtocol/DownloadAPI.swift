/// The node's download queue (`docs/PROTOCOL.md` §6), for this machine's CLI and apps:
/// downloads started through the node run in it, continue when the client goes away and
/// resume when the node restarts.
public enum DownloadAPI {
    /// `POST` a `Start` (this machine only) -> `Started`; `GET` -> `StatusList`.
    public static let path = "/v1/downloads"
    /// `GET`: Server-Sent Events, one `download` event (a `Status`) per change, starting
    /// with every known download; `: keepalive` comments in between.
    public static let eventsPath = "/v1/downloads/events"
    // `DELETE /v1/downloads/{request_id or model_id}` (this machine only) cancels.

    /// What to download.
    public struct Start: Sendable, Hashable, Codable {
        public var modelID: String
        /// Only this version.
        public var sha256: String?
        /// Only this node (id or name) as the source.
        public var from: String?
        /// How urgent it is; nil: `DownloadPriority.default` (`high`).
        public var priority: DownloadPriority?

        public init(modelID: String, sha256: String? = nil, from: String? = nil, priority: DownloadPriority? = nil) {
            self.modelID = modelID
            self.sha256 = sha256
            self.from = from
            self.priority = priority
        }

        enum CodingKeys: String, CodingKey { case modelID = "model_id", sha256, from, priority }
    }

    /// The answer to a start: the id to follow and cancel it by.
    public struct Started: Sendable, Hashable, Codable {
        public var requestID: String
        public init(requestID: String) { self.requestID = requestID }
        enum CodingKeys: String, CodingKey { case requestID = "request_id" }
    }

    /// Where one download stands.
    public struct Status: Sendable, Hashable, Codable {
        /// `queued`, `preparing`, `waiting` (resumed after a restart, for a node to offer it
        /// again), `downloading`, `verifying`, `installing`, `completed`, `failed` or
        /// `cancelled` (the last three are final); see `State`.
        public var state: State
        public var requestID: String
        public var modelID: String
        public var sha256: String?
        public var bytesDone: Int64
        public var totalBytes: Int64
        public var bytesPerSecond: Double
        public var etaSeconds: Double?
        /// The base URL of the source in use.
        public var peer: String?
        /// Where the model was installed (`completed`).
        public var path: String?
        /// Why it failed (`failed`), with a code of `TransferError`.
        public var error: String?
        public var errorCode: String?
        /// When completed: bytes fetched over the network, bytes resumed from an earlier
        /// run, and the seconds the pull took.
        public var bytesTransferred: Int64?
        public var resumedBytes: Int64?
        public var seconds: Double?
        /// How urgent the download is (nil from a node older than priorities).
        public var priority: DownloadPriority?
        /// True while a download of a higher priority holds its slot: it stopped with its
        /// partial kept (state `queued`) and resumes from its verified pieces when a slot
        /// frees. Nil or false otherwise.
        public var paused: Bool?

        public init(
            state: State, requestID: String, modelID: String, sha256: String? = nil, bytesDone: Int64 = 0, totalBytes: Int64 = 0,
            bytesPerSecond: Double = 0, etaSeconds: Double? = nil, peer: String? = nil, path: String? = nil, error: String? = nil,
            errorCode: String? = nil
        ) {
            self.state = state
            self.requestID = requestID
            self.modelID = modelID
            self.sha256 = sha256
            self.bytesDone = bytesDone
            self.totalBytes = totalBytes
            self.bytesPerSecond = bytesPerSecond
            self.etaSeconds = etaSeconds
            self.peer = peer
            self.path = path
            self.error = error
            self.errorCode = errorCode
        }

        /// Whether nothing more will happen to this download.
        public var isFinal: Bool { state.isFinal }

        enum CodingKeys: String, CodingKey {
            case state, requestID = "request_id", modelID = "model_id", sha256, bytesDone = "bytes_done", totalBytes = "total_bytes"
            case bytesPerSecond = "bytes_per_second", etaSeconds = "eta_seconds", peer, path, error, errorCode = "error_code"
            case bytesTransferred = "bytes_transferred", resumedBytes = "resumed_bytes", seconds, priority, paused
        }
    }

    /// `GET /v1/downloads`.
    public struct StatusList: Sendable, Hashable, Codable {
        public var downloads: [Status]
        public init(downloads: [Status]) { self.downloads = downloads }
    }
}
