/// Bodies of the node's follow and update API (docs/PROTOCOL.md, "Model updates"): which
/// model ids the node follows, the newer versions it shows, and rollbacks. For this
/// machine only (`atmo follow`, `atmo follows`, `atmo update`, `atmo rollback`).
public enum UpdatesAPI {
    /// `GET`: the follows (`FollowList`); `POST` a `FollowRequest`: follow (or change the mode).
    public static let followsPath = "/v1/follows"
    /// `DELETE .../{model_id}`: unfollow.
    public static func followPath(_ modelID: String) -> String { followsPath + "/" + modelID }
    /// `GET`: the newer versions shown for prompt-mode follows (`UpdateList`);
    /// `POST .../{model_id}`: accept one (the node pulls it, `Accepted`).
    public static let updatesPath = "/v1/updates"
    public static func updatePath(_ modelID: String) -> String { updatesPath + "/" + modelID }
    /// `POST` a `ModelRequest`-shaped `{"model_id"}`: put the previous version back (`RolledBack`).
    public static let rollbackPath = "/v1/rollback"

    /// `follow` in config.json, and the body of `POST /v1/follows`.
    public struct FollowRequest: Sendable, Hashable, Codable {
        public var modelID: String
        /// `auto` (also `auto-update`) or `prompt`; nil: `auto`.
        public var mode: String?

        public init(modelID: String, mode: String? = nil) {
            self.modelID = modelID
            self.mode = mode
        }

        enum CodingKeys: String, CodingKey { case modelID = "model_id", mode }
    }

    /// A newer version of a followed id.
    public struct Update: Sendable, Hashable, Codable {
        public var modelID: String
        public var sha256: String
        public var version: String
        public var sizeBytes: Int64
        public var installedSHA256: String?
        public var installedVersion: String?
        /// `version` (its version orders after the installed one), `seen_later` (first seen
        /// after the install; versions that do not order) or `not_installed`.
        public var reason: String

        public init(
            modelID: String, sha256: String, version: String, sizeBytes: Int64, installedSHA256: String?, installedVersion: String?,
            reason: String
        ) {
            self.modelID = modelID
            self.sha256 = sha256
            self.version = version
            self.sizeBytes = sizeBytes
            self.installedSHA256 = installedSHA256
            self.installedVersion = installedVersion
            self.reason = reason
        }

        enum CodingKeys: String, CodingKey {
            case modelID = "model_id", sha256, version, sizeBytes = "size_bytes", installedSHA256 = "installed_sha256"
            case installedVersion = "installed_version", reason
        }
    }

    /// One followed id and where it stands.
    public struct Follow: Sendable, Hashable, Codable {
        public var modelID: String
        public var mode: String
        public var installedSHA256: String?
        public var installedVersion: String?
        /// The version `atmo rollback` puts back, when one is kept.
        public var previousSHA256: String?
        public var previousVersion: String?
        /// Versions rolled back from: never pulled by themselves.
        public var declined: [String]
        /// A newer version the node shows (mode `prompt`) or is pulling (mode `auto`).
        public var update: Update?
        /// `up_to_date`, `update_available`, `downloading`, `declined`, `not_offered`.
        public var state: String

        public init(
            modelID: String, mode: String, installedSHA256: String? = nil, installedVersion: String? = nil, previousSHA256: String? = nil,
            previousVersion: String? = nil, declined: [String] = [], update: Update? = nil, state: String
        ) {
            self.modelID = modelID
            self.mode = mode
            self.installedSHA256 = installedSHA256
            self.installedVersion = installedVersion
            self.previousSHA256 = previousSHA256
            self.previousVersion = previousVersion
            self.declined = declined
            self.update = update
            self.state = state
        }

        enum CodingKeys: String, CodingKey {
            case modelID = "model_id", mode, installedSHA256 = "installed_sha256", installedVersion = "installed_version"
            case previousSHA256 = "previous_sha256", previousVersion = "previous_version", declined, update, state
        }
    }

    /// `GET /v1/follows`.
    public struct FollowList: Sendable, Hashable, Codable {
        public var follows: [Follow]
        public init(follows: [Follow]) { self.follows = follows }
    }

    /// `GET /v1/updates`.
    public struct UpdateList: Sendable, Hashable, Codable {
        public var updates: [Update]
        public init(updates: [Update]) { self.updates = updates }
    }

    /// `POST /v1/updates/{model_id}`: the download of the update (follow it in `/v1/downloads`).
    public struct Accepted: Sendable, Hashable, Codable {
        public var modelID: String
        public var sha256: String
        public var requestID: String

        public init(modelID: String, sha256: String, requestID: String) {
            self.modelID = modelID
            self.sha256 = sha256
            self.requestID = requestID
        }

        enum CodingKeys: String, CodingKey { case modelID = "model_id", sha256, requestID = "request_id" }
    }

    /// `POST /v1/rollback`.
    public struct RolledBack: Sendable, Hashable, Codable {
        public var modelID: String
        /// The version installed now.
        public var sha256: String
        public var version: String
        /// The version it replaced, kept as the previous one (a second rollback returns to it).
        public var previousSHA256: String?

        public init(modelID: String, sha256: String, version: String, previousSHA256: String?) {
            self.modelID = modelID
            self.sha256 = sha256
            self.version = version
            self.previousSHA256 = previousSHA256
        }

        enum CodingKeys: String, CodingKey { case modelID = "model_id", sha256, version, previousSHA256 = "previous_sha256" }
    }
}
