import AtmoProtocol

extension UpdatePlanner {
    /// What a node does when a followed model gets a newer version.
    public enum Mode: String, Sendable, Hashable, Codable, CaseIterable {
        /// Pull it at once, at normal priority (background sync).
        case auto
        /// Show it (`atmo models`, `GET /v1/updates`) until a person accepts it.
        case prompt

        /// `auto`, `auto-update` or `prompt`; nil for anything else.
        public init?(name: String) {
            switch name.lowercased() {
            case "auto", "auto-update", "auto_update": self = .auto
            case "prompt": self = .prompt
            default: return nil
            }
        }
    }

    /// A model id the node follows.
    public struct Follow: Sendable, Hashable {
        public var modelID: String
        public var mode: Mode
        /// Versions (SHA-256) never to pull by themselves: the one a person rolled back from.
        public var declined: Set<String>

        public init(modelID: String, mode: Mode, declined: Set<String> = []) {
            self.modelID = modelID
            self.mode = mode
            self.declined = Set(declined.map { $0.lowercased() })
        }
    }

    /// The version of a followed id the node holds.
    public struct Installed: Sendable, Hashable {
        public var sha256: String
        public var version: String
        public var source: String?
        /// When it was installed, in ms since 1970 (the sidecar's `downloaded_at`).
        public var installedAtMs: Int64

        public init(sha256: String, version: String, source: String? = nil, installedAtMs: Int64) {
            self.sha256 = sha256.lowercased()
            self.version = version
            self.source = source
            self.installedAtMs = installedAtMs
        }
    }

    /// A version the mesh offers (one per (`model_id`, `sha256`), as the mesh view has it).
    public struct Offer: Sendable, Hashable {
        public var modelID: String
        public var sha256: String
        public var version: String
        public var source: String?
        public var sizeBytes: Int64
        /// Whether another node holds it whole (a version only partial holders announce is
        /// not pulled by itself: they got it from somewhere, and may never finish).
        public var complete: Bool

        public init(modelID: String, sha256: String, version: String, source: String? = nil, sizeBytes: Int64, complete: Bool = true) {
            self.modelID = modelID
            self.sha256 = sha256.lowercased()
            self.version = version
            self.source = source
            self.sizeBytes = sizeBytes
            self.complete = complete
        }

        /// The offer of `entry`'s artefact.
        public init(entry: ModelEntry, complete: Bool) {
            self.init(
                modelID: entry.modelID, sha256: entry.sha256, version: entry.version, source: entry.source, sizeBytes: entry.sizeBytes,
                complete: complete)
        }
    }

    /// Why a version counts as newer.
    public enum Reason: String, Sendable, Hashable, Codable {
        /// Its `version` orders after the installed one.
        case version
        /// The versions do not order (or are equal): this node saw it first after it
        /// installed its version.
        case seenLater = "seen_later"
        /// The node follows the id but holds no version of it.
        case notInstalled = "not_installed"
    }

    /// A newer version of a followed id.
    public struct Update: Sendable, Hashable {
        public var modelID: String
        public var sha256: String
        public var version: String
        public var sizeBytes: Int64
        /// The version held now (nil: none).
        public var installedSHA256: String?
        public var installedVersion: String?
        public var reason: Reason
    }

    /// Why nothing happens for a followed id.
    public enum Ignored: String, Sendable, Hashable, Codable {
        /// No version the mesh offers is newer than the installed one.
        case upToDate = "up_to_date"
        /// No node offers the id whole.
        case notOffered = "not_offered"
        /// A download of the id is under way.
        case downloading
        /// The newest version is one a person rolled back from.
        case declined
    }

    /// The planner's decision for one followed id.
    public enum Action: Sendable, Hashable {
        /// Pull this version at normal priority (mode `auto`).
        case pull(Update)
        /// Show this version as available (mode `prompt`).
        case prompt(Update)
        /// Nothing to do.
        case ignore(modelID: String, Ignored)

        public var modelID: String {
            switch self {
            case .pull(let update), .prompt(let update): return update.modelID
            case .ignore(let modelID, _): return modelID
            }
        }
    }

    /// A version seen for the first time, for the node to keep (`seen_version` table).
    public struct Sighting: Sendable, Hashable {
        public var modelID: String
        public var sha256: String
        public var firstSeenMs: Int64

        public init(modelID: String, sha256: String, firstSeenMs: Int64) {
            self.modelID = modelID
            self.sha256 = sha256.lowercased()
            self.firstSeenMs = firstSeenMs
        }
    }
}
