/// `POST /v1/repository-pulls` (local clients only): the running node pulls a repository of
/// the mesh (`atmo pull org/name` with a node running). The answer is a `text/event-stream`
/// of `progress` events, then one `result` or `error` event; the pull stops (files done
/// and the current partial kept) when the client goes away.
public enum RepositoryPullAPI {
    public static let path = "/v1/repository-pulls"

    /// The request body. Only `model_id` is required: a body without `include`, `exclude`
    /// or `into` takes their defaults (no patterns: every file; `hf`), as `POST /v1/downloads`
    /// does. Encoded, it names every field it always did (`include`, `exclude`, `into` too).
    public struct Start: Sendable, Hashable, Codable {
        /// The repository's `model_id` (`org--name`).
        public var modelID: String
        /// One revision (40 hex); nil: the one most providers offer.
        public var revision: String?
        /// Glob patterns of the files to take; empty: every file.
        public var include: [String]
        /// Glob patterns of the files to leave out.
        public var exclude: [String]
        /// Exactly these files; nil: every file the patterns take.
        public var paths: [String]?
        /// `hf` (the default), `atmo` or `llamafarm`.
        public var into: String
        /// `hf`: the cache folder (the client's `HubCache.defaultRoot`); nil: the node's.
        public var hubCache: String?
        /// `llamafarm`: LlamaFarm's models folder; nil: the node's.
        public var llamaFarmRoot: String?
        /// Its priority in the node's download queue; nil: `high`.
        public var priority: DownloadPriority?

        public init(
            modelID: String, revision: String? = nil, include: [String] = [], exclude: [String] = [], paths: [String]? = nil,
            into: String = "hf", hubCache: String? = nil, llamaFarmRoot: String? = nil
        ) {
            self.modelID = modelID
            self.revision = revision
            self.include = include
            self.exclude = exclude
            self.paths = paths
            self.into = into
            self.hubCache = hubCache
            self.llamaFarmRoot = llamaFarmRoot
        }

        enum CodingKeys: String, CodingKey {
            case modelID = "model_id", revision, include, exclude, paths, into
            case hubCache = "hub_cache", llamaFarmRoot = "llamafarm_root", priority
        }

        /// Decodes a body whose optional fields may be absent (the memberwise defaults).
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            modelID = try container.decode(String.self, forKey: .modelID)
            revision = try container.decodeIfPresent(String.self, forKey: .revision)
            include = try container.decodeIfPresent([String].self, forKey: .include) ?? []
            exclude = try container.decodeIfPresent([String].self, forKey: .exclude) ?? []
            paths = try container.decodeIfPresent([String].self, forKey: .paths)
            into = try container.decodeIfPresent(String.self, forKey: .into) ?? "hf"
            hubCache = try container.decodeIfPresent(String.self, forKey: .hubCache)
            llamaFarmRoot = try container.decodeIfPresent(String.self, forKey: .llamaFarmRoot)
            priority = try container.decodeIfPresent(DownloadPriority.self, forKey: .priority)
        }
    }

    /// A `progress` event: byte-weighted over the selected files.
    public struct Progress: Sendable, Hashable, Codable {
        public var modelID: String
        public var filesDone: Int
        public var fileCount: Int
        public var bytesDone: Int64
        public var totalBytes: Int64
        public var bytesPerSecond: Double
        public var currentPath: String?
        public var peer: String?

        public init(
            modelID: String, filesDone: Int, fileCount: Int, bytesDone: Int64, totalBytes: Int64, bytesPerSecond: Double,
            currentPath: String?, peer: String?
        ) {
            self.modelID = modelID
            self.filesDone = filesDone
            self.fileCount = fileCount
            self.bytesDone = bytesDone
            self.totalBytes = totalBytes
            self.bytesPerSecond = bytesPerSecond
            self.currentPath = currentPath
            self.peer = peer
        }

        enum CodingKeys: String, CodingKey {
            case modelID = "model_id", filesDone = "files_done", fileCount = "file_count", bytesDone = "bytes_done"
            case totalBytes = "total_bytes", bytesPerSecond = "bytes_per_second", currentPath = "current_path", peer
        }
    }

    /// The `result` event, and the last line of `atmo pull org/name --json`.
    public struct Result: Sendable, Hashable, Codable {
        public struct File: Sendable, Hashable, Codable {
            public var path: String
            /// Where a tool finds it (the snapshot's symlink, the LlamaFarm file, the store's file).
            public var location: String
            public var sizeBytes: Int64
            public var sha256: String
            /// `already_installed`, `reused_blob`, `from_store` or `fetched`.
            public var outcome: String

            public init(path: String, location: String, sizeBytes: Int64, sha256: String, outcome: String) {
                self.path = path
                self.location = location
                self.sizeBytes = sizeBytes
                self.sha256 = sha256
                self.outcome = outcome
            }

            enum CodingKeys: String, CodingKey {
                case path, location, sha256, outcome
                case sizeBytes = "size_bytes"
            }
        }

        public var type = "repository_pull_result"
        public var modelID: String
        public var repoID: String
        public var revision: String
        public var into: String
        /// Where tools find the repository (the snapshot folder for `hf`).
        public var path: String
        public var files: [File]
        public var bytesTransferred: Int64
        public var seconds: Double

        public init(
            modelID: String, repoID: String, revision: String, into: String, path: String, files: [File], bytesTransferred: Int64,
            seconds: Double
        ) {
            self.modelID = modelID
            self.repoID = repoID
            self.revision = revision
            self.into = into
            self.path = path
            self.files = files
            self.bytesTransferred = bytesTransferred
            self.seconds = seconds
        }

        enum CodingKeys: String, CodingKey {
            case type, revision, into, path, files, seconds
            case modelID = "model_id", repoID = "repo_id", bytesTransferred = "bytes_transferred"
        }
    }

    /// The `error` event.
    public struct Failure: Sendable, Hashable, Codable {
        public var error: String
        /// A `TransferError` code (`not_offered`, `hash_mismatch`...).
        public var code: String

        public init(error: String, code: String) {
            self.error = error
            self.code = code
        }
    }
}
