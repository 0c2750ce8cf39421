import AtmoProtocol
import Synchronization

/// Fetches files of repositories the mesh offers into this node (`MeshNode.pullRepository`,
/// one file at a time into the Hugging Face cache the node scans, with the node's pull
/// engine: swarm pulls, relays, resume), once per file: a request for a file whose fetch
/// runs waits for that fetch. The fetch outlives the request that started it (a client that
/// gave up or was redirected does not undo it), so the node holds the file afterwards and
/// serves it to the next client and to the mesh.
final class HubMeshFetch: Sendable {
    /// Pulls one file (its path) of a repository revision into this node.
    let pull: @Sendable (RepositoryEntry, String) async throws -> Void
    /// A base URL of a node offering the revision whose HTTP endpoint a client could use.
    let providerURL: @Sendable (RepositoryEntry) -> String?

    fileprivate struct Running {
        var task: Task<Void, Never>
        var outcome: Result<Void, HubFetchError>?
    }
    fileprivate let running = Mutex<[String: Running]>([:])

    init(
        pull: @escaping @Sendable (RepositoryEntry, String) async throws -> Void,
        providerURL: @escaping @Sendable (RepositoryEntry) -> String?
    ) {
        self.pull = pull
        self.providerURL = providerURL
    }

    /// Starts the fetch of `path` of `entry` unless it runs already, then waits up to `wait`
    /// for it: its outcome, or nil while it still runs. A finished fetch is forgotten by the
    /// first request that sees its outcome (a failed one may be tried again).
    func fetch(_ entry: RepositoryEntry, path: String, wait: Duration) async -> Result<Void, HubFetchError>? {
        let key = entry.repoID + "@" + entry.revision + "/" + path
        running.withLock { running in
            guard running[key] == nil else { return }
            let task = Task {
                let outcome: Result<Void, HubFetchError>
                do {
                    try await self.pull(entry, path)
                    outcome = .success(())
                } catch {
                    outcome = .failure(HubFetchError(message: "\(error)"))
                }
                self.running.withLock { $0[key]?.outcome = outcome }
            }
            running[key] = Running(task: task, outcome: nil)
        }
        let deadline = ContinuousClock.now + wait
        while true {
            let outcome = running.withLock { running -> Result<Void, HubFetchError>?? in
                guard let entry = running[key] else { return .some(nil) }
                guard let outcome = entry.outcome else { return nil }
                running[key] = nil
                return .some(outcome)
            }
            // Gone (another request took the outcome): the file is in place or failed; the
            // caller looks again.
            if let outcome { return outcome ?? .success(()) }
            guard ContinuousClock.now < deadline, !Task.isCancelled else { return nil }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}

extension HubMeshFetch {
    /// Cancels every fetch still running and waits for them (the node is stopping: a fetch
    /// must not outlive the pull engine and the file threads it uses).
    func cancelAll() async {
        let tasks = running.withLock { $0.values.map(\.task) }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
    }
}

/// A fetch from the mesh that failed (no provider, a transfer that failed).
struct HubFetchError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
