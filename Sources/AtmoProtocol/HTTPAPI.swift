/// Bodies of the provider's HTTP API (`docs/PROTOCOL.md` §3).
public enum HTTPAPI {
    /// The default port of `atmo serve`. The older 14345 clashes with another service.
    public static let defaultPort = 14750

    public static let healthPath = "/health"
    public static let modelsPath = "/v1/models"
    public static let downloadPrefix = "/v1/models/download/"
    public static let transfersPath = "/v1/transfers"
    public static let reportsPath = "/v1/transfers/reports"

    /// `GET /health`.
    public struct Health: Sendable, Hashable, Codable {
        public var status: String
        public var modelsAvailable: Int
        public var httpPort: Int
        public var nodeID: String
        public var nodeName: String
        public var protocolVersion: String
        public var activeTransfers: Int
        public var modelsHashing: Int

        public init(
            status: String = "ok", modelsAvailable: Int, httpPort: Int, nodeID: String, nodeName: String,
            activeTransfers: Int, modelsHashing: Int, protocolVersion: String = WireLimits.protocolVersion
        ) {
            self.status = status
            self.modelsAvailable = modelsAvailable
            self.httpPort = httpPort
            self.nodeID = nodeID
            self.nodeName = nodeName
            self.protocolVersion = protocolVersion
            self.activeTransfers = activeTransfers
            self.modelsHashing = modelsHashing
        }

        enum CodingKeys: String, CodingKey {
            case status
            case modelsAvailable = "models_available"
            case httpPort = "http_port"
            case nodeID = "node_id"
            case nodeName = "node_name"
            case protocolVersion = "protocol_version"
            case activeTransfers = "active_transfers"
            case modelsHashing = "models_hashing"
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            status = try container.decode(String.self, forKey: .status)
            modelsAvailable = try container.decodeIfPresent(Int.self, forKey: .modelsAvailable) ?? 0
            httpPort = try container.decodeIfPresent(Int.self, forKey: .httpPort) ?? 0
            nodeID = try container.decodeIfPresent(String.self, forKey: .nodeID) ?? ""
            nodeName = try container.decodeIfPresent(String.self, forKey: .nodeName) ?? ""
            protocolVersion = try container.decodeIfPresent(String.self, forKey: .protocolVersion) ?? WireLimits.legacyProtocolVersion
            activeTransfers = try container.decodeIfPresent(Int.self, forKey: .activeTransfers) ?? 0
            modelsHashing = try container.decodeIfPresent(Int.self, forKey: .modelsHashing) ?? 0
        }
    }

    /// `GET /v1/models`.
    public struct ModelList: Sendable, Hashable, Codable {
        public var models: [ModelEntry]
        public init(models: [ModelEntry]) { self.models = models }
    }

    /// Every 4xx/5xx answer: `{"error": "...", "code": "..."}`.
    public struct ErrorBody: Sendable, Hashable, Codable {
        public var error: String
        public var code: String?
        public init(error: String, code: String? = nil) {
            self.error = error
            self.code = code
        }
    }
}
