import AtmoTransfer
import Prometheus
import Synchronization

/// The node's Prometheus metrics (`GET /metrics`, docs/METRICS.md): its own
/// `PrometheusCollectorRegistry`, never swift-metrics' global one, so several nodes in one
/// process (tests, apps) keep apart. Counters move where the work happens (bytes served and
/// received, piece verdicts: the engine's `TransferCounters`); gauges and the totals kept by
/// other parts (downloads, hashing, gossip, the mesh view, relay links) are read when
/// scraped (`NodeMetrics+Scrape.swift`).
public final class NodeMetrics: Sendable, TransferCounters {
    /// How bytes moved: a label value of the byte counters.
    public enum Route: String, Sendable, CaseIterable {
        case http
        case directWS = "direct_ws"
        case relay

        init(_ route: PullSource.Route) {
            switch route {
            case .http: self = .http
            case .websocket: self = .directWS
            case .relay: self = .relay
            }
        }
    }

    /// Peers with their own `peer` label before the rest count as `other` (PeerLabels).
    public static let defaultPeerLabels = 32

    let registry: PrometheusCollectorRegistry
    private let peers: Mutex<PeerLabels>
    /// `atmo_bytes_served_total{route="http",peer="unknown"}`, kept at hand: `FileBodyPump`
    /// adds every chunk it writes (no lock, no look-up on the event loop).
    private let httpServed: Counter
    /// The totals last copied into counters from elsewhere, by series (`sync`).
    private let synced = Mutex<[String: Int64]>([:])
    /// Who asked for which model from which address (NodeMetrics+Requesters.swift).
    let requesters = Mutex(RequesterMemory())

    public init(peerLabels: Int = NodeMetrics.defaultPeerLabels) {
        peers = Mutex(PeerLabels(capacity: peerLabels))
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        let served = Metric.bytesServed
        httpServed = registry.makeCounter(
            descriptor: served.descriptor, labels: [("route", Route.http.rawValue), ("peer", PeerLabels.unknown)])
        // Series that exist from the start, at 0, so the first scrape has them and rate()
        // a first sample.
        for metric in [Metric.bytesServed, .bytesReceived] {
            for route in Route.allCases {
                _ = registry.makeCounter(descriptor: metric.descriptor, labels: [("route", route.rawValue), ("peer", PeerLabels.unknown)])
            }
        }
        for route in [Route.directWS, .relay] {
            let labels = [("route", route.rawValue), ("peer", PeerLabels.unknown)]
            _ = registry.makeCounter(descriptor: Metric.bytesResent.descriptor, labels: labels)
        }
        for metric in [Metric.piecesVerified, .piecesRejected] {
            _ = registry.makeCounter(descriptor: metric.descriptor)
        }
    }

    /// The Prometheus text exposition of every metric (format 0.0.4).
    public func render() -> String { registry.emitToString() }

    /// How many distinct `peer` labels the byte counters use so far (at most the capacity).
    var peerLabelCount: Int { peers.withLock { $0.assigned.count } }

    // MARK: - Bytes

    /// `bytes` this node served to `peer` (a node id; nil when unknown, as for HTTP range
    /// requests, which name no requester) over `route`.
    public func served(bytes: Int64, route: Route, peer: String?) {
        count(Metric.bytesServed, bytes: bytes, route: route, peer: peer)
    }

    /// `bytes` of chunks a relayed transfer to `peer` over `route` sent again after their ack
    /// timed out: not counted in `served` (docs/METRICS.md).
    public func resent(bytes: Int64, route: Route, peer: String?) {
        count(Metric.bytesResent, bytes: bytes, route: route, peer: peer)
    }

    /// `bytes` of a download's body written over HTTP (range requests name no requester).
    func servedOverHTTP(bytes: Int64) {
        if bytes > 0 { httpServed.increment(by: bytes) }
    }

    /// The counter of bytes served over HTTP to `peer` (a node id; nil: `unknown`), looked
    /// up once per answer, so `FileBodyPump` adds each chunk with no lock or look-up on the
    /// event loop. The peer gets its label as `served(bytes:route:peer:)` gives it.
    func httpServedCounter(peer: String?) -> ServedCounter {
        guard let peer, !peer.isEmpty else { return ServedCounter(counter: httpServed) }
        let label = peers.withLock { $0.label(for: peer) }
        return ServedCounter(
            counter: registry.makeCounter(
                descriptor: Metric.bytesServed.descriptor, labels: [("route", Route.http.rawValue), ("peer", label)]))
    }

    /// One series of `atmo_bytes_served_total`, kept by an answer being sent.
    struct ServedCounter: Sendable {
        let counter: Counter

        func add(_ bytes: Int64) {
            if bytes > 0 { counter.increment(by: bytes) }
        }
    }

    public func received(bytes: Int64, route: PullSource.Route, peer: String?) {
        count(Metric.bytesReceived, bytes: bytes, route: Route(route), peer: peer)
    }

    public func pieces(verified: Int, rejected: Int) {
        if verified > 0 { registry.makeCounter(descriptor: Metric.piecesVerified.descriptor).increment(by: Int64(verified)) }
        if rejected > 0 { registry.makeCounter(descriptor: Metric.piecesRejected.descriptor).increment(by: Int64(rejected)) }
    }

    private func count(_ metric: Metric, bytes: Int64, route: Route, peer: String?) {
        guard bytes > 0 else { return }
        let label = peers.withLock { $0.label(for: peer) }
        registry.makeCounter(descriptor: metric.descriptor, labels: [("route", route.rawValue), ("peer", label)])
            .increment(by: bytes)
    }

    // MARK: - Totals kept elsewhere

    /// Moves the counter `metric{labels}` up to `total` (a monotone total another part keeps).
    func sync(_ metric: Metric, labels: [(String, String)] = [], to total: Int64) {
        let key = metric.name + labels.map { "|\($0.0)=\($0.1)" }.joined()
        let delta = synced.withLock { last -> Int64 in
            let delta = total - (last[key] ?? 0)
            if delta > 0 { last[key] = total }
            return delta
        }
        let counter =
            labels.isEmpty
            ? registry.makeCounter(descriptor: metric.descriptor)
            : registry.makeCounter(descriptor: metric.descriptor, labels: labels)
        if delta > 0 { counter.increment(by: delta) }
    }

    /// Moves the seconds counter `metric` up to `total` seconds.
    func sync(_ metric: Metric, seconds total: Double) {
        let delta = synced.withLock { last -> Double in
            let previous = Double(last[metric.name] ?? 0) / 1e9
            guard total > previous else { return 0 }
            last[metric.name] = Int64(total * 1e9)
            return total - previous
        }
        let counter = registry.makeCounter(descriptor: metric.descriptor)
        if delta > 0 { counter.increment(by: delta) }
    }

    /// Sets the gauge `metric{labels}`.
    func set(_ metric: Metric, labels: [(String, String)] = [], to value: Int) {
        let gauge =
            labels.isEmpty
            ? registry.makeGauge(descriptor: metric.descriptor)
            : registry.makeGauge(descriptor: metric.descriptor, labels: labels)
        gauge.set(Double(value))
    }
}
