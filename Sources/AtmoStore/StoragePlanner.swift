import Foundation

/// A model the node pulled, as the eviction planner sees it. Models the node only offers
/// (LlamaFarm's, the Hugging Face cache, extra folders) are never given to the planner: they
/// are not the node's to delete.
public struct StoredModel: Sendable, Hashable {
    public var modelID: String
    public var sha256: String
    public var sizeBytes: Int64
    /// Seconds since 1970 of its last use (served, pulled or marked used); 0 if never known.
    public var lastUsedAt: Double
    public var pinned: Bool
    /// How many other nodes the mesh knows of that hold this file whole.
    public var meshCopies: Int
    /// Whether the node offers it; false for a previous version kept for rollback, which
    /// the mesh's-last-copy rule does not protect (no node can be pulling it from here).
    public var offered: Bool

    public init(
        modelID: String, sha256: String, sizeBytes: Int64, lastUsedAt: Double, pinned: Bool = false, meshCopies: Int = 0,
        offered: Bool = true
    ) {
        self.modelID = modelID
        self.sha256 = sha256
        self.sizeBytes = sizeBytes
        self.lastUsedAt = lastUsedAt
        self.pinned = pinned
        self.meshCopies = meshCopies
        self.offered = offered
    }
}

/// A partial download (`{sha256}.part`) that no pull uses: none is running, and no download
/// of the node's queue (waiting, queued or paused) is for it. Its bytes count against the
/// limit like any partial's, and the planner may evict it (`StoragePlanner.evictions`).
public struct StalePartial: Sendable, Hashable {
    public var sha256: String
    public var sizeBytes: Int64
    /// Seconds since 1970 of its last write (the partial file's modification time).
    public var lastWrittenAt: Double

    public init(sha256: String, sizeBytes: Int64, lastWrittenAt: Double) {
        self.sha256 = sha256
        self.sizeBytes = sizeBytes
        self.lastWrittenAt = lastWrittenAt
    }
}

/// The storage limit's rules, as a pure function of what is stored (no I/O): whether a pull
/// of `neededBytes` fits, and which pulled models to evict first so that it does.
///
/// - Used storage is every pulled model plus every partial download (a partial file is
///   reserved at its full size as soon as it exists).
/// - A pull fits when it fits both under the limit and in the file system's free space;
///   evicting a model frees its bytes in both (the store is one folder on one file system).
/// - Only with a limit set does the node evict: least recently used first (ties: the larger
///   first, then by id); never a pinned model; never a model of which the mesh knows no other
///   whole copy, unless `force`.
/// - Stale partials (`StalePartial`: downloads no pull is running, queued or paused for)
///   are evicted before any model, oldest first (`evictions`): no one can use a partial, and
///   nothing asks for it any more. A partial whose download is queued or paused is never
///   stale (a preempted download resumes from its verified pieces); the caller decides.
/// - A pull that cannot fit even after evicting all it may is refused before any byte moves,
///   with the numbers (`StorageShortfall`).
public enum StoragePlanner {
    public struct Input: Sendable, Hashable {
        public var models: [StoredModel]
        /// Bytes of partial downloads on disk (and reserved by pulls under way).
        public var partialBytes: Int64
        /// The storage limit; nil: none (then nothing is evicted; free space is still checked).
        public var limitBytes: Int64?
        /// Free bytes of the file system, for this user.
        public var freeBytes: Int64
        /// Bytes the new pull will add (its size, less what its own partial already holds).
        public var neededBytes: Int64
        /// Evict a model even if the mesh knows of no other copy.
        public var force: Bool
        /// The partials among `partialBytes` that no pull uses any more (evictable first).
        public var stalePartials: [StalePartial]

        public init(
            models: [StoredModel], partialBytes: Int64, limitBytes: Int64?, freeBytes: Int64, neededBytes: Int64, force: Bool = false,
            stalePartials: [StalePartial] = []
        ) {
            self.models = models
            self.partialBytes = partialBytes
            self.limitBytes = limitBytes
            self.freeBytes = freeBytes
            self.neededBytes = neededBytes
            self.force = force
            self.stalePartials = stalePartials
        }

        /// Pulled models and partials.
        public var usedBytes: Int64 { models.reduce(partialBytes) { $0 + $1.sizeBytes } }

        /// Room for the pull without evicting anything: under the limit and on the disk.
        public var roomBytes: Int64 {
            let underLimit = limitBytes.map { $0 - usedBytes } ?? .max
            return max(0, min(underLimit, freeBytes))
        }
    }

    public enum Decision: Sendable, Hashable {
        /// The pull fits once these models are evicted (none: it fits as things are).
        case fits(evict: [StoredModel])
        /// It does not fit, even after evicting every model the rules allow.
        case full(StorageShortfall)
    }

    /// `evictions`' answer: `Decision` with the stale partials to delete first.
    public enum Evictions: Sendable, Hashable {
        /// The pull fits once these partials, then these models, are evicted (none: as things are).
        case fits(partials: [StalePartial], models: [StoredModel])
        /// It does not fit, even after evicting every partial and model the rules allow.
        case full(StorageShortfall)
    }

    /// Whether a pull of `input.neededBytes` fits, and which models to evict first. Stale
    /// partials are left out (as if there were none): a caller that deletes them uses
    /// `evictions`.
    public static func plan(_ input: Input) -> Decision {
        var models = input
        models.stalePartials = []
        switch evictions(models) {
        case .fits(_, let evict): return .fits(evict: evict)
        case .full(let shortfall): return .full(shortfall)
        }
    }

    /// Whether a pull of `input.neededBytes` fits, and what to evict first: stale partials
    /// (oldest first), then models (`evictionOrder`).
    public static func evictions(_ input: Input) -> Evictions {
        let room = input.roomBytes
        let partials = partialEvictionOrder(input)
        let models = evictionOrder(input)
        let evictable = partials.reduce(Int64(0)) { $0 + $1.sizeBytes } + models.reduce(Int64(0)) { $0 + $1.sizeBytes }
        guard input.neededBytes > room else { return .fits(partials: [], models: []) }
        let missing = input.neededBytes - room
        guard evictable >= missing else {
            return .full(
                StorageShortfall(
                    neededBytes: input.neededBytes, freeBytes: room, evictableBytes: evictable, limitBytes: input.limitBytes,
                    usedBytes: input.usedBytes, diskFreeBytes: input.freeBytes))
        }
        var freed: Int64 = 0
        var chosenPartials: [StalePartial] = []
        for partial in partials where freed < missing {
            chosenPartials.append(partial)
            freed += partial.sizeBytes
        }
        var chosenModels: [StoredModel] = []
        for model in models where freed < missing {
            chosenModels.append(model)
            freed += model.sizeBytes
        }
        return .fits(partials: chosenPartials, models: chosenModels)
    }

    /// The stale partials the node may evict, in the order it would (the least recently
    /// written first; ties: the larger first, then by SHA-256); empty without a limit.
    public static func partialEvictionOrder(_ input: Input) -> [StalePartial] {
        guard input.limitBytes != nil else { return [] }
        return input.stalePartials.filter { $0.sizeBytes > 0 }.sorted { a, b in
            if a.lastWrittenAt != b.lastWrittenAt { return a.lastWrittenAt < b.lastWrittenAt }
            if a.sizeBytes != b.sizeBytes { return a.sizeBytes > b.sizeBytes }
            return a.sha256 < b.sha256
        }
    }

    /// The models the node may evict, in the order it would (least recently used first);
    /// empty without a limit.
    public static func evictionOrder(_ input: Input) -> [StoredModel] {
        guard input.limitBytes != nil else { return [] }
        return input.models.filter { mayEvict($0, force: input.force) }.sorted { a, b in
            if a.lastUsedAt != b.lastUsedAt { return a.lastUsedAt < b.lastUsedAt }
            if a.sizeBytes != b.sizeBytes { return a.sizeBytes > b.sizeBytes }
            return a.modelID < b.modelID
        }
    }

    /// Whether the rules let the node evict `model`: not pinned, and another copy in the
    /// mesh (or `force`, or a version the node does not offer).
    public static func mayEvict(_ model: StoredModel, force: Bool) -> Bool {
        !model.pinned && (force || model.meshCopies > 0 || !model.offered)
    }
}

/// Why a pull does not fit: what it needs, what is free (under the limit and on the disk)
/// and what eviction could free.
public struct StorageShortfall: Sendable, Hashable {
    public var neededBytes: Int64
    /// Room for the pull without evicting: the smaller of the room under the limit and the
    /// disk's free space.
    public var freeBytes: Int64
    /// What evicting every model the rules allow would free.
    public var evictableBytes: Int64
    public var limitBytes: Int64?
    /// Pulled models and partials.
    public var usedBytes: Int64
    public var diskFreeBytes: Int64

    /// The sentence a person reads: the numbers, then what to do.
    public var message: String {
        let bytes = ByteCountText.format
        var text = "not enough storage: the pull needs \(bytes(neededBytes)), \(bytes(freeBytes)) is free"
        if let limitBytes {
            text += " (limit \(bytes(limitBytes)), \(bytes(usedBytes)) used by pulled models and partials;"
                + " \(bytes(diskFreeBytes)) free on the disk)"
        } else {
            text += " on the disk (no storage limit set: nothing is evicted)"
        }
        text += " and \(bytes(evictableBytes)) could be evicted"
        let advice =
            limitBytes == nil
            ? "free disk space"
            : "raise --max-storage, unpin a model (`atmo unpin ID`), or free disk space"
        return text + "; " + advice
    }
}

/// Byte counts for people: `1.5 GiB`, `512 MiB`, `17 B`.
public enum ByteCountText {
    public static func format(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = Double(bytes)
        var unit = 0
        while abs(value) >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        guard unit > 0 else { return "\(bytes) B" }
        let digits = abs(value) >= 100 ? 0 : 1
        let scale = digits == 0 ? 1.0 : 10.0
        let rounded = (value * scale).rounded() / scale
        return (digits == 0 ? "\(Int64(rounded))" : "\(rounded)") + " " + units[unit]
    }

    /// `50GB`, `5 GiB`, `500M`, `1.5T`, `1048576`: decimal units (kB, MB, GB, TB) are powers
    /// of 1000, binary ones (KiB, MiB, GiB, TiB, and K, M, G, T alone) powers of 1024. Nil
    /// for anything else, or a negative or overflowing count.
    public static func parse(_ text: String) -> Int64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let number = trimmed.prefix { $0.isNumber || $0 == "." }
        let unit = trimmed.dropFirst(number.count).trimmingCharacters(in: .whitespaces).lowercased()
        guard !number.isEmpty, let value = Double(number), value >= 0 else { return nil }
        let multipliers: [String: Double] = [
            "": 1, "b": 1,
            "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
            "k": 1024, "kib": 1024, "m": 1_048_576, "mib": 1_048_576, "g": 1_073_741_824, "gib": 1_073_741_824,
            "t": 1_099_511_627_776, "tib": 1_099_511_627_776,
        ]
        guard let multiplier = multipliers[unit] else { return nil }
        let bytes = (value * multiplier).rounded()
        guard bytes < 9.2e18 else { return nil }
        return Int64(bytes)
    }
}
