import AtmoMesh
import AtmoProtocol
import Foundation
import Hummingbird
import NIOCore

extension ProviderRoutes {
    /// Largest `POST /v1/catalogs` body taken (gossip pushes carry one catalog or a few).
    static let maxCatalogPushBytes = WireLimits.maxMessageBytes

    func registerMesh(on router: Router<ProviderRequestContext>) {
        router.get(.init(HTTPAPI.catalogsPath)) { _, _ in
            self.mesh.gossipCounters.received(.pull)
            return Self.streamedBundle(self.mesh.catalogsForPull())
        }
        router.post(.init(HTTPAPI.catalogsPath)) { request, context in
            try await self.receiveCatalogs(request, from: context.remoteAddress)
        }
        router.get(.init(MeshAPI.modelsPath)) { request, _ in
            let query = MeshQuery(
                text: request.uri.queryParameters["search"].map(String.init), type: request.uri.queryParameters["type"].map(String.init),
                format: request.uri.queryParameters["format"].map(String.init),
                capability: request.uri.queryParameters["capability"].map(String.init))
            return JSONResponse.make(
                MeshAPI.ModelList(models: self.mesh.models(matching: query, localSHA256s: self.localSHA256s(), ownNodeID: self.nodeID)))
        }
        router.get(.init(MeshAPI.modelsPath + "/:id")) { _, context in
            guard let id = context.parameters.get("id"), Validation.isValidModelID(id) else {
                throw HTTPError(.badRequest, message: "Invalid model id: use 1-200 of A-Z a-z 0-9 . _ - (no '..')")
            }
            let versions = self.mesh.versions(of: id, localSHA256s: self.localSHA256s(), ownNodeID: self.nodeID)
            guard !versions.isEmpty else {
                throw HTTPError(.notFound, message: "No node of the mesh offers \(id)" + self.mesh.refusalHint(modelID: id))
            }
            return JSONResponse.make(MeshAPI.ModelList(models: versions))
        }
        router.get(.init(MeshAPI.peersPath)) { _, _ in
            JSONResponse.make(self.mesh.peerListAnswer())
        }
    }

    /// A gossip push: a `CatalogBundle` or a bare `model_catalog`. Refused catalogs are
    /// counted in the answer; the accepted ones go through the gossip state machine (which
    /// decides what is new, what to relay and what fits the byte budgets; the client's
    /// address is the sender whose share of the budget they count against).
    func receiveCatalogs(_ request: Request, from client: SocketAddress?) async throws -> Response {
        let body = try await request.body.collect(upTo: Self.maxCatalogPushBytes)
        let push: HTTPAPI.CatalogPush
        do {
            // One pass, whichever form: the whole body is never parsed as a JSON tree first.
            push = try WireCoding.decode(HTTPAPI.CatalogPush.self, from: Data(buffer: body))
        } catch {
            throw HTTPError(.badRequest, message: "Expected a model_catalog or {\"catalogs\":[...]}: \(error)")
        }
        let ownID = nodeID
        mesh.gossipCounters.received(.push)
        let sender = client?.ipAddress ?? "unknown"
        mesh.update { state, now in
            push.catalogs.filter { $0.nodeID != ownID }.flatMap { state.gossip.receive($0, from: nil, senderKey: sender, now: now) }
        }
        return JSONResponse.make(CatalogReceipt(accepted: push.catalogs.count, rejected: push.rejected.count))
    }

    /// `GET /v1/catalogs` written one catalog at a time, so answering never builds a copy
    /// of everything the node holds (up to `GossipConfiguration.maxLearnedBytes`) in memory.
    static func streamedBundle(_ catalogs: [ModelCatalog]) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                var buffer = ByteBuffer(string: #"{"catalogs":["#)
                for (index, catalog) in catalogs.enumerated() {
                    if index > 0 { buffer.writeString(",") }
                    buffer.writeBytes(try WireCoding.encode(catalog))
                    if buffer.readableBytes >= 64 * 1024 {
                        try await writer.write(buffer)
                        buffer.clear()
                    }
                }
                buffer.writeString("]}")
                try await writer.write(buffer)
                try await writer.finish(nil)
            })
    }

    func localSHA256s() -> Set<String> {
        Set(inventory.entries.map(\.sha256))
    }
}

/// The answer to a gossip push.
struct CatalogReceipt: Encodable {
    var accepted: Int
    var rejected: Int
}
