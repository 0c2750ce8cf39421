import Prometheus

extension NodeMetrics {
    /// A metric's name and help, the one place both are spelled (the registry wants the same
    /// help every time a name is used). docs/METRICS.md lists them.
    struct Metric: Sendable {
        let name: String
        let help: String

        /// The registry's form of it (no unit suffix: `name` carries `_total` itself).
        var descriptor: MetricNameDescriptor { MetricNameDescriptor(metricName: name, unitName: "", helpText: help) }

        static let bytesServed = Metric(
            name: "atmo_bytes_served_total",
            help: "Bytes of model files this node served, by route and peer (peer: first 32 node ids, then other)")
        static let bytesResent = Metric(
            name: "atmo_bytes_resent_total",
            help: "Bytes of relayed transfers' chunks this node sent again after their ack timed out, by route and peer")
        static let bytesReceived = Metric(
            name: "atmo_bytes_received_total", help: "Bytes of model files this node received in its pulls, by route and peer")
        static let piecesVerified = Metric(
            name: "atmo_pieces_verified_total", help: "Pieces of swarm pulls that matched the piece manifest")
        static let piecesRejected = Metric(
            name: "atmo_pieces_rejected_total", help: "Pieces of swarm pulls that failed the piece manifest")
        static let downloads = Metric(
            name: "atmo_downloads", help: "Downloads of the node's queue now in each unfinished state")
        static let downloadsFinished = Metric(
            name: "atmo_downloads_finished_total", help: "Downloads of the node's queue that ended, by final state")
        static let hashBytes = Metric(name: "atmo_hash_bytes_total", help: "Bytes of local model files hashed by the inventory")
        static let hashSeconds = Metric(name: "atmo_hash_seconds_total", help: "Seconds the inventory spent hashing model files")
        static let hashFiles = Metric(name: "atmo_hash_files_total", help: "Local model files hashed by the inventory")
        static let meshModels = Metric(name: "atmo_mesh_models", help: "Model versions in this node's mesh view, its own included")
        static let meshPeers = Metric(name: "atmo_mesh_peers", help: "Peers (by node id) in this node's peer table")
        static let relayConnections = Metric(name: "atmo_relay_connections", help: "Relay links this node has joined now")
        static let directLinks = Metric(
            name: "atmo_direct_ws_links", help: "Direct WebSocket transfer links to other nodes open now")
        static let gossipSent = Metric(name: "atmo_gossip_messages_sent_total", help: "Gossip messages this node sent, by kind")
        static let gossipReceived = Metric(
            name: "atmo_gossip_messages_received_total", help: "Gossip messages this node received, by kind")
        static let gossipRefused = Metric(
            name: "atmo_gossip_catalogs_refused_total",
            help: "Peer catalogs refused for their size, or taken with entries refused, by reason")
    }
}
