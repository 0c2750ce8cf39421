import Foundation
import GRDB

/// What the node remembers about a peer between runs: how to reach it, how it performed
/// and how it was learned. Plain values (the mesh layer's `PeerStats` is converted by the
/// node), keyed by `node_id`.
public struct PeerRecord: Sendable, Hashable {
    /// How a peer became known. Values this version does not know are kept as read.
    public struct Source: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// Given in the configuration or on the command line (`static` in the table).
        public static let configured = Source(rawValue: "static")
        /// Found by LAN discovery (DNS-SD over multicast DNS).
        public static let mdns = Source(rawValue: "mdns")
        /// Learned from a gossiped catalog's `transfer_endpoints`.
        public static let gossip = Source(rawValue: "gossip")

        public var description: String { rawValue }
    }

    /// The peer's `node_id` (the key).
    public var nodeID: String
    /// Its `node_name`.
    public var nodeName: String
    /// Base URL of its HTTP API; nil when it has none.
    public var httpURL: String?
    /// Whether it accepts chunked transfers over WebSocket.
    public var websocket: Bool
    /// Last measured round-trip time of `GET /health`, in milliseconds.
    public var latencyMs: Double?
    /// Downloads it was serving when last probed.
    public var activeTransfers: Int?
    /// Exponential moving average of outcomes, 0...1.
    public var reliability: Double
    /// When it was last heard from (Unix epoch ms).
    public var lastSeenMs: Int64
    /// How it became known.
    public var source: Source

    /// A record; `reliability` defaults to 1, as for a peer never tried.
    public init(
        nodeID: String, nodeName: String, httpURL: String?, websocket: Bool = false, latencyMs: Double? = nil,
        activeTransfers: Int? = nil, reliability: Double = 1.0, lastSeenMs: Int64, source: Source
    ) {
        self.nodeID = nodeID
        self.nodeName = nodeName
        self.httpURL = httpURL
        self.websocket = websocket
        self.latencyMs = latencyMs
        self.activeTransfers = activeTransfers
        self.reliability = reliability
        self.lastSeenMs = lastSeenMs
        self.source = source
    }
}

extension StateDatabase {
    struct PeerRow: Codable, FetchableRecord, PersistableRecord, Sendable {
        static let databaseTableName = "peer"
        var node_id: String
        var node_name: String
        var http_url: String?
        var websocket: Bool
        var latency_ms: Double?
        var active_transfers: Int?
        var reliability: Double
        var last_seen_ms: Int64
        var source: String

        init(_ record: PeerRecord) {
            node_id = record.nodeID
            node_name = record.nodeName
            http_url = record.httpURL
            websocket = record.websocket
            latency_ms = record.latencyMs.flatMap { $0.isFinite ? $0 : nil }
            active_transfers = record.activeTransfers
            reliability = record.reliability.isFinite ? min(1, max(0, record.reliability)) : 1
            last_seen_ms = record.lastSeenMs
            source = record.source.rawValue
        }

        var record: PeerRecord {
            PeerRecord(
                nodeID: node_id, nodeName: node_name, httpURL: http_url, websocket: websocket, latencyMs: latency_ms,
                activeTransfers: active_transfers, reliability: reliability, lastSeenMs: last_seen_ms,
                source: PeerRecord.Source(rawValue: source))
        }
    }

    /// Inserts or replaces the record of `record.nodeID`. Reliability is stored clamped to
    /// 0...1 and a non-finite latency as unknown.
    public func savePeer(_ record: PeerRecord) throws(StoreError) {
        let row = PeerRow(record)
        try write { db in try row.save(db) }
    }

    /// Saves several records in one transaction (the node's periodic flush).
    public func savePeers(_ records: [PeerRecord]) throws(StoreError) {
        let rows = records.map(PeerRow.init)
        try write { db in
            for row in rows { try row.save(db) }
        }
    }

    /// The record of `nodeID`, if one was saved.
    public func peer(nodeID: String) throws(StoreError) -> PeerRecord? {
        try read { db in try PeerRow.fetchOne(db, key: nodeID) }?.record
    }

    /// Every saved peer, most recently seen first (then by node id).
    public func allPeers() throws(StoreError) -> [PeerRecord] {
        let rows = try read { db in
            try PeerRow.fetchAll(db, sql: "SELECT * FROM peer ORDER BY last_seen_ms DESC, node_id ASC")
        }
        return rows.map(\.record)
    }

    /// Forgets `nodeID`; returns whether it was saved.
    @discardableResult
    public func deletePeer(nodeID: String) throws(StoreError) -> Bool {
        try write { db in try PeerRow.deleteOne(db, key: nodeID) }
    }

    /// Forgets peers not seen since `lastSeenMs` (ms); returns how many.
    @discardableResult
    public func deletePeers(lastSeenBefore lastSeenMs: Int64) throws(StoreError) -> Int {
        try write { db in
            try db.execute(sql: "DELETE FROM peer WHERE last_seen_ms < ?", arguments: [lastSeenMs])
            return db.changesCount
        }
    }
}
