import NIOHTTP1
import Testing

@testable import AtmoHTTPServer

/// An address's reserve (`reservedConnectionsPerAddress`): taken only when the ordinary
/// places are all held, and only for the server's short requests.
struct ConnectionReserveTests {
    @Test func theReserveIsTakenOnlyWhenTheOrdinaryPlacesAreHeld() {
        var counter = ConnectionCounter(limitPerAddress: 2, reservePerAddress: 1)
        #expect(counter.opened(from: "a") == .admitted)
        #expect(counter.opened(from: "a") == .admitted)
        #expect(counter.opened(from: "a") == .reserved)
        #expect(counter.opened(from: "a") == .refused)
        #expect(counter.count(from: "a") == 3)
        #expect(counter.reserved(from: "a") == 1)
        // An ordinary place freed goes to the next connection, as an ordinary one.
        counter.closed(from: "a")
        #expect(counter.opened(from: "a") == .admitted)
        counter.closed(from: "a", reserved: true)
        #expect(counter.reserved(from: "a") == 0)
        #expect(counter.opened(from: "a") == .reserved)
        for _ in 0..<2 { counter.closed(from: "a") }
        counter.closed(from: "a", reserved: true)
        #expect(counter.addresses == 0)
        #expect(counter.total == 0)
    }

    @Test func aCloseOfAClassWithNoneOpenIsIgnored() {
        var counter = ConnectionCounter(limitPerAddress: 1, reservePerAddress: 1)
        _ = counter.opened(from: "a")
        counter.closed(from: "a", reserved: true)
        #expect(counter.count(from: "a") == 1)
        #expect(counter.total == 1)
    }

    @Test func aReserveConnectionCarriesOnlyTheServersShortRequests() {
        let node = ConnectionAdmission(reservedRequests: .healthAndControl)
        #expect(node.refusal(uri: "/v1/models/download/big.gguf") == nil, "an ordinary connection carries anything")
        node.isReserved = true
        for uri in ["/health", "/health?x=1", "/v1/downloads", "//v1/downloads/events", "/v1/node", "/v1/storage/pins", "/", "/ui/app.js"] {
            #expect(node.refusal(uri: uri) == nil, "\(uri)")
        }
        for uri in ["/v1/models/download/big.gguf", "/org/name/resolve/main/model.safetensors", "/v1/transfers/ws", "/v1/models", "/api/models/a/b"] {
            #expect(node.refusal(uri: uri)?.code == "too_many_connections", "\(uri)")
            #expect(node.refusal(uri: uri)?.status == 503)
        }
        let relay = ConnectionAdmission(reservedRequests: .health)
        relay.isReserved = true
        #expect(relay.refusal(uri: "/health") == nil)
        #expect(relay.refusal(uri: "/relay/mesh") != nil)
        #expect(relay.refusal(uri: "/stats") != nil)
    }
}
