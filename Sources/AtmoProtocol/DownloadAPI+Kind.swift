extension DownloadAPI {
    /// What a download of the queue fetches: one model file (`model`) or the files of a
    /// Hugging Face repository (`repository`). A name this version does not know (a newer
    /// node's) is kept as it came.
    public struct Kind: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// One model file, installed in the node's store.
        public static let model = Kind(rawValue: "model")
        /// A repository's files (`DownloadAPI.Repository`), installed where tools find them.
        public static let repository = Kind(rawValue: "repository")

        /// Whether this version knows the kind.
        public var isKnown: Bool { self == .model || self == .repository }

        public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(rawValue)
        }

        public var description: String { rawValue }
    }

    /// Who paused a download (`Status.pausedBy`).
    public struct PausedBy: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// Its user (`POST /v1/downloads/{id}/pause`): it waits for `.../resume`, also across
        /// restarts of the node.
        public static let user = PausedBy(rawValue: "user")
        /// A more urgent download took its slot: it resumes when a slot frees.
        public static let priority = PausedBy(rawValue: "priority")

        public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(rawValue)
        }

        public var description: String { rawValue }
    }

    /// A repository download's choices, in the same JSON object as `Start`'s other fields:
    /// `{"repo_id": "org/name" (or "model_id": "org--name"), "kind": "repository",
    /// "revision"?, "include"?: [glob], "exclude"?: [glob], "files"?: [path], "into"?: "hf",
    /// "hub_cache"?, "llamafarm_root"?}`.
    public struct Repository: Sendable, Hashable, Codable {
        /// One revision (40 hex); nil: the one most providers offer (kept once chosen, so a
        /// restart resumes the same revision).
        public var revision: String?
        /// `fnmatch` globs as `hf download --include`; empty: every file.
        public var include: [String]
        public var exclude: [String]
        /// Exactly these files (paths in the repository); nil: every file the globs take.
        public var files: [String]?
        /// `hf` (the default: the Hugging Face cache), `atmo` (the node's store) or `llamafarm`.
        public var into: String
        /// `hf`: the cache folder (absolute); nil: the node's.
        public var hubCache: String?
        /// `llamafarm`: LlamaFarm's models folder (absolute); nil: the node's.
        public var llamaFarmRoot: String?

        public init(
            revision: String? = nil, include: [String] = [], exclude: [String] = [], files: [String]? = nil, into: String = "hf",
            hubCache: String? = nil, llamaFarmRoot: String? = nil
        ) {
            self.revision = revision
            self.include = include
            self.exclude = exclude
            self.files = files
            self.into = into
            self.hubCache = hubCache
            self.llamaFarmRoot = llamaFarmRoot
        }

        /// The destinations a repository download may name.
        public static let destinations: Set<String> = ["hf", "atmo", "llamafarm"]
        /// Bounds of a request: patterns, files named, and the length of each.
        public static let maxPatterns = 256
        public static let maxFiles = 10_000
        public static let maxTextBytes = 4096

        /// Why these choices cannot be queued (nil: they can). Paths inside the repository
        /// are checked against its entry when the download runs.
        public var problem: String? {
            if !Self.destinations.contains(into) { return "into must be hf, atmo or llamafarm" }
            if let revision, !Validation.isValidRevision(revision) { return "revision must be 40 hex digits" }
            if include.count > Self.maxPatterns || exclude.count > Self.maxPatterns {
                return "at most \(Self.maxPatterns) include and \(Self.maxPatterns) exclude patterns"
            }
            if (files?.count ?? 0) > Self.maxFiles { return "at most \(Self.maxFiles) files" }
            let texts = include + exclude + (files ?? []) + [hubCache, llamaFarmRoot].compactMap { $0 }
            if texts.contains(where: { $0.isEmpty || $0.utf8.count > Self.maxTextBytes || $0.utf8.contains(0) }) {
                return "patterns, files and folders are 1-\(Self.maxTextBytes) bytes, without NUL"
            }
            if let files, files.contains(where: { !Validation.isValidRepositoryPath($0) }) {
                return "files must be paths inside the repository"
            }
            for folder in [hubCache, llamaFarmRoot].compactMap({ $0 }) where !folder.hasPrefix("/") {
                return "hub_cache and llamafarm_root must be absolute paths"
            }
            return nil
        }

        enum CodingKeys: String, CodingKey {
            case revision, include, exclude, files, into
            case hubCache = "hub_cache", llamaFarmRoot = "llamafarm_root"
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            revision = try container.decodeIfPresent(String.self, forKey: .revision)
            include = try container.decodeIfPresent([String].self, forKey: .include) ?? []
            exclude = try container.decodeIfPresent([String].self, forKey: .exclude) ?? []
            files = try container.decodeIfPresent([String].self, forKey: .files)
            into = try container.decodeIfPresent(String.self, forKey: .into) ?? "hf"
            hubCache = try container.decodeIfPresent(String.self, forKey: .hubCache)
            llamaFarmRoot = try container.decodeIfPresent(String.self, forKey: .llamaFarmRoot)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encodeIfPresent(revision, forKey: .revision)
            try container.encode(include, forKey: .include)
            try container.encode(exclude, forKey: .exclude)
            try container.encodeIfPresent(files, forKey: .files)
            try container.encode(into, forKey: .into)
            try container.encodeIfPresent(hubCache, forKey: .hubCache)
            try container.encodeIfPresent(llamaFarmRoot, forKey: .llamaFarmRoot)
        }
    }
}
