import AtmoProtocol
import Testing

/// `ControlAccess` judges a path as Hummingbird's router reads it.
struct ControlAccessPathTests {
    @Test func emptySegmentsAreDroppedAsTheRouterDoes() {
        #expect(ControlAccess.routedPath("//v1//downloads/") == "/v1/downloads")
        #expect(ControlAccess.routedPath("v1/node") == "/v1/node")
        #expect(ControlAccess.routedPath("//") == "/")
        #expect(ControlAccess.routedPath("") == "/")
        for path in [
            "//v1/downloads", "/v1//downloads", "//v1/node", "//v1/events", "/v1//limits", "//", "//ui/app.js", "v1/storage",
            "/v1/follows//x",
        ] {
            #expect(ControlAccess.isControlPath(path), "\(path)")
        }
        #expect(!ControlAccess.isControlPath("//health"))
        #expect(!ControlAccess.isControlPath("/v1/models"))
    }
}
