import ArgumentParser
import AtmoHTTPServer

/// The connection limits both servers take (`atmo serve`, `atmo relay`): how long a new
/// connection may take to send its first request head, and how many one address may hold.
struct ConnectionOptions: ParsableArguments {
    @Option(
        name: .customLong("request-head-timeout"),
        help: "Seconds a new connection has to send its first complete request head before it is closed.")
    var requestHeadTimeout: Double = 30

    @Option(
        name: .customLong("max-connections-per-address"),
        help: "Most connections one client address may hold open at once (one more is answered 503).")
    var maxConnectionsPerAddress: Int = 128

    func validate() throws {
        guard (0.1...3600).contains(requestHeadTimeout) else {
            throw ValidationError("--request-head-timeout must be 0.1-3600 seconds")
        }
        guard (1...1_000_000).contains(maxConnectionsPerAddress) else {
            throw ValidationError("--max-connections-per-address must be 1-1000000")
        }
    }

    /// `limits` with these options applied.
    func applied(to limits: HTTPConnectionLimits) -> HTTPConnectionLimits {
        var limits = limits
        limits.requestHeadTimeout = .milliseconds(Int64(requestHeadTimeout * 1000))
        limits.maxConnectionsPerAddress = maxConnectionsPerAddress
        return limits
    }
}
