import AtmoProtocol

/// Which source a pull uses next, and when it gives up: a pure state machine over the
/// request's sources (best first). The engine asks `next()`, looks the model up at that
/// source, feeds the answer to `answered` and any failure (of the look-up or of the
/// transfer) to `failed`; each returns what to do. No I/O.
///
/// - The first entry accepted pins the artefact (sha256 and size): a later source that
///   offers anything else is skipped, so a partial is never assembled from two versions.
/// - A source failure moves on to the next source, keeping the partial (`failOver`).
/// - A whole-file hash mismatch discards the partial; the remaining sources get one more
///   try from zero (`restart`). A second mismatch ends the pull.
/// - Failures that are not a source's (cancelled, disk full, local errors, another process
///   pulling) end the pull at once with that error.
/// - When every source failed, the pull fails with the most relevant error (a failed
///   transfer over a failed look-up over a source without the artefact; the later one on a
///   tie) and a message listing what happened at each source.
struct SourceSelection: Sendable {
    /// How far a source got before it failed; ranks the errors for the final one.
    enum Stage: Int, Sendable, Comparable {
        /// Answered, but without the artefact (not offered, another version).
        case skipped
        /// Could not be asked: unreachable, an error status, a malformed answer.
        case lookUpFailed
        /// Offered the artefact, then failed while transferring it (or the hash failed).
        case transferFailed

        static func < (lhs: Stage, rhs: Stage) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    struct Attempt: Sendable {
        var source: PullSource
        var stage: Stage
        var error: TransferError
    }

    enum Next: Sendable {
        /// Look the model up at this source.
        case ask(PullSource)
        /// No source is left: fail the pull with this error.
        case giveUp(TransferError)
    }

    enum Verdict: Sendable {
        /// Transfer this entry from the source.
        case use(ModelEntry)
        /// The source cannot provide the artefact; go on with `next()`.
        case skip(TransferError)
    }

    enum Decision: Sendable {
        /// Go on with `next()`, continuing from the bytes already on disk.
        case failOver
        /// Go on with `next()` from zero: the partial was discarded.
        case restart
        /// Fail the pull with this error.
        case stop(TransferError)
    }

    let modelID: String
    /// The request's sources, duplicates removed, best first (`tryLast` reorders them).
    private(set) var sources: [PullSource]
    let expectedSHA256: String?
    /// The artefact every source must offer, once one entry was accepted.
    private(set) var pinned: ModelEntry?
    /// The sources that failed or were skipped, in order.
    private(set) var attempts: [Attempt] = []
    private var nextIndex = 0
    private var restarted = false

    init(modelID: String, sources: [PullSource], expectedSHA256: String?) {
        self.modelID = modelID
        var seen = Set<PullSource>()
        self.sources = sources.filter { seen.insert($0).inserted }
        self.expectedSHA256 = expectedSHA256?.lowercased()
    }

    /// The sources not tried yet, best first.
    var untriedSources: [PullSource] { Array(sources[nextIndex...]) }

    /// The sources that answered they do not offer the model: a node still pulling it does
    /// not list it, yet may hold pieces of it.
    var notOfferingSources: [PullSource] {
        attempts.filter { $0.error.code == .notOffered }.map(\.source)
    }

    /// Whether a source after the current one is left to fail over to.
    var hasUntriedSources: Bool { nextIndex < sources.count }

    /// Whether a source not in `excluded` is left to try.
    func hasUntriedSources(besides excluded: [PullSource]) -> Bool {
        sources[nextIndex...].contains { !excluded.contains($0) }
    }

    /// `suspects` (they named a piece manifest that was doubted) are tried after every
    /// other source; one tried already (the current one) becomes untried again, at the end.
    mutating func tryLast(_ suspects: [PullSource]) {
        guard !suspects.isEmpty else { return }
        let isSuspect = { (source: PullSource) in suspects.contains(source) }
        let tried = sources[..<nextIndex].filter { !isSuspect($0) }
        let untried = sources[nextIndex...].filter { !isSuspect($0) }
        sources = tried + untried + sources.filter(isSuspect)
        nextIndex = tried.count
    }

    /// The next source to try, or the pull's failure when none is left.
    mutating func next() -> Next {
        guard nextIndex < sources.count else { return .giveUp(finalError()) }
        nextIndex += 1
        return .ask(sources[nextIndex - 1])
    }

    /// `source` answered the look-up with `entry` (nil: it does not offer the model).
    mutating func answered(_ source: PullSource, entry: ModelEntry?) -> Verdict {
        let skip: TransferError
        if let entry {
            if entry.modelID != modelID {
                let error = TransferError(
                    .protocolViolation, "\(source.baseURL) answered the request for \(modelID) with the entry of \(entry.modelID)")
                attempts.append(Attempt(source: source, stage: .lookUpFailed, error: error))
                return .skip(error)
            }
            if let pinned {
                if pinned.sha256 == entry.sha256 && pinned.sizeBytes == entry.sizeBytes { return .use(pinned) }
                skip = TransferError(
                    .sourceChanged,
                    "\(source.baseURL) offers \(modelID) as \(entry.sha256) (\(entry.sizeBytes) bytes), not the \(pinned.sha256) (\(pinned.sizeBytes) bytes) this pull is assembling; skipped, versions are never mixed"
                )
            } else if let expectedSHA256, expectedSHA256 != entry.sha256 {
                skip = TransferError(
                    .sourceChanged, "\(source.baseURL) offers \(modelID) with SHA-256 \(entry.sha256), not the requested \(expectedSHA256)")
            } else {
                pinned = entry
                return .use(entry)
            }
        } else {
            skip = TransferError(.notOffered, "\(source.baseURL) does not offer \(modelID) (see `atmo models --from \(source.baseURL)`)")
        }
        attempts.append(Attempt(source: source, stage: .skipped, error: skip))
        return .skip(skip)
    }

    /// The look-up at `source`, or (`transferring`) the transfer from it, failed with `error`.
    mutating func failed(_ source: PullSource, _ error: TransferError, transferring: Bool) -> Decision {
        guard Self.isSourceFailure(error) else { return .stop(error) }
        attempts.append(Attempt(source: source, stage: transferring ? .transferFailed : .lookUpFailed, error: error))
        guard error.code == .hashMismatch else { return .failOver }
        guard !restarted else {
            var final = finalError()
            final.message += "\nthe whole-file hash failed twice; the other sources were not tried"
            return .stop(final)
        }
        restarted = true
        return .restart
    }

    /// Whether `error` is the source's failure (worth trying another source) rather than
    /// this node's or the user's.
    static func isSourceFailure(_ error: TransferError) -> Bool {
        switch error.code {
        case .cancelled, .storageFull, .permissionDenied, .localError, .alreadyRunning: return false
        default: return true
        }
    }

    /// The most relevant error, with a message listing every source's failure when there
    /// was more than one source.
    func finalError() -> TransferError {
        guard var chosen = attempts.first else {
            return TransferError(.notOffered, "no source to pull \(modelID) from")
        }
        for attempt in attempts.dropFirst() where attempt.stage >= chosen.stage { chosen = attempt }
        guard attempts.count > 1 else { return chosen.error }
        let lines = attempts.map { "  - \($0.source): \($0.error.message)" }
        return TransferError(
            chosen.error.code,
            "could not pull \(modelID) from any of \(attempts.count) sources:\n" + lines.joined(separator: "\n"),
            underlying: chosen.error)
    }
}
