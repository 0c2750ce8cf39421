import ArgumentParser
import AtmoNode
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
            towards 0 on every failure, a failed /health probe included. A configured address \\
            no node has answered at yet shows "(not reached yet)", "(no answer in time)" when \\
            its probes time out (a peer that trickles its answers) or "(not reachable)".
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
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let refused = RefusedCatalogHint.recent(list.refusedCatalogs ?? [], now: now)
        defer { if !refused.isEmpty { print(Self.refusedLines(refused)) } }
        guard !list.peers.isEmpty else {
            print("no peers yet (none on the LAN, none configured with --peer, none through a relay)")
            return
        }
        let rows = list.peers.map { peer in
            [
                peer.nodeName.isEmpty ? "?" : peer.nodeName, peer.nodeID.isEmpty ? Self.unreached(peer) : peer.nodeID,
                (peer.http ?? "-") + (peer.nodeID.isEmpty ? "" : Self.probeNote(peer)),
                peer.origin, (peer.transports ?? []).isEmpty ? "-" : (peer.transports ?? []).joined(separator: ","),
                peer.latencyMs.map { String(format: "%.1f ms", $0) } ?? "-",
                peer.activeTransfers.map(String.init) ?? "-", String(format: "%.2f", peer.reliability), String(peer.modelCount),
            ]
        }
        printTable(header: ["NAME", "NODE ID", "HTTP", "ORIGIN", "VIA", "LATENCY", "LOAD", "RELIABILITY", "MODELS"], rows: rows)
    }

    /// Most refused catalogs listed under the table; `--json` has them all.
    static let refusedShown = 5

    /// The catalogs this node's gossip refused in the last hour, newest first, as text (they
    /// quote what peers sent): why a model a peer holds may be missing from `atmo models`.
    static func refusedLines(_ refused: [MeshAPI.RefusedCatalog]) -> String {
        var lines = ["", "refused by this node's gossip limits in the last hour (their models stay out of `atmo models`):"]
        for refusal in refused.prefix(refusedShown) {
            lines.append("  " + TerminalText.clean(RefusedCatalogHint.describe(refusal) + ", from " + refusal.sender, limit: 1024))
        }
        if refused.count > refusedShown {
            lines.append("  and \(refused.count - refusedShown) more: `atmo peers --json` lists them (refused_catalogs)")
        }
        return lines.joined(separator: "\n")
    }

    /// The NODE ID column of an address no node has answered at yet.
    static func unreached(_ peer: MeshAPI.Peer) -> String {
        switch peer.probeError {
        case MeshAPI.Peer.probeTimedOut: return "(no answer in time)"
        case nil: return "(not reached yet)"
        default: return "(not reachable)"
        }
    }

    /// After a known peer's endpoint: why its last probe failed, if it did.
    static func probeNote(_ peer: MeshAPI.Peer) -> String {
        switch peer.probeError {
        case MeshAPI.Peer.probeTimedOut: return " (no answer in time)"
        case nil: return ""
        default: return " (probe failed)"
        }
    }
}
