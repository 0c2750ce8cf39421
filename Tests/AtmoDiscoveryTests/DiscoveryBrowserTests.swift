import Testing

@testable import AtmoDiscovery

@Suite("Discovery state machine: browser")
struct DiscoveryBrowserTests {
    static let nodeB = DiscoveredService(
        instanceName: "node-b", hostName: "node-b.local.", port: 9090, addresses: ["192.0.2.20"],
        txt: ["node_id": "bbbb", "mesh_id": "", "capabilities": "serve, relay", "http_port": "9090", "flag": ""])

    @Test func queriesWithExponentialBackoffCappedAtAnHour() {
        var machine = DiscoveryStateMachine(settings: Fixture.settings(advertising: false))
        let first = machine.start(now: Fixture.t0)
        #expect(first.queries.count == 1)
        #expect(first.queries[0].questions == [DNSQuestion(name: Fixture.serviceType, type: .ptr)])
        let log = machine.run(until: Fixture.at(6 * 3600))
        let times = [0] + log.filter { !$0.1.queries.isEmpty }.map { ($0.0 - Fixture.t0).seconds }
        let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
        #expect(Array(gaps.prefix(6)) == [1, 2, 4, 8, 16, 32])
        #expect(gaps.max() == 3600)
        #expect(gaps.suffix(3).allSatisfy { $0 == 3600 })
    }

    @Test func reportsACompleteInstanceFromOneResponse() {
        var machine = Fixture.started()
        let actions = machine.receive(Fixture.response(Fixture.peerRecords()), sourcePort: 5353, now: Fixture.at(0.1))
        #expect(actions.events == [.found(Self.nodeB)])
        let service = Self.nodeB
        #expect(service.nodeID == "bbbb" && service.meshID == "" && service.httpPort == 9090)
        #expect(service.capabilities == ["serve", "relay"])
        // the same data again reports nothing
        #expect(machine.receive(Fixture.response(Fixture.peerRecords()), sourcePort: 5353, now: Fixture.at(0.2)).events.isEmpty)
        // a new TXT reports the instance again
        let updated = machine.receive(
            Fixture.response(Fixture.peerRecords(txt: ["node_id=bbbb", "mesh_id=m1"])), sourcePort: 5353, now: Fixture.at(2))
        var expected = Self.nodeB
        expected.txt = ["node_id": "bbbb", "mesh_id": "m1"]
        #expect(updated.events == [.found(expected)])
    }

    @Test func ignoresResponsesFromOtherPortsAndFailedResponses() {
        var machine = Fixture.started()
        #expect(machine.receive(Fixture.response(Fixture.peerRecords()), sourcePort: 40000, now: Fixture.at(0.1)).isEmpty)
        var failed = Fixture.response(Fixture.peerRecords())
        failed.flags |= 3  // NXDOMAIN
        #expect(machine.receive(failed, sourcePort: 5353, now: Fixture.at(0.1)).isEmpty)
        #expect(machine.cache.entries.isEmpty)
    }

    @Test func resolvesAnInstanceSeenOnlyViaPTR() throws {
        var machine = Fixture.started(advertising: false, browse: false)
        let records = Fixture.peerRecords()
        #expect(machine.receive(Fixture.response([records[0]]), sourcePort: 5353, now: Fixture.at(0.1)).events.isEmpty)
        let deadline = try #require(machine.nextDeadline)
        #expect(Fixture.offset(deadline) == 0.3)
        let ask = machine.tick(now: deadline).queries
        #expect(Set(ask.flatMap(\.questions).map(\.type)) == [.srv, .txt])
        // SRV and TXT arrive, the address does not: ask for the host's A and AAAA
        #expect(machine.receive(Fixture.response([records[1], records[2]]), sourcePort: 5353, now: Fixture.at(0.4)).events.isEmpty)
        let next = try #require(machine.nextDeadline)
        #expect(Fixture.offset(next) == 1.3)
        let askHost = machine.tick(now: next).queries.flatMap(\.questions)
        #expect(
            askHost == [DNSQuestion(name: DNSName("node-b.local."), type: .a), DNSQuestion(name: DNSName("node-b.local."), type: .aaaa)])
        let found = machine.receive(Fixture.response([records[3]]), sourcePort: 5353, now: Fixture.at(1.5))
        #expect(found.events == [.found(Self.nodeB)])
        #expect(machine.resolving.isEmpty)
    }

    @Test func givesUpResolvingAfterTheConfiguredAttempts() {
        var machine = Fixture.started(advertising: false, browse: false)
        _ = machine.receive(Fixture.response([Fixture.peerRecords()[0]]), sourcePort: 5353, now: Fixture.at(0))
        let log = machine.run(until: Fixture.at(60))
        let times = log.filter { !$0.1.queries.isEmpty }.map { (($0.0 - Fixture.t0).seconds * 10).rounded() / 10 }
        #expect(times == [0.2, 1.2, 3.2, 7.2])
    }

    @Test func losesAnInstanceWhoseRecordsExpireAndRefreshesBeforeThat() {
        var machine = Fixture.started(advertising: false, browse: false)
        _ = machine.receive(Fixture.response(Fixture.peerRecords()), sourcePort: 5353, now: Fixture.at(0))
        let log = machine.run(until: Fixture.at(200))
        let refreshTimes = log.filter { !$0.1.queries.isEmpty }.map { ($0.0 - Fixture.t0).seconds }
        // SRV and A (TTL 120) are asked for again at 80, 85, 90 and 95 % of 120 s
        #expect(refreshTimes.prefix(4).map { ($0 * 10).rounded() / 10 } == [96, 102, 108, 114])
        let refreshQuestions = log.first { !$0.1.queries.isEmpty }!.1.queries.flatMap(\.questions)
        #expect(Set(refreshQuestions.map(\.type)) == [.srv, .a])
        let lost = log.filter { !$0.1.events.isEmpty }
        #expect(lost.count == 1)
        #expect(lost.first.map { ($0.0 - Fixture.t0).seconds } == 120)
        #expect(lost.first?.1.events == [.lost(instanceName: "node-b")])
    }

    @Test func aRefreshKeepsTheInstance() {
        var machine = Fixture.started(advertising: false, browse: false)
        _ = machine.receive(Fixture.response(Fixture.peerRecords()), sourcePort: 5353, now: Fixture.at(0))
        _ = machine.run(until: Fixture.at(100))
        #expect(machine.receive(Fixture.response(Fixture.peerRecords()), sourcePort: 5353, now: Fixture.at(100)).events.isEmpty)
        #expect(machine.run(until: Fixture.at(200)).flatMap(\.1.events).isEmpty)
    }

    @Test func aGoodbyeLosesTheInstanceAtOnceAndAReannouncementBringsItBack() {
        var machine = Fixture.started()
        _ = machine.receive(Fixture.response(Fixture.peerRecords()), sourcePort: 5353, now: Fixture.at(1))
        let goodbye = Fixture.peerRecords(ttlScale: 0)
        #expect(machine.receive(Fixture.response(goodbye), sourcePort: 5353, now: Fixture.at(2)).events == [.lost(instanceName: "node-b")])
        let back = machine.receive(Fixture.response(Fixture.peerRecords()), sourcePort: 5353, now: Fixture.at(2.5))
        #expect(back.events == [.found(Self.nodeB)])
        _ = machine.receive(Fixture.response(goodbye), sourcePort: 5353, now: Fixture.at(3))
        _ = machine.run(until: Fixture.at(10))
        #expect(machine.cache.entries.isEmpty)
    }

    @Test func aCacheFlushRecordReplacesOlderData() {
        var machine = Fixture.started()
        _ = machine.receive(Fixture.response(Fixture.peerRecords()), sourcePort: 5353, now: Fixture.at(1))
        let moved = machine.receive(
            Fixture.response([Fixture.peerRecords(address: "192.0.2.99")[3]]), sourcePort: 5353, now: Fixture.at(5))
        var expected = Self.nodeB
        expected.addresses = ["192.0.2.99"]
        #expect(moved.events == [.found(expected)])
        // two addresses in one packet, both with cache-flush: both are kept
        let both = Fixture.peerRecords(address: "192.0.2.1")[3...3] + Fixture.peerRecords(address: "192.0.2.2")[3...3]
        let twoAddresses = machine.receive(Fixture.response(Array(both)), sourcePort: 5353, now: Fixture.at(9))
        expected.addresses = ["192.0.2.1", "192.0.2.2"]
        #expect(twoAddresses.events == [.found(expected)])
    }

    @Test func neverReportsItsOwnInstanceAndProbesAgainOnAConflict() {
        var machine = Fixture.started(probing: true)
        let announcement = machine.run(until: Fixture.at(1)).flatMap(\.1).announcements
        #expect(announcement.count == 1)
        #expect(machine.receive(announcement[0], sourcePort: 5353, now: Fixture.at(1)).isEmpty)
        #expect(!machine.cache.entries.keys.contains { $0.name == Fixture.serviceType.prepending("node-a") })
        let impostor = Fixture.peerRecords(name: "node-a", port: 1234)
        let first = machine.receive(Fixture.response(impostor), sourcePort: 5353, now: Fixture.at(2))
        #expect(first.count == 1)
        guard case .nameConflict(let record) = first.first else {
            Issue.record("expected a conflict, got \(first)")
            return
        }
        #expect(record.serviceLocation?.port == 1234)
        // Back to probing (RFC 6762 §9): the impostor still holds the name, so we rename.
        #expect(machine.nameState == .probing(sent: 0))
        let again = machine.receive(Fixture.response(impostor), sourcePort: 5353, now: Fixture.at(3))
        #expect(again == [.renamed(from: "node-a", to: "node-a (2)")])
        #expect(machine.ownInstanceName == Fixture.serviceType.prepending("node-a (2)"))
    }

    @Test func includesFreshKnownAnswersInBrowseQueries() {
        var machine = Fixture.started(advertising: false)
        _ = machine.receive(Fixture.response(Fixture.peerRecords()), sourcePort: 5353, now: Fixture.at(0.5))
        let query = machine.tick(now: Fixture.at(1)).queries
        #expect(query.count == 1)
        #expect(query[0].answers.map(\.data) == [.ptr(Fixture.serviceType.prepending("node-b"))])
        #expect(query[0].answers[0].ttl == 4499)
        // The same PTR with under half its TTL left is not a known answer any more
        var machine2 = Fixture.started(advertising: false)
        var shortLived = Fixture.peerRecords()
        shortLived[0].ttl = 2
        _ = machine2.receive(Fixture.response(shortLived), sourcePort: 5353, now: Fixture.at(0))
        #expect(machine2.tick(now: Fixture.at(1.5)).queries.first?.answers.isEmpty == true)
    }

    @Test func cachesOnlyRelevantRecordsAndBoundsTheCache() {
        var settings = Fixture.settings(advertising: false)
        settings.cacheCapacity = 10
        var machine = DiscoveryStateMachine(settings: settings)
        _ = machine.start(now: Fixture.t0)
        let unrelated = [
            DNSResourceRecord(name: DNSName("stranger.local."), type: .a, ttl: 120, data: .a(IPv4Address("192.0.2.5")!)),
            DNSResourceRecord(name: DNSName("_http._tcp.local."), type: .ptr, ttl: 120, data: .ptr(DNSName("x._http._tcp.local."))),
        ]
        _ = machine.receive(Fixture.response(unrelated), sourcePort: 5353, now: Fixture.at(0.1))
        #expect(machine.cache.entries.isEmpty)
        let many = (0..<50).map { index in
            DNSResourceRecord(
                name: Fixture.serviceType, type: .ptr, ttl: 4500, data: .ptr(Fixture.serviceType.prepending("n\(index)")))
        }
        _ = machine.receive(Fixture.response(many), sourcePort: 5353, now: Fixture.at(0.2))
        #expect(machine.cache.entries.count == 10)
    }
}
