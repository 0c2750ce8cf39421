/// The node's download queue (`docs/PROTOCOL.md` §6), for this machine's CLI and apps:
/// downloads started through the node run in it, continue when the client goes away and
/// resume when the node restarts.
public enum DownloadAPI {
    /// `POST` a `Start` (this machine only) -> `Started`; `GET` -> `StatusList`.
    public static let path = "/v1/downloads"
    /// `GET`: Server-Sent Events, one `download` event (a `Status`) per change, starting
    /// with every known download; `: keepalive` comments in between. Capped as
    /// `NodeAPI.eventsPath` is (`NodeAPI.maxEventStreamsPerAddress`, `NodeAPI.maxEventStreams`,
    /// counted apart): a superseded stream ends with `event: closed` (a `NodeAPI.StreamClosed`).
    public static let eventsPath = "/v1/downloads/events"
    // `DELETE /v1/downloads/{request_id or model_id}` (this machine only) cancels;
    // `POST /v1/downloads/{request_id or model_id}/pause` and `/resume` pause and resume.
    /// The suffix of `POST /v1/downloads/{id}/pause`: stop, keeping the partial, until resumed.
    public static let pauseSuffix = "/pause"
    /// The suffix of `POST /v1/downloads/{id}/resume`: a download paused by its user goes on.
    public static let resumeSuffix = "/resume"
    /// How many final downloads (completed, failed, cancelled) the node keeps listing, also
    /// across restarts: the most recent ones.
    public static let historyLimit = 100
    /// The `code` of the 429 answer to a start while the queue holds as many downloads not
    /// yet final as it takes (256 by default): cancel some, or wait, then retry.
    public static let queueFullCode = "queue_full"

    /// What to download.
    public struct Start: Sendable, Hashable, Codable {
        public var modelID: String
        /// Only this version.
        public var sha256: String?
        /// Only this node (id or name) as the source.
        public var from: String?
        /// How urgent it is; nil: `DownloadPriority.default` (`high`).
        public var priority: DownloadPriority?
        /// `model` (nil: the default) or `repository` (a Hugging Face repository: its files,
        /// installed where tools find them; see `Repository`).
        public var kind: Kind?
        /// A repository's files and destination (`kind` `repository`), read from the same
        /// JSON object as the fields above.
        public var repository: Repository?

        public init(
            modelID: String, sha256: String? = nil, from: String? = nil, priority: DownloadPriority? = nil, kind: Kind? = nil,
            repository: Repository? = nil
        ) {
            self.modelID = modelID
            self.sha256 = sha256
            self.from = from
            self.priority = priority
            self.kind = kind
            self.repository = repository
        }

        /// Whether this is a repository download.
        public var isRepository: Bool { kind == .repository }

        enum CodingKeys: String, CodingKey { case modelID = "model_id", repoID = "repo_id", sha256, from, priority, kind }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            let repoID = try container.decodeIfPresent(String.self, forKey: .repoID)
            kind = try container.decodeIfPresent(Kind.self, forKey: .kind) ?? (repoID == nil ? nil : .repository)
            // `repo_id` (`org/name`) names the repository's `model_id` (`org--name`).
            if let modelID = try container.decodeIfPresent(String.self, forKey: .modelID) {
                self.modelID = modelID
            } else if let repoID {
                modelID = repoID.replacingOccurrences(of: "/", with: "--")
            } else {
                throw DecodingError.keyNotFound(
                    CodingKeys.modelID, .init(codingPath: decoder.codingPath, debugDescription: "model_id (or repo_id) is required"))
            }
            sha256 = try container.decodeIfPresent(String.self, forKey: .sha256)
            from = try container.decodeIfPresent(String.self, forKey: .from)
            priority = try container.decodeIfPresent(DownloadPriority.self, forKey: .priority)
            repository = kind == .repository ? try Repository(from: decoder) : nil
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(modelID, forKey: .modelID)
            try container.encodeIfPresent(sha256, forKey: .sha256)
            try container.encodeIfPresent(from, forKey: .from)
            try container.encodeIfPresent(priority, forKey: .priority)
            try container.encodeIfPresent(kind, forKey: .kind)
            try repository?.encode(to: encoder)
        }
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
        /// True while the download is paused: stopped with its partial kept (state `queued`),
        /// resuming from its verified pieces later. Nil or false otherwise.
        public var paused: Bool?
        /// Who paused it: `user` (`POST .../pause`: it starts again only on `.../resume`, also
        /// after a restart) or `priority` (a more urgent download holds its slot: it resumes
        /// when a slot frees). Nil when not paused, and from older nodes.
        public var pausedBy: PausedBy?
        /// `model` or `repository`; nil from older nodes (a model).
        public var kind: Kind?
        /// A repository download: the files installed (or found in place) and selected.
        /// `bytes_done` and `total_bytes` count over all of them.
        public var filesDone: Int?
        public var filesTotal: Int?
        /// A repository download: the file being pulled.
        public var currentPath: String?
        /// When it ended (completed, failed, cancelled): seconds since 1970.
        public var finishedAt: Double?

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
            case pausedBy = "paused_by", kind, filesDone = "files_done", filesTotal = "files_total", currentPath = "current_path"
            case finishedAt = "finished_at"
        }
    }

    /// `GET /v1/downloads`.
    public struct StatusList: Sendable, Hashable, Codable {
        public var downloads: [Status]
        public init(downloads: [Status]) { self.downloads = downloads }
    }
}
