import AtmoProtocol
import Synchronization

/// Fetches files of repositories the mesh offers into this node (`MeshNode.pullRepository`,
/// one file at a time into the Hugging Face cache the node scans, with the node's pull
/// engine: swarm pulls, relays, resume), once per file: a request for a file whose fetch
/// runs joins that fetch. The fetch outlives the request that started it (a client that
/// gave up, or whose body was cut, does not undo it), so the node holds the file afterwards
/// and serves it to the next client and to the mesh. A fetch that ended is forgotten, so
/// the next request for a file whose fetch failed tries again.
final class HubMeshFetch: Sendable {
    /// Pulls one file (its path) of a repository revision into this node, reporting the
    /// bytes received so far; returns where the file was installed.
    let pull: @Sendable (RepositoryEntry, String, @escaping @Sendable (Int64) -> Void) async throws -> String

    /// One fetch of one file, shared by every request for it.
    final class Running: Sendable {
        private struct State {
            var outcome: Result<String, HubFetchError>?
            var bytesReceived: Int64 = 0
        }
        private let state = Mutex(State())
        /// Set once by `start`, right after the task is made.
        fileprivate let task = Mutex<Task<Void, Never>?>(nil)

        /// nil while the fetch runs; else where the file was installed, or why it failed.
        var outcome: Result<String, HubFetchError>? { state.withLock { $0.outcome } }
        /// Bytes the pull reported received so far (grows while the fetch makes progress).
        var bytesReceived: Int64 { state.withLock { $0.bytesReceived } }

        fileprivate func received(_ bytes: Int64) { state.withLock { $0.bytesReceived = max($0.bytesReceived, bytes) } }
        fileprivate func finish(_ outcome: Result<String, HubFetchError>) { state.withLock { $0.outcome = outcome } }

        /// Waits (polling, bounded by `limit`) until the fetch ended or `until` holds; the
        /// outcome (nil: still running).
        func wait(upTo limit: Duration, until: () -> Bool = { false }) async -> Result<String, HubFetchError>? {
            let deadline = ContinuousClock.now + limit
            while true {
                if let outcome { return outcome }
                guard ContinuousClock.now < deadline, !Task.isCancelled, !until() else { return nil }
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
    }
    fileprivate let running = Mutex<[String: Running]>([:])
    /// Files whose last fetch failed, and when they may be fetched again (10 s, doubling up
    /// to 10 min; a fetch that succeeds forgets the file).
    fileprivate let failures = Mutex(HubUpstreamBackoff(base: .seconds(10), ceiling: .seconds(600)))

    init(pull: @escaping @Sendable (RepositoryEntry, String, @escaping @Sendable (Int64) -> Void) async throws -> String) {
        self.pull = pull
    }

    /// Fetches that may run at once: requests for other files meanwhile get `busy` (each
    /// distinct file a client names would otherwise start a pull, outside the download
    /// queue's limits).
    static let maxRunning = 16

    /// What a request for a file gets: its fetch (running, or started now), or a refusal.
    enum Start {
        case running(Running)
        /// The file's last fetch failed: it is not fetched again before this wait is over
        /// (a peer serving wrong bytes would otherwise cost a whole download per request).
        case backingOff(Duration)
        /// `maxRunning` fetches of other files run.
        case busy
    }

    /// The fetch of `path` of `entry`: the one running, else a new one (unless refused).
    func start(_ entry: RepositoryEntry, path: String) -> Start {
        let key = entry.repoID + "@" + entry.revision + "/" + path
        return running.withLock { running -> Start in
            if let fetch = running[key] { return .running(fetch) }
            if let wait = failures.withLock({ $0.wait(key, now: .now) }) { return .backingOff(wait) }
            guard running.count < Self.maxRunning else { return .busy }
            let fetch = Running()
            running[key] = fetch
            let task = Task {
                let outcome: Result<String, HubFetchError>
                do {
                    outcome = .success(try await self.pull(entry, path) { fetch.received($0) })
                } catch {
                    outcome = .failure(HubFetchError(message: "\(error)"))
                }
                self.failures.withLock { failures in
                    switch outcome {
                    case .success: failures.succeeded(key)
                    case .failure: if !Task.isCancelled { failures.failed(key, now: .now) }
                    }
                }
                fetch.finish(outcome)
                self.running.withLock { running in
                    if running[key] === fetch { running[key] = nil }
                }
            }
            fetch.task.withLock { $0 = task }
            return .running(fetch)
        }
    }
}

extension HubMeshFetch {
    /// Cancels every fetch still running and waits for them (the node is stopping: a fetch
    /// must not outlive the pull engine and the file threads it uses).
    func cancelAll() async {
        let tasks = running.withLock { $0.values.compactMap { $0.task.withLock { $0 } } }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
    }
}

/// A fetch from the mesh that failed (no provider, a transfer that failed).
struct HubFetchError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
