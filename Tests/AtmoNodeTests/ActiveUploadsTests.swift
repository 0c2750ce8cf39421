import AtmoDashboardAssets
import AtmoProtocol
import Testing

@testable import AtmoNode

/// The dashboard's pieces that need no server: the upload registry, asset paths, ETags.
struct ActiveUploadsTests {
    @Test func uploadsAreListedWhileTheyRunBoundedAndCounted() {
        let uploads = ActiveUploads(capacity: 2)
        let first = uploads.begin(modelID: "a.gguf", sha256: "aa", peer: "127.0.0.1", route: "http", sizeBytes: 10)
        let second = uploads.begin(modelID: "b.gguf", sha256: "bb", peer: "node-b", route: "relay", sizeBytes: nil)
        #expect(uploads.begin(modelID: "c.gguf", sha256: "cc", peer: nil, route: "http", sizeBytes: 1) == nil, "bounded")
        first?.add(4)
        first?.add(3)
        #expect(uploads.list.map(\.modelID) == ["a.gguf", "b.gguf"])
        #expect(uploads.list.first?.bytesSent == 7)
        let version = uploads.version
        second.map(uploads.end)
        second.map(uploads.end)  // twice: no change
        #expect(uploads.version == version + 1)
        #expect(uploads.list.map(\.route) == ["http"])
        #expect(uploads.begin(modelID: "c.gguf", sha256: "cc", peer: nil, route: "direct", sizeBytes: 1) != nil, "room again")
    }

    @Test func assetPathsNameOnlyTheDashboardsFiles() {
        #expect(DashboardAssets.asset(forPath: "/")?.name == "index.html")
        #expect(DashboardAssets.asset(forPath: "/ui/app.js")?.contentType == "text/javascript; charset=utf-8")
        for path in ["/ui/", "/ui/../index.html", "/ui/x/app.js", "/index.html", "/ui/index.html/", "/uiapp.js"] {
            #expect(DashboardAssets.asset(forPath: path) == nil, "\(path)")
        }
        let tags = Set(DashboardAssets.files.values.map(\.etag))
        #expect(tags.count == DashboardAssets.files.count)
        #expect(tags.allSatisfy { $0.count == 66 })
    }

    @Test(arguments: [
        ("\"abc\"", true), ("W/\"abc\"", true), ("\"x\", \"abc\"", true), ("*", true), ("\"abcd\"", false), ("abc", false),
    ])
    func ifNoneMatch(_ header: String, _ matches: Bool) {
        #expect(DashboardRoutes.matches(header, etag: "\"abc\"") == matches)
    }
}
