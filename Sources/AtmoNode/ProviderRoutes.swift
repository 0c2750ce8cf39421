import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation
import Hummingbird
import NIOPosix

/// The provider's HTTP API (docs/PROTOCOL.md §3): health, catalog, one entry, downloads,
/// transfer requests and reports.
struct ProviderRoutes: Sendable {
    let inventory: Inventory
    let ledger: TransferLedger
    let mesh: MeshState
    let downloads: DownloadManager
    /// The files this node is pulling: their verified pieces are served too.
    let partialOffers: PartialOffers
    let nodeID: String
    let nodeName: String
    /// The bound port, known once the server runs.
    let boundPort: Shared<Int>
    /// Where file reads of downloads run (never the event loop or the cooperative pool).
    let fileReaders: NIOThreadPool
    /// Asks the inventory service for a rescan (a served file changed under us).
    let requestRescan: @Sendable () -> Void

    /// Largest body of a control request (`model_request`, reports): they are a few hundred
    /// bytes, so anything near this is refused with 413 before it is buffered.
    static let maxControlBodyBytes = 64 * 1024

    /// The routes registered below, read back from the router for 404-or-405 answers.
    let routeTable = RouteTable()
    /// The open `/v1/downloads/events` streams (capped as `/v1/events`, apart from them).
    let downloadStreams = EventStreamSlots(perAddress: NodeAPI.maxEventStreamsPerAddress, total: NodeAPI.maxEventStreams)

    func register(on router: Router<ProviderRequestContext>) {
        router.add(middleware: JSONErrorMiddleware(allowedMethods: routeTable.allowedMethods(path:)))
        router.get("/health") { _, _ in self.health() }
        router.get("/v1/models") { _, _ in JSONResponse.make(HTTPAPI.ModelList(models: self.inventory.entries)) }
        router.get("/v1/models/download/:id") { request, context in
            try await self.download(request, id: context.parameters.get("id"), includeBody: true, channel: context.channel)
        }
        router.head("/v1/models/download/:id") { request, context in
            try await self.download(request, id: context.parameters.get("id"), includeBody: false, channel: context.channel)
        }
        router.get("/v1/models/:id") { _, context in
            let item = try self.lookup(context.parameters.get("id"))
            return JSONResponse.make(item.entry)
        }
        router.post("/v1/transfers") { request, context in
            try await self.transferRequest(request, context: context)
        }
        router.post("/v1/transfers/reports") { request, context in
            try await self.transferReport(request, context: context)
        }
        registerMesh(on: router)
        registerRepositories(on: router)
        registerPieces(on: router)
        registerPartial(on: router)
        registerDownloads(on: router)
        routeTable.load(from: router)
    }

    func health() -> Response {
        let counts = ledger.snapshot
        var health = HTTPAPI.Health(
            modelsAvailable: inventory.entries.count, httpPort: boundPort.value, nodeID: nodeID, nodeName: nodeName,
            activeTransfers: counts.activeDownloads, modelsHashing: inventory.pendingHashCount)
        health.status = "ok"
        return JSONResponse.make(HealthBody(health: health, transfers: counts))
    }

    /// Resolves a path id to an inventory item; hostile or unknown ids are 4xx, never a path.
    func lookup(_ rawID: String?) throws -> InventoryItem {
        guard let rawID, Validation.isValidModelID(rawID) else {
            throw HTTPError(.badRequest, message: "Invalid model id: use 1-200 of A-Z a-z 0-9 . _ - (no '..')")
        }
        guard let item = inventory.item(modelID: rawID) else { throw notFound() }
        return item
    }

    /// 404, or 503 with `Retry-After` while the first scan has not listed the folders yet (a
    /// node that just restarted must not tell a resuming consumer that its model is gone).
    func notFound() -> HTTPError {
        guard inventory.hasListed else {
            var headers = HTTPFields()
            headers[.retryAfter] = "1"
            return HTTPError(.serviceUnavailable, headers: headers, message: "This node is still scanning its models; retry shortly")
        }
        return HTTPError(.notFound, message: "Model not found")
    }

    func transferRequest(_ request: Request, context: ProviderRequestContext) async throws -> Response {
        let body = try await request.body.collect(upTo: Self.maxControlBodyBytes)
        let message = try Self.decodeModelRequest(Data(buffer: body))
        guard let item = inventory.item(modelID: message.modelID) else { throw notFound() }
        ledger.requested()
        ledger.metrics.noteRequester(message.requesterNodeID, address: context.remoteAddress?.ipAddress, modelID: item.entry.modelID)
        context.logger.info(
            "transfer requested",
            metadata: ["model": "\(message.modelID)", "requester": "\(message.requesterNodeID)", "resume_from": "\(message.resumeFromByte)"])
        let start = ModelTransferStart(
            requestID: message.requestID, modelID: item.entry.modelID, totalBytes: item.entry.sizeBytes,
            sha256: item.entry.sha256,
            metadata: .init(name: item.entry.name, type: item.entry.type, format: item.entry.format, classes: item.entry.classes),
            transferMethod: "http_range")
        return JSONResponse.make(start)
    }

    func transferReport(_ request: Request, context: ProviderRequestContext) async throws -> Response {
        let body = try await request.body.collect(upTo: Self.maxControlBodyBytes)
        switch try WireCoding.decodeMessage(Data(buffer: body)) {
        case .complete(let complete):
            ledger.record(complete)
            context.logger.info(
                "transfer reported", metadata: ["model": "\(complete.modelID)", "status": "\(complete.verificationStatus)"])
        case .cancel(let cancel):
            ledger.record(cancel)
            context.logger.info("transfer cancelled by peer", metadata: ["model": "\(cancel.modelID)", "reason": "\(cancel.reason)"])
        default:
            throw HTTPError(.badRequest, message: "expected model_transfer_complete or model_transfer_cancel")
        }
        return JSONResponse.make(["status": "recorded"], status: .accepted)
    }
}

extension ProviderRoutes {
    /// Decodes the body of `POST /v1/transfers`, with errors that name the problem: not JSON,
    /// another message type, an invalid `model_id`, or an invalid field.
    static func decodeModelRequest(_ data: Data) throws(WireError) -> ModelRequest {
        let fields: [String: JSONValue]
        do {
            fields = try JSONDecoder().decode([String: JSONValue].self, from: data)
        } catch {
            throw WireError(.malformedJSON, "body is not a JSON object")
        }
        if let type = fields["type"]?.stringValue, type != ModelRequest.messageType {
            throw WireError(.invalidValue, "type must be \(ModelRequest.messageType)")
        }
        guard let modelID = fields["model_id"] else { throw WireError(.missingField, "model_id is missing") }
        try Validation.checkModelID(modelID.stringValue ?? "")
        return try WireCoding.decode(ModelRequest.self, from: data)
    }
}

/// `/health`: the fields of the notes, then this node's transfer counts.
struct HealthBody: Encodable {
    var health: HTTPAPI.Health
    var transfers: TransferLedger.Counts

    func encode(to encoder: any Encoder) throws {
        try health.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(transfers, forKey: .transfers)
    }

    enum Key: String, CodingKey { case transfers }
}
