import ArgumentParser
import AtmoNode
import AtmoProtocol
import AtmoTransfer
import Foundation

/// A rate flag's value: `20MB/s`, `5Mbps`, `unlimited` (`ByteRate`).
func parseRate(_ text: String, flag: String) throws -> ByteRate {
    guard let rate = ByteRate(parsing: text) else {
        throw ValidationError("\(flag) takes a rate such as 20MB/s, 500KB/s, 5Mbps or unlimited, not '\(text)'")
    }
    return rate
}

/// The bandwidth flags of `atmo serve`; they override config.json's `"bandwidth"`.
struct BandwidthOptions: ParsableArguments {
    @Option(
        name: .customLong("limit-up"), help: "Most the node sends in all, e.g. 20MB/s or 5Mbps (default: unlimited).",
        transform: { try parseRate($0, flag: "--limit-up") })
    var limitUp: ByteRate?

    @Option(
        name: .customLong("limit-down"), help: "Most the node receives in all (default: unlimited).",
        transform: { try parseRate($0, flag: "--limit-down") })
    var limitDown: ByteRate?

    @Option(
        name: .customLong("limit-peer-up"), help: "Most the node sends to any one peer.",
        transform: { try parseRate($0, flag: "--limit-peer-up") })
    var limitPeerUp: ByteRate?

    @Option(
        name: .customLong("limit-peer-down"), help: "Most the node receives from any one peer.",
        transform: { try parseRate($0, flag: "--limit-peer-down") })
    var limitPeerDown: ByteRate?

    @Option(
        name: .customLong("size-class-policy"),
        help: "off (default), or seed: models under 10 MB unthrottled, 10-500 MB at 5 Mbps, over 500 MB at 2 Mbps, per transfer.")
    var sizeClassPolicy: SizeClassPolicy?

    @Flag(
        name: .customLong("adaptive-uploads"),
        help: "Uploads yield to delay: their rate halves when the round trip to the peer rises 100 ms above its base.")
    var adaptiveUploads = false

    /// The flags over `limits` (after the config file was applied).
    func apply(to limits: inout BandwidthLimits) {
        if let limitUp { limits.up = limitUp }
        if let limitDown { limits.down = limitDown }
        if let limitPeerUp { limits.perPeer.up = limitPeerUp }
        if let limitPeerDown { limits.perPeer.down = limitPeerDown }
        if let sizeClassPolicy { limits.sizeClassPolicy = sizeClassPolicy }
        if adaptiveUploads { limits.adaptiveUploads = true }
    }
}

extension SizeClassPolicy: ExpressibleByArgument {}

/// `atmo limit`: the running node's bandwidth limits, shown or changed.
struct LimitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "limit",
        abstract: "Show or change the running node's bandwidth limits.",
        discussion: """
            With no option, prints the limits in force and the background rates held back by delay. \
            Options change only what they name; the change lasts until the node stops (put lasting \
            limits in config.json's "bandwidth" or on `atmo serve`'s command line). Rates: 20MB/s, \
            1.5GiB/s, 500KB/s, 5Mbps, a number of bytes per second, or unlimited.
            """)

    @OptionGroup var store: StoreOptions

    @Option(help: "Most the node sends in all.", transform: { try parseRate($0, flag: "--up") })
    var up: ByteRate?

    @Option(help: "Most the node receives in all.", transform: { try parseRate($0, flag: "--down") })
    var down: ByteRate?

    @Option(name: .customLong("peer-up"), help: "Most the node sends to any one peer.", transform: { try parseRate($0, flag: "--peer-up") })
    var peerUp: ByteRate?

    @Option(
        name: .customLong("peer-down"), help: "Most the node receives from any one peer.",
        transform: { try parseRate($0, flag: "--peer-down") })
    var peerDown: ByteRate?

    @Option(name: .customLong("size-class-policy"), help: "off or seed.")
    var sizeClassPolicy: SizeClassPolicy?

    @Option(
        name: .customLong("adaptive-uploads"), help: "on or off.",
        transform: { text in
            switch text.lowercased() {
            case "on", "true", "yes": return true
            case "off", "false", "no": return false
            default: throw ValidationError("--adaptive-uploads takes on or off")
            }
        })
    var adaptiveUploads: Bool?

    @Flag(help: "Print the limits as JSON.")
    var json = false

    var changes: Bool { up != nil || down != nil || peerUp != nil || peerDown != nil || sizeClassPolicy != nil || adaptiveUploads != nil }

    func run() async throws {
        let configuration = store.nodeConfiguration()
        let node = await LocalNodeClient.require(stateDirectory: configuration.stateDirectory, json: json, alternative: "")
        var status = await node.getOrExit(BandwidthLimits.apiPath, as: BandwidthStatus.self, json: json)
        if changes {
            var limits = status.limits
            if let up { limits.up = up }
            if let down { limits.down = down }
            if let peerUp { limits.perPeer.up = peerUp }
            if let peerDown { limits.perPeer.down = peerDown }
            if let sizeClassPolicy { limits.sizeClassPolicy = sizeClassPolicy }
            if let adaptiveUploads { limits.adaptiveUploads = adaptiveUploads }
            do {
                status = try await node.put(BandwidthLimits.apiPath, limits, as: BandwidthStatus.self)
            } catch {
                Failure(message: "the node refused the limits: \(error)", exitCode: ExitStatus.failure).exit(json: json)
            }
        }
        if json {
            let data = try WireCoding.encode(status)
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print(Self.text(status))
    }

    /// The status as lines for people.
    static func text(_ status: BandwidthStatus) -> String {
        let limits = status.limits
        var lines = [
            "up:                \(limits.up)", "down:              \(limits.down)",
            "per peer up:       \(limits.perPeer.up)", "per peer down:     \(limits.perPeer.down)",
            "size-class policy: \(limits.sizeClassPolicy.rawValue)", "adaptive uploads:  \(limits.adaptiveUploads ? "on" : "off")",
        ]
        for (peer, rates) in limits.peers.sorted(by: { $0.key < $1.key }) {
            lines.append("peer \(peer): up \(rates.up), down \(rates.down)")
        }
        for held in status.adaptive {
            lines.append("held back by delay: \(held.peer) \(held.direction.rawValue) at \(held.rate)")
        }
        return lines.joined(separator: "\n")
    }
}

extension LocalNodeClient {
    /// `PUT path` with `body` as JSON; the answer decoded as `T`, or the node's error.
    func put<Body: Encodable, T: Decodable>(_ path: String, _ body: Body, as type: T.Type) async throws -> T {
        try await send(.PUT, path, body: try WireCoding.encode(body), as: T.self, maxAnswerBytes: 1024 * 1024)
    }
}
