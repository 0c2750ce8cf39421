import AtmoStore
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One download of one blob from the upstream into a scratch file, which clients may read
/// while it grows (`HubRoutes+Upstream.swift`): how many bytes are written, whether the
/// upstream answered, and the outcome once the bytes are checked against the upstream's
/// hash. The bytes of a running attempt are unverified: a reader hands out all but the last
/// `holdBack` bytes before `verified`, and none after `failed`.
final class HubUpstreamAttempt: Sendable {
    enum Outcome: Sendable, Equatable {
        /// Every byte arrived and matches the upstream's hash; `sha256` is the file's.
        case verified(sha256: String)
        case failed(String)
    }

    struct Progress: Sendable, Equatable {
        /// The upstream answered 200 and its body is coming.
        var started = false
        /// Bytes written to the scratch file (readable by `pread` on a reader's descriptor).
        var written: Int64 = 0
        var outcome: Outcome?
        /// Whether readers may see unverified bytes (see `setFile`).
        var streamsUnverified = false
        /// Why a failed attempt failed, when the upstream refused it (gated, rate limit).
        var refusal: HubUpstreamRefusal?
    }

    /// How many final bytes a reader holds back until the attempt is verified: one is
    /// enough (a client never has a complete-looking file of unverified bytes).
    static let holdBack: Int64 = 1

    let file: HubUpstreamClient.File
    private struct State {
        var progress = Progress()
        /// The scratch file, open from the download's start until the attempt ends (readers
        /// duplicate it).
        var fd: Int32 = -1
    }
    private let state = Mutex(State())

    init(file: HubUpstreamClient.File) {
        self.file = file
    }

    /// The scratch file is open; `streamsUnverified` false when the attempt could not leave
    /// its marker (`HubUpstreamTaint`): readers then wait for the outcome before any byte.
    func setFile(_ fd: Int32, streamsUnverified: Bool) {
        state.withLock { state in
            state.fd = fd
            state.progress.streamsUnverified = streamsUnverified
        }
    }

    var progress: Progress { state.withLock { $0.progress } }

    func markStarted() { state.withLock { $0.progress.started = true } }

    func advance(to written: Int64) { state.withLock { $0.progress.written = written } }

    func finish(_ outcome: Outcome, refusal: HubUpstreamRefusal? = nil) {
        state.withLock { state in
            guard state.progress.outcome == nil else { return }
            state.progress.outcome = outcome
            state.progress.refusal = refusal
        }
    }

    /// A descriptor of the scratch file of its own for a reader (closed by the reader), nil
    /// once the attempt ended and closed it.
    func openReader() -> Int32? {
        state.withLock { state in
            guard state.fd >= 0 else { return nil }
            let copy = dup(state.fd)
            return copy >= 0 ? copy : nil
        }
    }

    /// Closes the attempt's own descriptor (readers keep theirs).
    func closeFile() {
        state.withLock { state in
            if state.fd >= 0 { FileIO.close(state.fd) }
            state.fd = -1
        }
    }

    /// How far a reader may read now: every written byte once verified, else all but the
    /// held-back tail (nothing when this attempt does not stream unverified bytes).
    static func readable(_ progress: Progress, size: Int64) -> Int64 {
        if case .verified = progress.outcome { return size }
        guard progress.streamsUnverified else { return 0 }
        return min(progress.written, max(0, size - holdBack))
    }

    /// Waits (polling, bounded by `limit`) until the upstream answered or the attempt ended.
    func waitUntilStarted(limit: Duration) async {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline, !Task.isCancelled {
            let progress = self.progress
            if progress.started || progress.outcome != nil { return }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}
