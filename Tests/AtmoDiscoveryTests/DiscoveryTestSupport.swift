@testable import AtmoDiscovery

/// Builders shared by the state machine tests.
enum Fixture {
    static let serviceType = DNSName("_atmosphere._tcp.local.")
    static let t0 = ContinuousClock.now

    static func at(_ seconds: Double) -> ContinuousClock.Instant { t0 + .seconds(seconds) }

    /// Seconds from `t0` to `instant`, rounded to the millisecond.
    static func offset(_ instant: ContinuousClock.Instant) -> Double { ((instant - t0).seconds * 1000).rounded() / 1000 }

    static let ours = AdvertisedInstance(
        instanceLabel: "node-a", hostName: DNSName("atmo-node-a.local."), port: 8080,
        txt: [Array("node_id=aaaa".utf8), Array("protocol_version=1.1".utf8)], addresses: [IPv4Address("192.0.2.10")!])

    /// Settings; without `probing` the name is ours at once (the responder and browser tests
    /// start announced; DiscoveryProbingTests cover probing).
    static func settings(advertising: Bool = true, browse: Bool = true, probing: Bool = false) -> DiscoverySettings {
        var settings = DiscoverySettings(serviceType: serviceType)
        settings.advertised = advertising ? ours : nil
        settings.browse = browse
        settings.probeCount = probing ? 3 : 0
        return settings
    }

    static func started(advertising: Bool = true, browse: Bool = true, probing: Bool = false) -> DiscoveryStateMachine {
        var machine = DiscoveryStateMachine(settings: settings(advertising: advertising, browse: browse, probing: probing))
        _ = machine.start(now: t0)
        return machine
    }

    /// The records another node "node-b" sends: PTR, SRV, TXT and A.
    static func peerRecords(
        name: String = "node-b", port: UInt16 = 9090, address: String = "192.0.2.20", ttlScale: UInt32 = 1,
        txt: [String] = ["node_id=bbbb", "mesh_id=", "capabilities=serve, relay", "http_port=9090", "flag"]
    ) -> [DNSResourceRecord] {
        let instance = serviceType.prepending(name)
        let host = DNSName("\(name).local.")
        return [
            DNSResourceRecord(name: serviceType, type: .ptr, ttl: 4500 * ttlScale, data: .ptr(instance)),
            DNSResourceRecord(
                name: instance, type: .srv, cacheFlush: true, ttl: 120 * ttlScale,
                data: .srv(DNSServiceLocation(priority: 0, weight: 0, port: port, target: host))),
            DNSResourceRecord(
                name: instance, type: .txt, cacheFlush: true, ttl: 4500 * ttlScale, data: .txt(txt.map { Array($0.utf8) })),
            DNSResourceRecord(name: host, type: .a, cacheFlush: true, ttl: 120 * ttlScale, data: .a(IPv4Address(address)!)),
        ]
    }

    static func response(_ records: [DNSResourceRecord]) -> DNSMessage {
        DNSMessage(flags: DNSMessage.responseFlags, answers: records)
    }

    static func query(_ questions: [DNSQuestion], knownAnswers: [DNSResourceRecord] = []) -> DNSMessage {
        DNSMessage(questions: questions, answers: knownAnswers)
    }
}

extension Array where Element == DiscoveryAction {
    var sentMessages: [DNSMessage] {
        compactMap { if case .send(let message, _) = $0 { message } else { nil } }
    }
    var events: [DiscoveryEvent] {
        compactMap { if case .report(let event) = $0 { event } else { nil } }
    }
    var announcements: [DNSMessage] { sentMessages.filter(\.isResponse) }
    var queries: [DNSMessage] { sentMessages.filter { !$0.isResponse } }
}

extension DiscoveryStateMachine {
    /// Ticks at every deadline before `end`, returning each tick's time and actions.
    mutating func run(until end: ContinuousClock.Instant) -> [(ContinuousClock.Instant, [DiscoveryAction])] {
        var log: [(ContinuousClock.Instant, [DiscoveryAction])] = []
        while let deadline = nextDeadline, deadline < end {
            log.append((deadline, tick(now: deadline)))
        }
        return log
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
