import Hummingbird

/// `GET /metrics`: the node's metrics in the Prometheus text format (docs/METRICS.md).
/// Read-only, but it tells who this node talks to and what it moves, so it answers only
/// this machine unless the node runs with `--metrics-public`
/// (`NodeConfiguration.metricsPublic`); a scraper elsewhere needs that flag.
struct MetricsRoutes: Sendable {
    static let path = "/metrics"
    /// The content type of the text exposition format 0.0.4.
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    let metrics: NodeMetrics
    let sources: NodeMetrics.Sources
    /// Answer every client, not only this machine.
    let isPublic: Bool

    func register(on router: Router<ProviderRequestContext>) {
        router.get(.init(Self.path)) { _, context in
            guard isPublic || context.isOnThisMachine else {
                throw HTTPError(
                    .forbidden, message: "/metrics answers only this machine; start the node with --metrics-public to serve it to others")
            }
            var headers = HTTPFields()
            headers[.contentType] = Self.contentType
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: .init(string: metrics.scrape(sources))))
        }
    }
}

extension MeshNode {
    /// The node's metrics (`GET /metrics`): counters and the registry they live in.
    public var metrics: NodeMetrics { ledger.metrics }
}

extension MeshNode {
    /// `GET /metrics` over this node's parts.
    func metricsRoutes() -> MetricsRoutes {
        MetricsRoutes(
            metrics: ledger.metrics,
            sources: .init(mesh: mesh, downloads: downloads, hub: transferHub, hashing: inventory.hashCounters),
            isPublic: configuration.metricsPublic)
    }
}
