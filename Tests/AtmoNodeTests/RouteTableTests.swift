import HTTPTypes
import Hummingbird
import Testing

@testable import AtmoNode

/// The table that tells 404 from 405 is read from the router, so it lists exactly the
/// registered routes.
struct RouteTableTests {
    @Test func listsTheRegisteredMethodsOfAMatchingPath() {
        let router = Router()
        router.get("/health") { _, _ in "ok" }
        router.get("/v1/models/:id") { _, _ in "entry" }
        router.post("/v1/transfers") { _, _ in "started" }
        router.delete("/v1/downloads/:id") { _, _ in "cancelled" }
        router.get("/v1/downloads/events") { _, _ in "events" }
        let table = RouteTable()
        table.load(from: router)

        #expect(table.allowedMethods(path: "/health") == [.get, .head])
        #expect(table.allowedMethods(path: "/v1/models/yolo") == [.get, .head])
        #expect(table.allowedMethods(path: "/v1/transfers") == [.post])
        // Both a capture and a literal segment match "events".
        #expect(Set(table.allowedMethods(path: "/v1/downloads/events")) == [.get, .head, .delete])
        #expect(table.allowedMethods(path: "/v1/downloads/abc") == [.delete])
        #expect(table.allowedMethods(path: "/v1/nothing").isEmpty)
        #expect(table.allowedMethods(path: "/v1/models/yolo/extra").isEmpty)
    }

    @Test func aRouteAddedAfterLoadingIsNotListedUntilLoadedAgain() {
        let router = Router()
        router.get("/a") { _, _ in "a" }
        let table = RouteTable()
        table.load(from: router)
        router.post("/b") { _, _ in "b" }
        #expect(table.allowedMethods(path: "/b").isEmpty)
        table.load(from: router)
        #expect(table.allowedMethods(path: "/b") == [.post])
    }
}
