/// The node's storage of pulled models (`docs/PROTOCOL.md` §6, "Storage"), for this
/// machine's CLI and apps: how much the pulled models and partials take under the limit,
/// which would be evicted next, pins, and marking a model used. Every route answers this
/// machine only.
public enum StorageAPI {
    /// `GET` -> `Status`.
    public static let path = "/v1/storage"
    /// `POST` a `ModelRequest` -> `PinState` (pinned); `DELETE /v1/storage/pins/{model_id}`
    /// -> `PinState` (unpinned; 404 when it was not pinned).
    public static let pinsPath = "/v1/storage/pins"
    /// `POST` a `ModelRequest` -> `Model`: the pulled model counts as used now (404 when it is
    /// not a pulled model of this node).
    public static let usedPath = "/v1/storage/used"

    /// The storage of pulled models now.
    public struct Status: Sendable, Hashable, Codable {
        /// The limit (`--max-storage`); nil: none (nothing is evicted).
        public var limitBytes: Int64?
        /// Pulled models plus partial downloads.
        public var usedBytes: Int64
        public var partialBytes: Int64
        /// Free bytes of the file system the models are on.
        public var diskFreeBytes: Int64
        /// Room for a pull without evicting: under the limit and on the disk.
        public var freeBytes: Int64
        /// What evicting every model the rules allow would free.
        public var evictableBytes: Int64
        /// Every pulled model, least recently used first.
        public var models: [Model]
        /// The model ids a pull needing room would evict, in order.
        public var evictionOrder: [String]

        public init(
            limitBytes: Int64?, usedBytes: Int64, partialBytes: Int64, diskFreeBytes: Int64, freeBytes: Int64, evictableBytes: Int64,
            models: [Model], evictionOrder: [String]
        ) {
            self.limitBytes = limitBytes
            self.usedBytes = usedBytes
            self.partialBytes = partialBytes
            self.diskFreeBytes = diskFreeBytes
            self.freeBytes = freeBytes
            self.evictableBytes = evictableBytes
            self.models = models
            self.evictionOrder = evictionOrder
        }

        enum CodingKeys: String, CodingKey {
            case limitBytes = "limit_bytes", usedBytes = "used_bytes", partialBytes = "partial_bytes"
            case diskFreeBytes = "disk_free_bytes", freeBytes = "free_bytes", evictableBytes = "evictable_bytes"
            case models, evictionOrder = "eviction_order"
        }
    }

    /// One pulled model.
    public struct Model: Sendable, Hashable, Codable {
        public var modelID: String
        public var sha256: String
        public var sizeBytes: Int64
        /// Seconds since 1970 of its last use (served, pulled or marked used); 0 if unknown.
        public var lastUsedAt: Double
        public var pinned: Bool
        /// Other nodes the mesh knows of that hold this file whole.
        public var meshCopies: Int
        /// Whether the rules let the node evict it (not pinned, not the mesh's last copy).
        public var evictable: Bool

        public init(modelID: String, sha256: String, sizeBytes: Int64, lastUsedAt: Double, pinned: Bool, meshCopies: Int, evictable: Bool) {
            self.modelID = modelID
            self.sha256 = sha256
            self.sizeBytes = sizeBytes
            self.lastUsedAt = lastUsedAt
            self.pinned = pinned
            self.meshCopies = meshCopies
            self.evictable = evictable
        }

        enum CodingKeys: String, CodingKey {
            case modelID = "model_id", sha256, sizeBytes = "size_bytes", lastUsedAt = "last_used_at", pinned
            case meshCopies = "mesh_copies", evictable
        }
    }

    /// The body of a pin or a use.
    public struct ModelRequest: Sendable, Hashable, Codable {
        public var modelID: String
        public init(modelID: String) { self.modelID = modelID }
        enum CodingKeys: String, CodingKey { case modelID = "model_id" }
    }

    /// Whether a model id is pinned now, and whether it is a pulled model of this node.
    public struct PinState: Sendable, Hashable, Codable {
        public var modelID: String
        public var pinned: Bool
        public var installed: Bool
        public init(modelID: String, pinned: Bool, installed: Bool) {
            self.modelID = modelID
            self.pinned = pinned
            self.installed = installed
        }
        enum CodingKeys: String, CodingKey { case modelID = "model_id", pinned, installed }
    }
}
