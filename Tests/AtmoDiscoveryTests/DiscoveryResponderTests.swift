import Testing

@testable import AtmoDiscovery

@Suite("Discovery state machine: responder")
struct DiscoveryResponderTests {
    @Test func announcesThreeTimesAtZeroOneAndThreeSeconds() {
        var machine = DiscoveryStateMachine(settings: Fixture.settings(browse: false))
        let first = machine.start(now: Fixture.t0)
        #expect(first.announcements.count == 1)
        let later = machine.run(until: Fixture.at(60))
        let times = later.filter { !$0.1.announcements.isEmpty }.map { ($0.0 - Fixture.t0).seconds }
        #expect(times == [1, 3])
        let announcement = first.announcements[0]
        #expect(announcement.flags == 0x8400)
        #expect(announcement.answers.map(\.type) == [.ptr, .srv, .txt, .a, .ptr])
        #expect(announcement.answers[0].data == .ptr(Fixture.serviceType.prepending("node-a")))
        #expect(announcement.answers[1].cacheFlush && announcement.answers[1].ttl == 120)
        #expect(!announcement.answers[0].cacheFlush && announcement.answers[0].ttl == 4500)
        #expect(announcement.answers[4].name == .serviceTypeEnumeration)
        #expect(machine.nextDeadline == nil)
    }

    @Test func answersPTRQueriesWithTheInstanceRecordsAsAdditionals() throws {
        var machine = Fixture.started()
        let actions = machine.receive(
            Fixture.query([DNSQuestion(name: Fixture.serviceType, type: .ptr)]), sourcePort: 5353, now: Fixture.at(0.5))
        guard case .send(let response, .multicast) = try #require(actions.first) else {
            Issue.record("expected a multicast response, got \(actions)")
            return
        }
        #expect(response.isResponse && response.id == 0 && response.questions.isEmpty)
        #expect(response.answers.map(\.type) == [.ptr])
        #expect(response.additionals.map(\.type) == [.srv, .txt, .a])
        #expect(
            response.additionals[0].data
                == .srv(DNSServiceLocation(priority: 0, weight: 0, port: 8080, target: DNSName("atmo-node-a.local."))))
    }

    @Test func answersServiceEnumerationSRVTXTAndAQueries() {
        var machine = Fixture.started()
        func answers(_ name: DNSName, _ type: DNSRecordType) -> [DNSResourceRecord] {
            machine.receive(Fixture.query([DNSQuestion(name: name, type: type)]), sourcePort: 5353, now: Fixture.at(0.5))
                .sentMessages.flatMap(\.answers)
        }
        let instance = Fixture.serviceType.prepending("node-a")
        #expect(answers(.serviceTypeEnumeration, .ptr).map(\.data) == [.ptr(Fixture.serviceType)])
        #expect(answers(instance, .srv).map(\.type) == [.srv])
        #expect(answers(instance, .txt).map(\.data) == [.txt(Fixture.ours.txt)])
        #expect(answers(instance, .any).map(\.type) == [.srv, .txt])
        #expect(answers(DNSName("ATMO-NODE-A.local."), .a).map(\.data) == [.a(IPv4Address("192.0.2.10")!)])
        #expect(answers(DNSName("atmo-node-a.local."), .aaaa).isEmpty)
        #expect(answers(Fixture.serviceType.prepending("node-z"), .srv).isEmpty)
        #expect(answers(DNSName("_other._tcp.local."), .ptr).isEmpty)
    }

    @Test func suppressesAnswersTheQuerierAlreadyKnows() {
        var machine = Fixture.started()
        let question = DNSQuestion(name: Fixture.serviceType, type: .ptr)
        let ourPointer = DNSResourceRecord(
            name: Fixture.serviceType, type: .ptr, ttl: 3000, data: .ptr(Fixture.serviceType.prepending("node-a")))
        let known = machine.receive(Fixture.query([question], knownAnswers: [ourPointer]), sourcePort: 5353, now: Fixture.at(1))
        #expect(known.isEmpty)
        var stale = ourPointer
        stale.ttl = 2000  // less than half of 4500: answer again
        let refreshed = machine.receive(Fixture.query([question], knownAnswers: [stale]), sourcePort: 5353, now: Fixture.at(1))
        #expect(refreshed.sentMessages.flatMap(\.answers).map(\.type) == [.ptr])
    }

    @Test func answersLegacyUnicastQueriesDirectlyWithShortTTLs() throws {
        var machine = Fixture.started()
        var query = Fixture.query([DNSQuestion(name: Fixture.serviceType, type: .ptr)])
        query.id = 0xBEEF
        let actions = machine.receive(query, sourcePort: 49152, now: Fixture.at(1))
        guard case .send(let response, .querier) = try #require(actions.first) else {
            Issue.record("expected a unicast reply, got \(actions)")
            return
        }
        #expect(response.id == 0xBEEF)
        #expect(response.questions == query.questions)
        #expect((response.answers + response.additionals).allSatisfy { $0.ttl <= 10 && !$0.cacheFlush })
    }

    @Test func saysGoodbyeWithTTLZeroAndThenGoesQuiet() {
        var machine = Fixture.started()
        let goodbye = machine.stop(now: Fixture.at(5)).sentMessages
        #expect(goodbye.count == 1)
        #expect(goodbye[0].answers.map(\.type) == [.ptr, .srv, .txt, .a])
        #expect(goodbye[0].answers.allSatisfy { $0.ttl == 0 })
        #expect(machine.nextDeadline == nil)
        #expect(machine.tick(now: Fixture.at(6)).isEmpty)
        #expect(machine.stop(now: Fixture.at(7)).isEmpty)
        #expect(
            machine.receive(Fixture.query([DNSQuestion(name: Fixture.serviceType, type: .ptr)]), sourcePort: 5353, now: Fixture.at(8))
                .isEmpty)
    }

    @Test func browsingOnlyNeitherAnnouncesNorAnswers() {
        var machine = DiscoveryStateMachine(settings: Fixture.settings(advertising: false))
        let first = machine.start(now: Fixture.t0)
        #expect(first.announcements.isEmpty && first.queries.count == 1)
        #expect(
            machine.receive(Fixture.query([DNSQuestion(name: Fixture.serviceType, type: .ptr)]), sourcePort: 5353, now: Fixture.at(1))
                .isEmpty)
        #expect(machine.stop(now: Fixture.at(2)).isEmpty)
    }
}
