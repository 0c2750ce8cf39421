import AtmoProtocol
import Synchronization
import Testing

@testable import AtmoNode

/// `HubMeshFetch`'s bounds (hostile review F13): at most `maxRunning` fetches at once, and a
/// file whose fetch failed is not fetched again by every request while its back-off lasts.
struct HubMeshFetchLimitTests {
    struct PullFailed: Error {}

    static func entry(files: Int) -> RepositoryEntry {
        let commit = String(repeating: "a", count: 40)
        return RepositoryEntry(
            modelID: "org--name", repoID: "org/name", revision: commit, refs: ["main"],
            files: (0..<files).map { index in
                RepositoryFile(
                    path: "f\(index).bin", sizeBytes: 10, sha256: String(repeating: "c", count: 64),
                    blobID: String(repeating: "c", count: 64), modelID: "org--name--f\(index).bin")
            })
    }

    @Test func fetchesBeyondTheBoundAreRefusedUntilOneEnds() async throws {
        let release = Mutex(false)
        let fetch = HubMeshFetch { _, path, _ in
            while !release.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
            return "/installed/" + path
        }
        let entry = Self.entry(files: HubMeshFetch.maxRunning + 1)
        var started: [HubMeshFetch.Running] = []
        for index in 0..<HubMeshFetch.maxRunning {
            guard case .running(let running) = fetch.start(entry, path: "f\(index).bin") else {
                Issue.record("fetch \(index) was refused under the bound")
                return
            }
            started.append(running)
        }
        // The same file joins its fetch; another file is refused.
        guard case .running(let joined) = fetch.start(entry, path: "f0.bin") else {
            Issue.record("a file being fetched was not joined")
            return
        }
        #expect(joined === started[0])
        guard case .busy = fetch.start(entry, path: "f\(HubMeshFetch.maxRunning).bin") else {
            Issue.record("a fetch past the bound was started")
            return
        }
        release.withLock { $0 = true }
        for running in started { _ = await running.wait(upTo: .seconds(30)) }
        guard case .running = fetch.start(entry, path: "f\(HubMeshFetch.maxRunning).bin") else {
            Issue.record("a fetch was refused once the others ended")
            return
        }
        await fetch.cancelAll()
    }

    @Test func aFileWhoseFetchFailedBacksOff() async throws {
        let pulls = Mutex(0)
        let fetch = HubMeshFetch { _, _, _ in
            pulls.withLock { $0 += 1 }
            throw PullFailed()
        }
        let entry = Self.entry(files: 2)
        guard case .running(let first) = fetch.start(entry, path: "f0.bin") else {
            Issue.record("the first fetch was refused")
            return
        }
        let outcome = await first.wait(upTo: .seconds(30))
        guard case .failure = outcome else {
            Issue.record("the failing pull did not fail: \(String(describing: outcome))")
            return
        }
        // Wait until the ended fetch is forgotten, then ask again: backing off, no new pull.
        var answer = fetch.start(entry, path: "f0.bin")
        for _ in 0..<200 {
            if case .running = answer {
                try await Task.sleep(for: .milliseconds(10))
                answer = fetch.start(entry, path: "f0.bin")
            } else {
                break
            }
        }
        guard case .backingOff(let wait) = answer else {
            Issue.record("a file whose fetch just failed was fetched again")
            return
        }
        #expect(wait > .zero && wait <= .seconds(10))
        #expect(pulls.withLock { $0 } == 1)
        // Another file is not held back by it.
        guard case .running = fetch.start(entry, path: "f1.bin") else {
            Issue.record("another file was refused")
            return
        }
        await fetch.cancelAll()
    }
}
