import AtmoProtocol
import AtmoRelay
import Foundation
import Hummingbird
import NIOCore

/// `GET /health` of a relay.
public struct RelayHealthReport: Sendable, Hashable, Codable {
    /// `ok` while the relay serves.
    public var status: String
    /// Always `atmo-relay`.
    public var service: String
    /// The protocol version of this implementation (`WireLimits.protocolVersion`).
    public var protocolVersion: String
    /// What the relay offers beyond the notes: `binary_direct`.
    public var features: [String]
    /// Seconds since the relay started.
    public var uptime: Double

    /// A report.
    public init(status: String, service: String, protocolVersion: String, features: [String], uptime: Double) {
        self.status = status
        self.service = service
        self.protocolVersion = protocolVersion
        self.features = features
        self.uptime = uptime
    }

    enum CodingKeys: String, CodingKey {
        case status, service, features, uptime
        case protocolVersion = "protocol_version"
    }
}

/// `GET /stats` of a relay: `RelayStatistics` with snake_case names, and the uptime.
public struct RelayStatsReport: Sendable, Hashable, Codable {
    /// `meshes_registered`: meshes whose registration the relay holds (stored or new).
    public var meshesRegistered: Int
    /// `meshes_active`: meshes with at least one admitted peer.
    public var meshesActive: Int
    /// `peers`: admitted peers over all meshes.
    public var peers: Int
    /// `connections`: open WebSockets, admitted or still waiting for their first message.
    public var connections: Int
    /// `messages_relayed`: deliveries to peers (a broadcast to n peers counts n).
    public var messagesRelayed: UInt64
    /// `bytes_relayed`: payload bytes delivered (a broadcast to n peers counts n times).
    public var bytesRelayed: UInt64
    /// `messages_dropped`: messages of a type the relay does not route, and malformed frames.
    public var messagesDropped: UInt64
    /// `connections_closed`: connections the relay closed (rules, idleness, slowness).
    public var connectionsClosed: UInt64
    /// `queued_bytes`: bytes waiting in the send queues now; `queued_bytes_peak`: the most at once.
    public var queuedBytes: Int
    public var queuedBytesPeak: Int
    /// Seconds since the relay started.
    public var uptime: Double

    /// The report of `statistics` after `uptime` seconds.
    public init(_ statistics: RelayStatistics, uptime: Double) {
        meshesRegistered = statistics.registeredMeshes
        meshesActive = statistics.activeMeshes
        peers = statistics.peers
        connections = statistics.connections
        messagesRelayed = statistics.messagesRelayed
        bytesRelayed = statistics.bytesRelayed
        messagesDropped = statistics.messagesDropped
        connectionsClosed = statistics.connectionsClosed
        queuedBytes = statistics.queuedBytes
        queuedBytesPeak = statistics.queuedBytesPeak
        self.uptime = uptime
    }

    enum CodingKeys: String, CodingKey {
        case peers, connections, uptime
        case meshesRegistered = "meshes_registered"
        case meshesActive = "meshes_active"
        case messagesRelayed = "messages_relayed"
        case bytesRelayed = "bytes_relayed"
        case messagesDropped = "messages_dropped"
        case connectionsClosed = "connections_closed"
        case queuedBytes = "queued_bytes"
        case queuedBytesPeak = "queued_bytes_peak"
    }
}

/// The plain HTTP side of the relay: `/health`, `/stats`, and an explanation for a
/// `GET /relay/{mesh_id}` that is not a WebSocket upgrade. Every answer is JSON.
enum RelayRoutes {
    static func register(on router: Router<BasicRequestContext>, hub: RelayHub) {
        router.get("/health") { _, _ in
            json(
                RelayHealthReport(
                    status: "ok", service: "atmo-relay", protocolVersion: WireLimits.protocolVersion,
                    features: RelayFrames.features, uptime: hub.uptime.seconds))
        }
        router.get("/stats") { _, _ in
            json(RelayStatsReport(hub.statistics, uptime: hub.uptime.seconds))
        }
        router.get("/relay/:mesh_id") { _, context in
            let meshID = context.parameters.get("mesh_id") ?? ""
            guard RelayValidation.isValidMeshID(meshID) else {
                return json(HTTPAPI.ErrorBody(error: invalidMeshIDMessage, code: "invalid_mesh_id"), status: .badRequest)
            }
            var response = json(
                HTTPAPI.ErrorBody(error: "Connect to /relay/\(meshID) with a WebSocket upgrade", code: "upgrade_required"),
                status: .upgradeRequired)
            response.headers[.upgrade] = "websocket"
            return response
        }
    }

    static let invalidMeshIDMessage =
        "The mesh id must be 1-\(RelayLimits.maxMeshIDLength) characters of A-Z a-z 0-9 . _ - ~ (/relay/{mesh_id})"

    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? WireCoding.encode(value)) ?? Data("{}".utf8)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The mesh id of a WebSocket request path `/relay/{mesh_id}` (a query is ignored), or
    /// nil when the path is another or the id is invalid.
    static func meshID(ofPath path: String?) -> String? {
        guard var path, path.hasPrefix("/relay/") else { return nil }
        if let query = path.firstIndex(of: "?") { path = String(path[..<query]) }
        let meshID = String(path.dropFirst("/relay/".count))
        return RelayValidation.isValidMeshID(meshID) ? meshID : nil
    }
}

extension Duration {
    /// The duration in seconds, fractional.
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
