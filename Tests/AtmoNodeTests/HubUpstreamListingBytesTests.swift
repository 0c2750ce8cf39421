import AsyncHTTPClient
import AtmoTesting
import Foundation
import Testing

@testable import AtmoNode

/// A tree listing is bounded in bytes over all its pages (`HubUpstreamClient.maxTreeBytes`,
/// 64 MiB), not only per page: 64 pages of 8 MiB would be 512 MiB read for one lookup
/// (hostile review dec08). The pages' bytes are counted as they are read, before any is
/// decoded, and the refusal names the bound.
struct HubUpstreamListingBytesTests {
    static let pageBytes = 300 << 10

    /// A fake upstream whose listing of `HubUpstreamBoundsTests.repo` has `pages` pages of
    /// `pageBytes` bytes each (one file, then spaces), each linking the next; the last one,
    /// if `lastMalformed`, is no JSON (decoding it would fail).
    func withListing(
        pages: Int, lastMalformed: Bool = false, _ body: (HubUpstreamClient, FakeHubUpstream) async throws -> Void
    ) async throws {
        let treePath = HubUpstreamBoundsTests.treePath
        // The fake's script sees the path without its query: the n-th request is page n.
        let fake = try await FakeHubUpstream { path, attempt in
            guard path == treePath, attempt <= pages else { return nil }
            let item = HubUpstreamBoundsTests.fileItem("f\(attempt).txt")
            let opening = attempt == pages && lastMalformed ? "[{" : "[" + item
            let page = opening + String(repeating: " ", count: Self.pageBytes - opening.utf8.count - 1) + "]"
            var headers = ["Content-Type: application/json"]
            if attempt < pages { headers.append(#"Link: <\#(treePath)?recursive=true&expand=false&cursor=\#(attempt)>; rel="next""#) }
            return .whole(Array(page.utf8), headers: headers)
        }
        do {
            try await HTTPClient.withHTTPClient { http in
                var client = HubUpstreamClient(http: http, baseURL: fake.baseURL)
                client.timeout = .seconds(120)
                client.maxTreeBytes = 1 << 20
                try await body(client, fake)
            }
        } catch {
            await fake.stop()
            throw error
        }
        await fake.stop()
    }

    /// Four pages of 300 KiB pass 1 MiB: the fourth is refused by the listing's bound before
    /// it is decoded (it is no JSON), and no page after it is asked for.
    @Test func aListingOverItsByteBoundIsRefusedBeforeDecoding() async throws {
        try await withListing(pages: 4, lastMalformed: true) { client, fake in
            var message = ""
            do {
                let files = try await client.files(repoID: HubUpstreamBoundsTests.repo, commit: HubUpstreamBoundsTests.commit)
                message = "read \(files.count) files"
            } catch {
                message = "\(error)"
            }
            #expect(
                message == "the tree listing of \(HubUpstreamBoundsTests.repo) is larger than 1 MiB over its pages,"
                    + " the most this node reads of one listing")
            #expect(fake.requests(HubUpstreamBoundsTests.treePath) == 4)
        }
    }

    /// Three pages (900 KiB) stay within it: every file is read.
    @Test func aListingWithinItsByteBoundReads() async throws {
        try await withListing(pages: 3) { client, _ in
            let files = try await client.files(repoID: HubUpstreamBoundsTests.repo, commit: HubUpstreamBoundsTests.commit)
            #expect(files.map(\.path) == ["f1.txt", "f2.txt", "f3.txt"])
        }
    }

    /// The node's bound: room for every real listing (`HubUpstreamJSON.maxTreeItems` items of
    /// the longest paths are ~20 MB), far below 64 pages of 8 MiB.
    @Test func theBoundIs64MiB() {
        #expect(HubUpstreamJSON.maxTreeBytes == 64 << 20)
        #expect(HubUpstreamJSON.maxTreeBytes > HubUpstreamJSON.maxTreeItems * 1200)
        #expect(HubUpstreamClient.mebibytes(HubUpstreamJSON.maxTreeBytes) == "64 MiB")
    }
}
