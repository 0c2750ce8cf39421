import AsyncHTTPClient
import AtmoNode
import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

/// Pause and resume by the user (`POST /v1/downloads/{id}/pause|resume`), across restarts.
@Suite(.timeLimit(.minutes(3)))
struct DownloadPauseTests {
    static let size = 12 << 20
    /// The provider's upload limit: the pull takes about 25 s, so a pause sent after a few MiB
    /// arrives mid-way however slowly a loaded machine polls (at 2 MB/s a loaded run could
    /// finish the last 9 MiB before its pause came; the shaper does not slow down under load).
    static let rate = 500_000

    @Test func aPausedDownloadKeepsItsPartialAndResumeFinishesItVerified() async throws {
        try await withTemporaryDirectory { directory in
            let offered = directory.sub("offered")
            let sha = try ModelFixtures.writeModel(at: offered + "/slow.gguf", size: Self.size, seed: 41, header: .gguf)
            try await withMeshNode(stateDirectory: directory.sub("a"), folders: [offered]) {
                $0.bandwidth.up = ByteRate(bytesPerSecond: Double(Self.rate))
            } _: { a in
                try await withMeshNode(stateDirectory: directory.sub("b"), folders: []) {
                    $0.mesh.peers = [a.baseURL]
                } _: { b in
                    let id = try b.node.download(modelID: "slow.gguf")
                    var seen: DownloadAPI.Status? = nil
                    let moving = try await eventually {
                        seen = try await Self.status(b, id)
                        return seen?.bytesDone ?? 0 >= 3 << 20
                    }
                    try #require(moving, "the download never got 3 MiB: \(String(describing: seen))")

                    let paused = try await Self.control(b, id, DownloadAPI.pauseSuffix)
                    #expect(paused.status == 200, "\(paused.text)")
                    let answered = try JSONDecoder().decode(DownloadAPI.StatusList.self, from: Data(paused.body)).downloads
                    #expect(answered.map(\.requestID) == [id])
                    // The answer waits for the run to stop for at most 5 s (`cancelAnswerWait`), so
                    // on a loaded machine it can still show the run's state: `queued` is waited for
                    // below, where it must come.
                    #expect(answered.first?.paused == true && answered.first?.pausedBy == .user, "\(answered)")
                    var stopped: DownloadAPI.Status? = nil
                    let queued = try await eventually {
                        stopped = try await Self.status(b, id)
                        return stopped?.state == .queued && stopped?.paused == true
                    }
                    try #require(queued, "the paused run did not stop: \(String(describing: stopped))")
                    let partials = try FileManager.default.contentsOfDirectory(atPath: directory.sub("b") + "/models/.atmo-partial")
                    #expect(partials.contains { $0.hasSuffix(".part") }, "the partial is kept: \(partials)")

                    // It stays paused: no slot, no bytes, whatever the queue does meanwhile.
                    let held = try #require(stopped)
                    try await Task.sleep(for: .seconds(1.5))
                    let later = try #require(try await Self.status(b, id))
                    #expect(later.state == .queued && later.paused == true && later.pausedBy == .user, "\(later)")
                    #expect(later.bytesDone == held.bytesDone, "\(held) then \(later)")
                    // Pausing it again changes nothing; an unknown id is a 404.
                    #expect(try await Self.control(b, id, DownloadAPI.pauseSuffix).status == 200)
                    #expect(try await Self.control(b, "no-such-download", DownloadAPI.pauseSuffix).status == 404)

                    let resumed = try await Self.control(b, "slow.gguf", DownloadAPI.resumeSuffix)
                    #expect(resumed.status == 200, "\(resumed.text)")
                    let done = try await eventually(timeout: .seconds(90)) { try await Self.status(b, id)?.state == .completed }
                    let final = try #require(try await Self.status(b, id))
                    try #require(done, "\(final)")
                    #expect(final.paused != true && final.pausedBy == nil, "\(final)")
                    #expect((final.resumedBytes ?? 0) > 0, "it went on from its partial: \(final)")
                    #expect(try ModelFixtures.sha256(of: try #require(final.path)) == sha)
                }
            }
        }
    }

    @Test func aPausedDownloadStaysPausedAcrossARestartAndStartsOnlyOnResume() async throws {
        try await withTemporaryDirectory { directory in
            let offered = directory.sub("offered")
            let sha = try ModelFixtures.writeModel(at: offered + "/kept.gguf", size: Self.size, seed: 42, header: .gguf)
            try await withMeshNode(stateDirectory: directory.sub("a"), folders: [offered]) {
                $0.bandwidth.up = ByteRate(bytesPerSecond: Double(Self.rate))
            } _: { a in
                let state = directory.sub("b")
                let id = try await withMeshNode(stateDirectory: state, folders: []) {
                    $0.mesh.peers = [a.baseURL]
                } _: { b in
                    let id = try b.node.download(modelID: "kept.gguf")
                    let moving = try await eventually { try await Self.status(b, id)?.bytesDone ?? 0 >= 2 << 20 }
                    try #require(moving)
                    #expect(try await Self.control(b, id, DownloadAPI.pauseSuffix).status == 200)
                    return id
                }
                try await withMeshNode(stateDirectory: state, folders: []) {
                    $0.mesh.peers = [a.baseURL]
                } _: { b in
                    // The node knows A's model again, and still does not start the download.
                    let known = try await eventually(timeout: .seconds(30)) {
                        b.node.models().contains { $0.entry.modelID == "kept.gguf" }
                    }
                    #expect(known)
                    try await Task.sleep(for: .seconds(1.5))
                    let restored = try #require(try await Self.status(b, id))
                    #expect(restored.state == .queued && restored.paused == true && restored.pausedBy == .user, "\(restored)")
                    // Not started, and it shows what its partial holds (not 0).
                    #expect(restored.bytesDone > 0 && restored.bytesDone <= restored.totalBytes, "\(restored)")

                    // `atmo downloads` shows it paused by its user; `atmo downloads resume` resumes it.
                    try await withAtmoSandbox { sandbox in
                        let shown = try await sandbox.run(["downloads", "--state-dir", state], name: "downloads")
                        let row = shown.stdout.split(separator: "\n").first { $0.contains("kept.gguf") }.map(String.init) ?? ""
                        #expect(row.contains("paused (user)"), "\(shown.stdout)")
                        let resumed = try await sandbox.run(
                            ["downloads", "resume", "kept.gguf", "--state-dir", state, "--json"], name: "resume")
                        #expect(resumed.status == 0, "\(resumed.stderr)")
                        let answer = try? JSONDecoder().decode(DownloadAPI.StatusList.self, from: Data(resumed.stdout.utf8))
                        #expect(answer?.downloads.map(\.requestID) == [id], "\(resumed.stdout)")
                        let unknown = try await sandbox.run(
                            ["downloads", "pause", "nothing-like-this", "--state-dir", state], name: "pause")
                        #expect(unknown.status == 4, "\(unknown.stderr)")
                    }
                    let done = try await eventually(timeout: .seconds(90)) { try await Self.status(b, id)?.state == .completed }
                    let final = try #require(try await Self.status(b, id))
                    try #require(done, "\(final)")
                    #expect((final.resumedBytes ?? 0) > 0, "it went on from the first run's partial: \(final)")
                    #expect(try ModelFixtures.sha256(of: try #require(final.path)) == sha)
                }
            }
        }
    }

    static func status(_ node: RunningNode, _ requestID: String) async throws -> DownloadAPI.Status? {
        try await statuses(node).first { $0.requestID == requestID }
    }

    static func statuses(_ node: RunningNode) async throws -> [DownloadAPI.Status] {
        let answer = try await Client.get(node.baseURL + DownloadAPI.path)
        return try JSONDecoder().decode(DownloadAPI.StatusList.self, from: Data(answer.body)).downloads
    }

    /// `POST /v1/downloads/{id}{suffix}`.
    static func control(_ node: RunningNode, _ id: String, _ suffix: String) async throws -> Client.Answer {
        try await Client.post(node.baseURL + DownloadAPI.path + "/" + id + suffix, json: "{}")
    }
}
