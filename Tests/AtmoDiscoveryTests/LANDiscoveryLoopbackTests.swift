import Logging
import Testing

@testable import AtmoDiscovery

/// Two real `LANDiscovery` services in this process, on 127.0.0.1 only (nothing is sent on
/// any other interface). Needs `lo` with the MULTICAST flag, which a default Linux `lo`
/// lacks: the test is then skipped with the reason printed. It runs inside a network
/// namespace prepared as in Tests/Interop/zeroconf/run.sh.
@Suite("LAN discovery over loopback multicast")
struct LANDiscoveryLoopbackTests {
    /// Why the test cannot run here, or nil.
    static var unavailableReason: String? {
        guard let loopback = LocalInterface.ipv4().first(where: { $0.address == IPv4Address("127.0.0.1") }) else {
            return "no interface has 127.0.0.1"
        }
        guard loopback.isUp else { return "\(loopback.name) is down" }
        guard loopback.supportsMulticast else {
            return "\(loopback.name) has no MULTICAST flag, so multicast cannot be joined on it (inside a network "
                + "namespace: ip link set lo up; ip link set lo multicast on; ip route add 224.0.0.0/4 dev lo)"
        }
        return nil
    }

    static func makeDiscovery(
        name: String, port: Int, events: AsyncStream<(String, DiscoveryEvent)>.Continuation
    ) -> LANDiscovery {
        var logger = Logger(label: "test.discovery.\(name)")
        logger.logLevel = .warning
        let configuration = LANDiscovery.Configuration(
            advertisement: .atmosphereNode(nodeName: name, nodeID: "id-\(name)", port: port, capabilities: ["serve"]),
            interfaceAddress: "127.0.0.1", announcedAddresses: ["127.0.0.1"])
        return LANDiscovery(configuration: configuration, logger: logger) { event in events.yield((name, event)) }
    }

    @Test(
        "two services see each other, and the goodbye of the one that stops",
        .timeLimit(.minutes(1)),
        .enabled("needs multicast on lo") {
            if let reason = unavailableReason {
                print("SKIPPED LANDiscoveryLoopbackTests: \(reason)")
                return false
            }
            return true
        })
    func twoServicesSeeEachOther() async throws {
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let (nameA, nameB) = ("test-a-\(suffix)", "test-b-\(suffix)")
        let (stream, continuation) = AsyncStream<(String, DiscoveryEvent)>.makeStream()
        let a = Self.makeDiscovery(name: nameA, port: 41001, events: continuation)
        let b = Self.makeDiscovery(name: nameB, port: 41002, events: continuation)
        var iterator = stream.makeAsyncIterator()

        try await withThrowingTaskGroup(of: Void.self) { outer in
            outer.addTask {
                defer { continuation.finish() }
                try await a.run()
            }
            outer.addTask {
                // Ends the wait below if an event never comes.
                try await Task.sleep(for: .seconds(20))
                continuation.finish()
            }
            try await withThrowingTaskGroup(of: Void.self) { inner in
                inner.addTask {
                    do { try await b.run() } catch {
                        continuation.finish()
                        throw error
                    }
                }
                var aSawB: DiscoveredService?
                var bSawA: DiscoveredService?
                while aSawB == nil || bSawA == nil, let (observer, event) = await iterator.next() {
                    guard case .found(let service) = event else { continue }
                    if observer == nameA, service.instanceName == nameB { aSawB = service }
                    if observer == nameB, service.instanceName == nameA { bSawA = service }
                    #expect(service.instanceName != observer, "an instance reported itself")
                }
                let seenByA = try #require(aSawB, "A never saw B")
                let seenByB = try #require(bSawA, "B never saw A")
                #expect(seenByA.port == 41002 && seenByA.addresses == ["127.0.0.1"] && seenByA.nodeID == "id-\(nameB)")
                #expect(seenByA.httpPort == 41002 && seenByA.capabilities == ["serve"] && seenByA.protocolVersion == "1.1")
                #expect(seenByB.port == 41001 && seenByB.nodeID == "id-\(nameA)")
                inner.cancelAll()  // B stops and says goodbye
                try await inner.waitForAll()
            }
            var aLostB = false
            while !aLostB, let (observer, event) = await iterator.next() {
                if observer == nameA, event == .lost(instanceName: nameB) { aLostB = true }
            }
            #expect(aLostB, "A did not see B's goodbye")
            outer.cancelAll()
        }
    }
}
