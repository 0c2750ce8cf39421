import Testing

@testable import AtmoHTTPServer

/// The per-address accounting of `ConnectionGuard`, without sockets.
struct ConnectionCounterTests {
    @Test func admitsUpToTheLimitPerAddress() {
        var counter = ConnectionCounter(limitPerAddress: 3)
        for _ in 0..<3 { #expect(counter.opened(from: "10.0.0.1") == .admitted) }
        #expect(counter.opened(from: "10.0.0.1") == .refused)
        // Another address is counted on its own.
        #expect(counter.opened(from: "10.0.0.2") == .admitted)
        #expect(counter.count(from: "10.0.0.1") == 3)
        #expect(counter.total == 4)
    }

    @Test func aRefusedConnectionDoesNotCount() {
        var counter = ConnectionCounter(limitPerAddress: 1)
        #expect(counter.opened(from: "::1") == .admitted)
        for _ in 0..<10 { #expect(counter.opened(from: "::1") == .refused) }
        #expect(counter.count(from: "::1") == 1)
        counter.closed(from: "::1")
        #expect(counter.opened(from: "::1") == .admitted)
    }

    @Test func closingFreesAPlaceAndForgetsIdleAddresses() {
        var counter = ConnectionCounter(limitPerAddress: 2)
        _ = counter.opened(from: "a")
        _ = counter.opened(from: "a")
        _ = counter.opened(from: "b")
        #expect(counter.addresses == 2)
        counter.closed(from: "a")
        #expect(counter.count(from: "a") == 1)
        counter.closed(from: "a")
        counter.closed(from: "b")
        #expect(counter.addresses == 0)
        #expect(counter.total == 0)
    }

    @Test func anUnmatchedCloseIsIgnored() {
        var counter = ConnectionCounter(limitPerAddress: 2)
        counter.closed(from: "never-opened")
        #expect(counter.total == 0)
        #expect(counter.count(from: "never-opened") == 0)
    }

    @Test func theLimitIsAtLeastOne() {
        var counter = ConnectionCounter(limitPerAddress: 0)
        #expect(counter.limitPerAddress == 1)
        #expect(counter.opened(from: "a") == .admitted)
        #expect(counter.opened(from: "a") == .refused)
    }

    @Test func theSharedLimiterCountsTheSame() {
        let limiter = ConnectionLimiter(limitPerAddress: 2)
        #expect(limiter.opened(from: "a") == .admitted)
        #expect(limiter.opened(from: "a") == .admitted)
        #expect(limiter.opened(from: "a") == .refused)
        limiter.closed(from: "a")
        #expect(limiter.count(from: "a") == 1)
        #expect(limiter.total == 1)
    }
}
