import Logging
import NIOCore
import NIOPosix
import Testing

@testable import AtmoDiscovery

@Suite("LAN discovery configuration, TXT and service values")
struct LANDiscoveryConfigurationTests {
    @Test func buildsTheAtmosphereTXTRecord() throws {
        let advertisement = LANDiscovery.Advertisement.atmosphereNode(
            nodeName: "Kitchen Mac", nodeID: "0123456789abcdef", port: 14345, capabilities: ["serve", "relay"],
            extraTXT: ["color": "blue", "node_id": "ignored"])
        #expect(advertisement.instanceName == "Kitchen Mac")
        #expect(
            advertisement.txt == [
                "node_id": "0123456789abcdef", "mesh_id": "", "capabilities": "serve,relay", "http_port": "14345",
                "protocol_version": "1.1", "node_name": "Kitchen Mac", "color": "blue",
            ])
        let settings = try LANDiscovery.Configuration(advertisement: advertisement)
            .settings(announcing: [IPv4Address("192.0.2.1")!])
        let advertised = try #require(settings.advertised)
        #expect(advertised.hostName == DNSName("atmo-kitchen-mac.local."))
        #expect(advertised.txt.first == Array("capabilities=serve,relay".utf8))
        #expect(TXTCoding.decode(advertised.txt) == advertisement.txt)
    }

    @Test func derivesHostNamesFromAnyInstanceName() {
        #expect(LANDiscovery.Advertisement.defaultHostName(for: "node-a") == "atmo-node-a.local.")
        #expect(LANDiscovery.Advertisement.defaultHostName(for: "  Ünïcode  Büro 2 ") == "atmo-n-code-b-ro-2.local.")
        #expect(LANDiscovery.Advertisement.defaultHostName(for: "...") == "atmo-node.local.")
        #expect(LANDiscovery.Advertisement.defaultHostName(for: String(repeating: "ab-", count: 40)).utf8.count <= 62)
    }

    @Test func rejectsWhatCannotBeAdvertised() {
        func error(_ advertisement: LANDiscovery.Advertisement, addresses: [String] = ["192.0.2.1"]) -> DiscoveryError.Code? {
            do {
                _ = try LANDiscovery.Configuration(advertisement: advertisement)
                    .settings(announcing: addresses.compactMap(IPv4Address.init))
                return nil
            } catch {
                return error.code
            }
        }
        #expect(error(.init(instanceName: String(repeating: "x", count: 64), port: 1)) == .invalidConfiguration)
        #expect(error(.init(instanceName: "", port: 1)) == .invalidConfiguration)
        #expect(error(.init(instanceName: "a", port: 0)) == .invalidConfiguration)
        #expect(error(.init(instanceName: "a", port: 70000)) == .invalidConfiguration)
        #expect(error(.init(instanceName: "a", port: 1, txt: ["a=b": "c"])) == .invalidConfiguration)
        #expect(error(.init(instanceName: "a", port: 1, txt: ["k": String(repeating: "v", count: 254)])) == .invalidConfiguration)
        #expect(error(.init(instanceName: "a", port: 1), addresses: []) == .invalidConfiguration)
        #expect(error(.init(instanceName: "a", port: 1, txt: ["k": "v"])) == nil)
    }

    @Test func decodesTXTLikeRFC6763() {
        let strings: [[UInt8]] = ["a=1", "A=2", "", "=x", "flag", "b=x=y", "c="].map { Array($0.utf8) }
        #expect(TXTCoding.decode(strings) == ["a": "1", "flag": "", "b": "x=y", "c": ""])
    }

    @Test func readsTheAtmosphereKeys() {
        let service = DiscoveredService(
            instanceName: "n", hostName: "h.local.", port: 80, addresses: [],
            txt: ["capabilities": " a, ,b ,", "http_port": "99999", "protocol_version": "1.1"])
        #expect(service.capabilities == ["a", "b"])
        #expect(service.httpPort == nil)
        #expect(service.nodeID == nil && service.meshID == nil)
        #expect(service.protocolVersion == "1.1")
    }

    @Test func runFailsBeforeOpeningASocketWhenTheConfigurationIsWrong() async {
        let logger = Logger(label: "test.discovery.config")
        let foreignInterface = LANDiscovery(
            configuration: .init(interfaceAddress: "203.0.113.77"), logger: logger, onEvent: { _ in })
        await #expect(throws: DiscoveryError.self) { try await foreignInterface.run() }
        let longName = LANDiscovery(
            configuration: .init(
                advertisement: .init(instanceName: String(repeating: "n", count: 64), port: 1),
                interfaceAddress: "127.0.0.1"),
            logger: logger, onEvent: { _ in })
        // lo may lack the MULTICAST flag: either way it must fail, before any socket exists.
        await #expect(throws: DiscoveryError.self) { try await longName.run() }
    }

    @Test func refusesAnInterfaceAddressThatIsNotOurs() throws {
        let devices = try System.enumerateDevices()
        #expect(throws: DiscoveryError(code: .invalidConfiguration, message: "interface address 'nope' is not IPv4")) {
            try InterfacePlan.make(interfaceAddress: "nope", announcedAddresses: nil, devices: devices)
        }
        do {
            _ = try InterfacePlan.make(interfaceAddress: "203.0.113.77", announcedAddresses: nil, devices: devices)
            Issue.record("203.0.113.77 accepted as an interface address")
        } catch {
            #expect(error.code == .noInterface)
        }
    }
}
