import AsyncHTTPClient
import AtmoMesh
import AtmoProtocol
import AtmoStore
import AtmoTesting
import Foundation
import NIOCore
import Testing

@testable import AtmoNode

/// The bounds of the control API say what they are: the follow and pin limits answer 409
/// with the store's sentence and a code, an unknown follow mode lists every mode taken, and
/// a download request naming up to 10,000 files is read (its body is over the other control
/// routes' 64 KiB), a larger body refused with the limit named.
@Suite(.timeLimit(.minutes(2)))
struct ControlBoundsTests {
    let routes = UpdateRoutesTests()

    @Test("the follow beyond the bound is 409 too_many_follows, saying to unfollow one first")
    func followBeyondTheBoundSaysWhy() async throws {
        try await withTemporaryDirectory(prefix: "atmo-bounds") { folder in
            try await withMeshNode(stateDirectory: folder.path + "/state", folders: []) { running in
                for index in 0..<StateDatabase.maxFollows {
                    try running.node.database.follow(modelID: "m\(index).gguf", mode: "auto")
                }
                let url = running.baseURL + UpdatesAPI.followsPath
                let (status, answer) = try await routes.call(url, "POST", body: #"{"model_id": "one-more.gguf"}"#)
                #expect(status == 409, "\(answer)")
                #expect(answer.contains("follows \(StateDatabase.maxFollows) models already; unfollow one first"), "\(answer)")
                #expect(answer.contains(#""code":"too_many_follows""#), "\(answer)")
                // A followed id still changes its mode at the bound.
                let (changed, text) = try await routes.call(url, "POST", body: #"{"model_id": "m0.gguf", "mode": "prompt"}"#)
                #expect(changed == 200, "\(text)")
            }
        }
    }

    @Test("an unknown follow mode is answered with every mode a follow takes")
    func unknownModeNamesEveryMode() async throws {
        for name in NodeUpdates.modeNames { #expect(UpdatePlanner.Mode(name: name) != nil, "\(name)") }
        try await withTemporaryDirectory(prefix: "atmo-bounds") { folder in
            try await withMeshNode(stateDirectory: folder.path + "/state", folders: []) { running in
                let (status, answer) = try await routes.call(
                    running.baseURL + UpdatesAPI.followsPath, "POST", body: #"{"model_id": "m.gguf", "mode": "evil"}"#)
                #expect(status == 400, "\(answer)")
                for name in ["auto", "auto-update", "prompt"] { #expect(answer.contains(name), "\(name): \(answer)") }
            }
        }
    }

    @Test("the pin beyond the bound is 409 too_many_pins, saying to unpin one first")
    func pinBeyondTheBoundSaysWhy() async throws {
        try await withTemporaryDirectory(prefix: "atmo-bounds") { folder in
            try await withMeshNode(stateDirectory: folder.path + "/state", folders: []) { running in
                for index in 0..<1_024 { try running.node.database.pin(modelID: "m\(index).gguf") }
                let url = running.baseURL + StorageAPI.pinsPath
                let (status, answer) = try await routes.call(url, "POST", body: #"{"model_id": "one-more.gguf"}"#)
                #expect(status == 409, "\(answer)")
                #expect(answer.contains("1024 pinned models already; unpin one first"), "\(answer)")
                #expect(answer.contains(#""code":"too_many_pins""#), "\(answer)")
                try #expect(running.node.database.pins().count == 1_024)
                // Pinning a pinned id changes nothing and is no error; an unpin makes room.
                let (again, text) = try await routes.call(url, "POST", body: #"{"model_id": "m0.gguf"}"#)
                #expect(again == 200, "\(text)")
                let (unpinned, _) = try await routes.call(url + "/m1.gguf", "DELETE")
                #expect(unpinned == 200)
                let (room, last) = try await routes.call(url, "POST", body: #"{"model_id": "one-more.gguf"}"#)
                #expect(room == 200, "\(last)")
            }
        }
    }

    /// A repository download naming `count` files of `length` bytes each.
    static func repositoryDownload(files count: Int, length: Int) -> String {
        let files = (0..<count).map { index in
            let name = "f\(index)"
            return "\"" + String(repeating: "d/", count: max(0, (length - name.count) / 2)) + name + "\""
        }
        return #"{"repo_id": "acme/tiny", "kind": "repository", "files": ["# + files.joined(separator: ",") + "]}"
    }

    @Test("a download request of more than 10,000 files is read and refused for its count, not its bytes")
    func tenThousandFilesFitTheBody() async throws {
        try await withTemporaryDirectory(prefix: "atmo-bounds") { folder in
            try await withMeshNode(stateDirectory: folder.path + "/state", folders: []) { running in
                let body = Self.repositoryDownload(files: 10_001, length: 40)
                #expect(body.utf8.count > 256 << 10)
                let (status, answer) = try await routes.call(running.baseURL + DownloadAPI.path, "POST", body: body)
                #expect(status == 400, "\(answer.prefix(300))")
                #expect(answer.contains("at most 10000 files"), "\(answer.prefix(300))")
            }
        }
    }

    @Test("a download request over the body limit is 413 naming the limit")
    func anOversizedDownloadRequestNamesTheLimit() async throws {
        try await withTemporaryDirectory(prefix: "atmo-bounds") { folder in
            try await withMeshNode(stateDirectory: folder.path + "/state", folders: []) { running in
                let body = Self.repositoryDownload(files: 10_000, length: 500)
                #expect(body.utf8.count > 4 << 20)
                let (status, answer) = try await routes.call(running.baseURL + DownloadAPI.path, "POST", body: body)
                #expect(status == 413, "\(answer.prefix(300))")
                #expect(answer.contains("at most 4 MiB") && answer.contains(#""code":"too_large""#), "\(answer.prefix(300))")
            }
        }
    }

    @Test("a repository pull (atmo pull org/name --files) takes the queue's body limit: read and refused for its count, 413 naming the limit beyond")
    func repositoryPullsTakeTheQueuesBodyLimit() async throws {
        try await withTemporaryDirectory(prefix: "atmo-bounds") { folder in
            try await withMeshNode(stateDirectory: folder.path + "/state", folders: []) { running in
                let url = running.baseURL + RepositoryPullAPI.path
                // Over the 256 KiB the route used to read: the body is read, the count refused.
                let counted = Self.repositoryPull(files: 10_001, length: 40)
                #expect(counted.utf8.count > 256 << 10)
                let (status, answer) = try await routes.call(url, "POST", body: counted)
                #expect(status == 400, "\(answer.prefix(300))")
                #expect(answer.contains("at most 10000 files"), "\(answer.prefix(300))")
                let oversized = Self.repositoryPull(files: 10_000, length: 500)
                #expect(oversized.utf8.count > 4 << 20)
                let (tooLarge, text) = try await routes.call(url, "POST", body: oversized)
                #expect(tooLarge == 413, "\(text.prefix(300))")
                #expect(text.contains("at most 4 MiB") && text.contains(#""code":"too_large""#), "\(text.prefix(300))")
            }
        }
    }

    /// A repository pull request naming `count` files of `length` bytes each.
    static func repositoryPull(files count: Int, length: Int) -> String {
        repositoryDownload(files: count, length: length)
            .replacingOccurrences(of: #""repo_id": "acme/tiny", "kind": "repository", "files""#, with: #""model_id": "acme--tiny", "paths""#)
    }
}
