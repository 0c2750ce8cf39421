import ArgumentParser
import AtmoProtocol
import Foundation

struct PeersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peers",
        abstract: "List the peers the running node knows, with latency, load and reliability.",
        discussion: """
            Asks the node running on this state folder (`atmo serve`). ORIGIN says how a peer became \\
            known: configured (--peer or config.json), lan (DNS-SD) or gossip (another node's \\
            catalog). Reliability starts at 1.0 and moves 10% towards 1 on every success and \\
            towards 0 on every failure.
            """)

    @OptionGroup var store: StoreOptions

    @Flag(help: "Print the peers as JSON.")
    var json = false

    func run() async throws {
        let node = await LocalNodeClient.require(stateDirectory: store.nodeConfiguration().stateDirectory, json: json, alternative: "")
        let list = await node.getOrExit(MeshAPI.peersPath, as: MeshAPI.PeerList.self, json: json)
        if json {
            printJSON(list)
            return
        }
        guard !list.peers.isEmpty else {
            print("no peers yet (none on the LAN, none configured with --peer, none through a relay)")
            return
        }
        let rows = list.peers.map { peer in
            [
                peer.nodeName.isEmpty ? "?" : peer.nodeName, peer.nodeID.isEmpty ? "(not reached yet)" : peer.nodeID, peer.http ?? "-",
                peer.origin, (peer.transports ?? []).isEmpty ? "-" : (peer.transports ?? []).joined(separator: ","),
                peer.latencyMs.map { String(format: "%.1f ms", $0) } ?? "-",
                peer.activeTransfers.map(String.init) ?? "-", String(format: "%.2f", peer.reliability), String(peer.modelCount),
            ]
        }
        printTable(header: ["NAME", "NODE ID", "HTTP", "ORIGIN", "VIA", "LATENCY", "LOAD", "RELIABILITY", "MODELS"], rows: rows)
    }
}
