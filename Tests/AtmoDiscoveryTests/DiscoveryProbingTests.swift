import Testing

@testable import AtmoDiscovery

/// Claiming the instance name (RFC 6762 §8.1, §8.2, §9): probe, then announce; rename when
/// the name is taken; settle simultaneous probes.
@Suite("Discovery state machine: probing and renaming")
struct DiscoveryProbingTests {
    static let instance = Fixture.serviceType.prepending("node-a")

    /// Another host's probe for "node-a": our TXT, and an SRV to `port`.
    static func rivalProbe(port: UInt16) -> DNSMessage {
        let srv = DNSResourceRecord(
            name: instance, type: .srv, cacheFlush: true, ttl: 120,
            data: .srv(DNSServiceLocation(priority: 0, weight: 0, port: port, target: DNSName("atmo-node-a.local."))))
        let txt = DNSResourceRecord(name: instance, type: .txt, cacheFlush: true, ttl: 4500, data: .txt(Fixture.ours.txt))
        return DNSMessage(questions: [DNSQuestion(name: instance, type: .any)], authorities: [srv, txt])
    }

    @Test func probesThreeTimesAQuarterSecondApartThenAnnounces() {
        var machine = DiscoveryStateMachine(settings: Fixture.settings(browse: false, probing: true))
        let first = machine.start(now: Fixture.t0)
        #expect(first.announcements.isEmpty)
        let probe = first.queries.first
        #expect(probe?.questions == [DNSQuestion(name: Self.instance, type: .any)])
        #expect(probe?.authorities.map(\.type) == [.srv, .txt])
        // Not ours yet: neither answered nor said goodbye to.
        #expect(
            machine.receive(Fixture.query([DNSQuestion(name: Fixture.serviceType, type: .ptr)]), sourcePort: 5353, now: Fixture.at(0.1))
                .isEmpty)
        let log = machine.run(until: Fixture.at(10))
        let probes = log.filter { !$0.1.queries.isEmpty }.map { Fixture.offset($0.0) }
        let announcements = log.filter { !$0.1.announcements.isEmpty }.map { Fixture.offset($0.0) }
        #expect(probes == [0.25, 0.5])
        #expect(announcements == [0.75, 1.75, 3.75])
        #expect(machine.nameState == .owned)
    }

    @Test func aResponseClaimingTheNameWhileProbingMakesItNAME2ThenNAME3() {
        var machine = Fixture.started(browse: false, probing: true)
        let taken = machine.receive(
            Fixture.response(Fixture.peerRecords(name: "node-a", port: 1234)), sourcePort: 5353, now: Fixture.at(0.1))
        #expect(taken == [.renamed(from: "node-a", to: "node-a (2)")])
        let probe = machine.tick(now: Fixture.at(0.1)).queries
        #expect(probe.first?.questions.first?.name == Fixture.serviceType.prepending("node-a (2)"))
        let again = machine.receive(
            Fixture.response(Fixture.peerRecords(name: "node-a (2)", port: 1234)), sourcePort: 5353, now: Fixture.at(0.2))
        #expect(again == [.renamed(from: "node-a (2)", to: "node-a (3)")])
        let announcements = machine.run(until: Fixture.at(2)).flatMap(\.1).announcements
        #expect(announcements.first?.answers.first?.data == .ptr(Fixture.serviceType.prepending("node-a (3)")))
        // The old name's records are now another instance's, and get reported.
        let other = machine.receive(Fixture.response(Fixture.peerRecords(name: "node-a", port: 1234)), sourcePort: 5353, now: Fixture.at(2))
        #expect(other.events.map { if case .found(let service) = $0 { service.instanceName } else { "" } } == ["node-a"])
    }

    @Test func ourOwnProbeAndAnnouncementComingBackAreNoConflict() {
        var machine = Fixture.started(browse: false, probing: true)
        let probe = machine.tick(now: Fixture.at(0.25)).queries
        #expect(probe.count == 1)
        #expect(machine.receive(probe[0], sourcePort: 5353, now: Fixture.at(0.26)).isEmpty)
        let announcement = machine.run(until: Fixture.at(1)).flatMap(\.1).announcements
        #expect(machine.receive(announcement[0], sourcePort: 5353, now: Fixture.at(1)).isEmpty)
        #expect(machine.ownInstanceName == Self.instance && machine.nameState == .owned)
    }

    @Test func simultaneousProbesTheLesserRecordsWaitASecondAndProbeAgain() {
        // Our SRV port 8080 sorts before 9999: we lose, and announce nothing at 0.75 s.
        var loser = Fixture.started(browse: false, probing: true)
        #expect(loser.receive(Self.rivalProbe(port: 9999), sourcePort: 5353, now: Fixture.at(0.3)).isEmpty)
        #expect(loser.nextDeadline.map(Fixture.offset) == 1.3)
        #expect(loser.run(until: Fixture.at(1.29)).flatMap(\.1).isEmpty)
        #expect(loser.tick(now: Fixture.at(1.3)).queries.count == 1)
        // 8080 after 80: we win and go on.
        var winner = Fixture.started(browse: false, probing: true)
        _ = winner.receive(Self.rivalProbe(port: 80), sourcePort: 5353, now: Fixture.at(0.3))
        let announcements = winner.run(until: Fixture.at(1)).filter { !$0.1.announcements.isEmpty }.map { Fixture.offset($0.0) }
        #expect(announcements == [0.75])
    }

    @Test func theHolderOfTheNameAnswersAnotherHostsProbe() {
        var machine = Fixture.started(browse: false)
        let answer = machine.receive(Self.rivalProbe(port: 9999), sourcePort: 5353, now: Fixture.at(1)).sentMessages
        #expect(answer.flatMap(\.answers).map(\.type) == [.srv, .txt])
    }

    @Test func manyConflictsSlowProbingToOnceEveryFiveSeconds() {
        var machine = Fixture.started(browse: false, probing: true)
        for index in 0..<15 {
            let name = index == 0 ? "node-a" : "node-a (\(index + 1))"
            let actions = machine.receive(
                Fixture.response(Fixture.peerRecords(name: name, port: 1234)), sourcePort: 5353, now: Fixture.at(0.1 * Double(index + 1)))
            #expect(actions.count == 1)
        }
        #expect(machine.ownInstanceName == Fixture.serviceType.prepending("node-a (16)"))
        #expect(machine.nextDeadline.map(Fixture.offset) == 6.5)
    }

    @Test func alternativeNamesStayWithin63Bytes() {
        #expect(DiscoveryStateMachine.alternativeName(for: "vm", attempt: 2) == "vm (2)")
        let long = String(repeating: "é", count: 31) + "x"  // 63 bytes
        let renamed = DiscoveryStateMachine.alternativeName(for: long, attempt: 12)
        #expect(renamed.utf8.count <= 63)
        #expect(renamed.hasSuffix("é (12)"))
    }

    @Test func aDerivedHostNameFollowsTheRename() {
        var settings = Fixture.settings(browse: false, probing: true)
        settings.advertised?.hostNameFollowsInstance = true
        var machine = DiscoveryStateMachine(settings: settings)
        _ = machine.start(now: Fixture.t0)
        _ = machine.receive(Fixture.response(Fixture.peerRecords(name: "node-a", port: 1234)), sourcePort: 5353, now: Fixture.at(0.1))
        #expect(machine.advertised?.hostName == DNSName("atmo-node-a-2.local."))
    }

    // MARK: - Goodbye after a conflict (issue 14)

    /// Probed for "node-a", took it and announced it once (at 0.75 s).
    static func announced() -> DiscoveryStateMachine {
        var machine = Fixture.started(browse: false, probing: true)
        #expect(machine.run(until: Fixture.at(1)).flatMap(\.1).announcements.count == 1)
        #expect(machine.nameState == .owned)
        return machine
    }

    @Test func aNameProbedForAgainAfterAConflictIsStillSaidGoodbyeTo() {
        var machine = Self.announced()
        let conflict = machine.receive(
            Fixture.response(Fixture.peerRecords(name: "node-a", port: 1234)), sourcePort: 5353, now: Fixture.at(1))
        #expect(conflict.count == 1)
        #expect(machine.nameState == .probing(sent: 0))
        let goodbye = machine.stop(now: Fixture.at(1.1)).sentMessages
        #expect(goodbye.count == 1)
        #expect(goodbye.first?.answers.map(\.type) == [.ptr, .srv, .txt, .a])
        #expect(goodbye.first?.answers.allSatisfy { $0.ttl == 0 } == true)
        #expect(goodbye.first?.answers.first?.data == .ptr(Self.instance))
        #expect(
            goodbye.first?.answers[1].data == .srv(DNSServiceLocation(priority: 0, weight: 0, port: 8080, target: Fixture.ours.hostName)))
    }

    @Test func aNameLostAfterItWasAnnouncedGetsAGoodbyeForItsOwnRecordsButNotThePTR() {
        var machine = Self.announced()
        let rival = Fixture.response(Fixture.peerRecords(name: "node-a", port: 1234))
        _ = machine.receive(rival, sourcePort: 5353, now: Fixture.at(1))
        #expect(machine.receive(rival, sourcePort: 5353, now: Fixture.at(1.1)) == [.renamed(from: "node-a", to: "node-a (2)")])
        let goodbye = machine.stop(now: Fixture.at(1.2)).sentMessages
        #expect(goodbye.count == 1)
        // "node-a" is the other host's now: the PTR to it is theirs too.
        #expect(goodbye.first?.answers.map(\.type) == [.srv, .txt, .a])
        #expect(goodbye.first?.answers.allSatisfy { $0.name == Self.instance || $0.name == Fixture.ours.hostName } == true)
        #expect(goodbye.first?.answers.allSatisfy { $0.ttl == 0 } == true)
    }

    @Test func aNameNeverAnnouncedGetsNoGoodbye() {
        var machine = Fixture.started(browse: false, probing: true)
        _ = machine.tick(now: Fixture.at(0.25))
        #expect(machine.stop(now: Fixture.at(0.3)).isEmpty)
    }
}
