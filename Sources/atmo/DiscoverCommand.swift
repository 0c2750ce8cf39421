import ArgumentParser
import AtmoDiscovery
import AtmoStore
import AtmoTransfer
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

struct DiscoverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "discover",
        abstract: "Find Atmosphere nodes on the local network (DNS-SD over multicast DNS).",
        discussion: """
            Browses for _atmosphere._tcp.local. services for --timeout seconds, then prints the \
            nodes that are still there: a table, or with --json one JSON object per line. With \
            --watch every change is also printed as it happens. With --advertise NAME --port P it \
            also advertises a node while it runs (TXT keys node_id, mesh_id, capabilities, \
            http_port, protocol_version, node_name) and says goodbye when it stops. Its own \
            advertisement is never listed. Ctrl-C or SIGTERM stop it early (status 0). Uses UDP \
            port 5353, shared with any other mDNS responder on this machine.
            """)

    @OptionGroup var store: StoreOptions

    @Option(help: "Seconds to browse before printing the nodes found (0: until Ctrl-C or SIGTERM).")
    var timeout: Double = 3

    @Flag(help: "Print one JSON object per node and line.")
    var json = false

    @Flag(help: "Also print each node found or lost as it happens (with --json: lines with an \"event\" field).")
    var watch = false

    @Option(name: .customLong("advertise"), help: ArgumentHelp("Advertise a node with this name while running.", valueName: "name"))
    var advertisedName: String?

    @Option(help: "The port to advertise (the node's HTTP port); required with --advertise.")
    var port: Int?

    @Option(name: .customLong("node-id"), help: "The node id to advertise (default: this node's id from <state-dir>).")
    var nodeID: String?

    @Option(name: .customLong("mesh-id"), help: "The mesh id to advertise (default: none).")
    var meshID = ""

    @Option(help: "Comma-separated capabilities to advertise.")
    var capabilities = ""

    @Option(name: .customLong("txt"), help: ArgumentHelp("An extra TXT entry to advertise (repeatable).", valueName: "key=value"))
    var extraTXT: [String] = []

    @Option(name: .customLong("interface"), help: "IPv4 address of the interface to use (default: every multicast-capable one).")
    var interfaceAddress: String?

    @Option(name: .customLong("service-type"), help: "The DNS-SD service type.")
    var serviceType = "_atmosphere._tcp.local."

    func validate() throws {
        guard timeout >= 0, timeout.isFinite else { throw ValidationError("--timeout must be 0 or more seconds") }
        if advertisedName != nil {
            guard let port, (1...65535).contains(port) else { throw ValidationError("--advertise needs --port 1-65535") }
        } else if port != nil || nodeID != nil {
            throw ValidationError("--port and --node-id go with --advertise NAME")
        }
        for entry in extraTXT where !entry.contains("=") {
            throw ValidationError("--txt takes key=value, not '\(entry)'")
        }
    }

    func run() async throws {
        let logger = store.makeLogger(label: "atmo.discover", defaultLevel: .warning)
        var configuration = LANDiscovery.Configuration(serviceType: serviceType, interfaceAddress: interfaceAddress)
        if let advertisedName, let port {
            configuration.advertisement = .atmosphereNode(
                nodeName: advertisedName, nodeID: nodeID ?? ownNodeID(), port: port, meshID: meshID,
                capabilities: capabilities.split(separator: ",").map(String.init), extraTXT: parsedExtraTXT())
        }
        let nodes = DiscoveredNodes()
        let (watch, json) = (self.watch, self.json)
        let discovery = LANDiscovery(configuration: configuration, logger: logger) { event in
            nodes.apply(event)
            if watch { Self.printEvent(event, json: json) }
        }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: discovery)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                if timeout > 0 {
                    tasks.addTask { [timeout] in
                        try await Task.sleep(for: .milliseconds(Int64(timeout * 1000)))
                        await group.triggerGracefulShutdown()
                    }
                }
                try await tasks.next()
                tasks.cancelAll()
            }
        } catch {
            Failure(error, context: "discovery failed").exit(json: json, code: "discovery_failed")
        }
        printNodes(nodes.current.sorted { $0.instanceName < $1.instanceName })
    }

    private func ownNodeID() -> String {
        let directory = store.nodeConfiguration().stateDirectory
        do {
            return try NodeIdentity.loadOrCreate(directory: directory).nodeID
        } catch {
            Failure(error, context: "cannot read the node id in \(directory) (or pass --node-id)").exit(json: json)
        }
    }

    private func parsedExtraTXT() -> [String: String] {
        var txt: [String: String] = [:]
        for entry in extraTXT {
            let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            txt[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        return txt
    }

    private func printNodes(_ nodes: [DiscoveredService]) {
        if json {
            for node in nodes { printJSON(DiscoveredNodeLine(node)) }
            return
        }
        guard !nodes.isEmpty else {
            print(timeout > 0 ? "no Atmosphere nodes found in \(timeout.formatted()) s" : "no Atmosphere nodes found")
            return
        }
        printTable(
            header: ["NAME", "NODE ID", "ADDRESS", "PORT", "MESH", "VERSION", "CAPABILITIES"],
            rows: nodes.map { node in
                [
                    node.instanceName, node.nodeID ?? "-", node.addresses.first ?? "-", String(node.httpPort ?? node.port),
                    node.meshID.flatMap { $0.isEmpty ? nil : $0 } ?? "-", node.protocolVersion ?? "-",
                    node.capabilities.isEmpty ? "-" : node.capabilities.joined(separator: ","),
                ]
            })
    }

    private static func printEvent(_ event: DiscoveryEvent, json: Bool) {
        switch event {
        case .found(let node):
            if json {
                var line = DiscoveredNodeLine(node)
                line.event = "found"
                printJSON(line)
            } else {
                print("found \(node.instanceName) at \(node.addresses.first ?? "?"):\(node.port)")
                fflush(nil)
            }
        case .lost(let name):
            if json {
                printJSON(["event": "lost", "instance_name": name])
            } else {
                print("lost \(name)")
                fflush(nil)
            }
        }
    }
}

/// The nodes currently known, updated from the discovery callback's thread.
private final class DiscoveredNodes: Sendable {
    private let nodes = Mutex<[String: DiscoveredService]>([:])

    func apply(_ event: DiscoveryEvent) {
        nodes.withLock { nodes in
            switch event {
            case .found(let node): nodes[node.instanceName] = node
            case .lost(let name): nodes[name] = nil
            }
        }
    }

    var current: [DiscoveredService] { nodes.withLock { Array($0.values) } }
}

/// `atmo discover --json`: one line per node.
struct DiscoveredNodeLine: Encodable {
    var event: String?
    var instanceName: String
    var hostName: String
    var port: Int
    var addresses: [String]
    var txt: [String: String]
    var nodeID: String?
    var meshID: String?
    var capabilities: [String]
    var httpPort: Int?
    var protocolVersion: String?

    init(_ node: DiscoveredService) {
        instanceName = node.instanceName
        hostName = node.hostName
        port = node.port
        addresses = node.addresses
        txt = node.txt
        nodeID = node.nodeID
        meshID = node.meshID
        capabilities = node.capabilities
        httpPort = node.httpPort
        protocolVersion = node.protocolVersion
    }

    enum CodingKeys: String, CodingKey {
        case event, port, addresses, txt, capabilities
        case instanceName = "instance_name", hostName = "host_name", nodeID = "node_id", meshID = "mesh_id"
        case httpPort = "http_port", protocolVersion = "protocol_version"
    }
}
