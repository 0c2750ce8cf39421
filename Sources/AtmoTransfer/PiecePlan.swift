/// The download planner of one pull: which piece to fetch next, what to retry, when to give
/// up, and in which order pieces feed the whole-file hash. A pure state machine: it takes
/// events and returns actions; the engine does the I/O.
///
/// Pieces move `missing -> inFlight -> written -> hashed`; a resumed pull starts with its
/// saved pieces `written` (their bytes are on disk only). Fetching runs at most
/// `maxAhead` pieces past the hash cursor, which bounds the memory held for in-order hashing.
public struct PiecePlan: Sendable {
    public enum PieceState: Sendable, Equatable {
        case missing
        case inFlight
        /// On disk; `inMemory` when its bytes are still held for the hash.
        case written(inMemory: Bool)
        case hashed
    }

    public enum Assignment: Sendable, Equatable {
        /// Fetch bytes `[offset, offset + length)` of piece `index`.
        case fetch(index: Int, offset: Int64, length: Int64)
        /// Nothing to fetch until the hash moves the window.
        case wait
        /// Every piece is written or in flight elsewhere: this worker is done.
        case finished
    }

    public enum HashStep: Sendable, Equatable {
        /// Hash piece `index`; its bytes are in memory (from the worker) or only on disk.
        case hash(index: Int, fromMemory: Bool)
        case wait
        case complete
    }

    public enum FailureAction: Sendable, Equatable {
        case retry(afterSeconds: Double)
        case giveUp(attempts: Int)
    }

    public let totalSize: Int64
    public let pieceSize: Int64
    public let pieceCount: Int
    public let maxAhead: Int
    public let maxAttempts: Int
    public let retryBaseDelay: Double
    public private(set) var states: [PieceState]
    public private(set) var attempts: [Int]
    /// The lowest piece not yet hashed.
    public private(set) var hashCursor = 0

    /// `resumed`: pieces already on disk. `hashedPrefix`: how many of the first pieces (all
    /// of them in `resumed`) are already in the caller's running hash, as when a pull fails
    /// over to another source within one run.
    public init(
        totalSize: Int64, pieceSize: Int64, resumed: Bitfield? = nil, hashedPrefix: Int = 0, maxAhead: Int, maxAttempts: Int,
        retryBaseDelay: Double
    ) {
        precondition(pieceSize > 0 && maxAhead > 0 && maxAttempts > 0)
        self.totalSize = totalSize
        self.pieceSize = pieceSize
        self.pieceCount = Self.pieceCount(totalSize: totalSize, pieceSize: pieceSize)
        self.maxAhead = maxAhead
        self.maxAttempts = maxAttempts
        self.retryBaseDelay = retryBaseDelay
        states = Array(repeating: .missing, count: pieceCount)
        attempts = Array(repeating: 0, count: pieceCount)
        if let resumed, resumed.count == pieceCount {
            for index in 0..<pieceCount where resumed[index] { states[index] = .written(inMemory: false) }
        }
        precondition(
            hashedPrefix == 0 || (hashedPrefix <= pieceCount && (0..<hashedPrefix).allSatisfy { states[$0] == .written(inMemory: false) }),
            "hashed pieces must be on disk")
        for index in 0..<hashedPrefix { states[index] = .hashed }
        hashCursor = hashedPrefix
    }

    /// ceil(totalSize / pieceSize), written so it cannot overflow whatever the size (the
    /// familiar `(size + piece - 1) / piece` traps near 2^63); 0 for a size <= 0.
    public static func pieceCount(totalSize: Int64, pieceSize: Int64) -> Int {
        guard totalSize > 0, pieceSize > 0 else { return 0 }
        let count = totalSize / pieceSize + (totalSize % pieceSize == 0 ? 0 : 1)
        return Int(clamping: count)
    }

    public func range(of index: Int) -> (offset: Int64, length: Int64) {
        let offset = Int64(index) * pieceSize
        return (offset, min(pieceSize, totalSize - offset))
    }

    /// Next piece for a worker: the lowest missing piece inside the window.
    public mutating func nextAssignment() -> Assignment {
        let windowEnd = min(pieceCount, hashCursor + maxAhead)
        for index in hashCursor..<windowEnd where states[index] == .missing {
            states[index] = .inFlight
            attempts[index] += 1
            let (offset, length) = range(of: index)
            return .fetch(index: index, offset: offset, length: length)
        }
        // A missing piece past the window: wait until the hash moves the window. Nothing
        // missing at all: this worker is done (a piece in flight that fails is retried by
        // the worker holding it, see `pieceFailed`).
        return states[windowEnd...].contains(.missing) ? .wait : .finished
    }

    /// The piece's bytes are written to the partial file.
    public mutating func pieceWritten(_ index: Int, keptInMemory: Bool) {
        precondition(states[index] == .inFlight, "piece \(index) written while \(states[index])")
        states[index] = .written(inMemory: keptInMemory)
    }

    /// A fetch of the piece failed. While attempts remain, the piece stays with the worker
    /// that held it (still `inFlight`, so no other worker takes it during the back-off): that
    /// worker waits the returned delay, which doubles per attempt, then calls `retry`. Once
    /// the attempts are used up it returns to `missing` and the pull fails.
    public mutating func pieceFailed(_ index: Int) -> FailureAction {
        precondition(states[index] == .inFlight, "piece \(index) failed while \(states[index])")
        guard attempts[index] < maxAttempts else {
            states[index] = .missing
            return .giveUp(attempts: attempts[index])
        }
        return .retry(afterSeconds: retryBaseDelay * Double(1 << min(attempts[index] - 1, 5)))
    }

    /// The next attempt at a piece after `pieceFailed` answered `.retry`.
    public mutating func retry(_ index: Int) -> Assignment {
        precondition(states[index] == .inFlight, "piece \(index) retried while \(states[index])")
        attempts[index] += 1
        let (offset, length) = range(of: index)
        return .fetch(index: index, offset: offset, length: length)
    }

    /// The next piece for the in-order hash.
    public func nextHashStep() -> HashStep {
        guard hashCursor < pieceCount else { return .complete }
        if case .written(let inMemory) = states[hashCursor] { return .hash(index: hashCursor, fromMemory: inMemory) }
        return .wait
    }

    public mutating func pieceHashed(_ index: Int) {
        precondition(index == hashCursor, "hashed piece \(index) out of order (cursor \(hashCursor))")
        states[index] = .hashed
        hashCursor += 1
    }

    /// Pieces whose bytes are on disk (written or hashed): what a sync makes durable.
    public var writtenPieces: Bitfield {
        var field = Bitfield(count: pieceCount)
        for index in 0..<pieceCount {
            switch states[index] {
            case .written, .hashed: field[index] = true
            default: break
            }
        }
        return field
    }

    /// Bytes on disk, for progress.
    public var writtenBytes: Int64 {
        var total: Int64 = 0
        for index in 0..<pieceCount {
            switch states[index] {
            case .written, .hashed: total += range(of: index).length
            default: break
            }
        }
        return total
    }
}
