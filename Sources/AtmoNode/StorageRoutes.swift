import AtmoProtocol
import AtmoStore
import Foundation
import Hummingbird
import NIOPosix

/// `StorageAPI`: the storage of pulled models, pins and uses, for this machine only (the
/// answers name local models; other nodes have no business pinning here).
struct StorageRoutes: Sendable {
    let storage: NodeStorage
    /// Where the file system and SQLite work of these routes runs.
    let fileReaders: NIOThreadPool

    /// The `code` of the 409 that refuses a pin beyond `StateDatabase.maxPins`.
    static let tooManyPinsCode = "too_many_pins"

    func register(on router: Router<ProviderRequestContext>) {
        router.get(.init(StorageAPI.path)) { _, context in
            try ProviderRoutes.requireLocal(context, what: "The storage API")
            let status = try await fileReaders.runIfActive { try storage.status() }
            return JSONResponse.make(status)
        }
        router.post(.init(StorageAPI.pinsPath)) { request, context in
            try ProviderRoutes.requireLocal(context, what: "The storage API")
            let modelID = try await Self.modelID(of: request)
            do {
                return JSONResponse.make(try await fileReaders.runIfActive { try storage.pin(modelID) })
            } catch let error as StoreError where error.code == .conflict {
                // The bound of pins (`StateDatabase.maxPins`): the store's sentence says what
                // to do (the error middleware would put generic advice in its place).
                return JSONResponse.error(.conflict, error.message, code: Self.tooManyPinsCode)
            }
        }
        router.delete(.init(StorageAPI.pinsPath + "/:id")) { _, context in
            try ProviderRoutes.requireLocal(context, what: "The storage API")
            let modelID = try Self.checked(context.parameters.get("id"))
            guard let state = try await fileReaders.runIfActive({ try storage.unpin(modelID) }) else {
                throw HTTPError(.notFound, message: "\(modelID) is not pinned")
            }
            return JSONResponse.make(state)
        }
        router.post(.init(StorageAPI.usedPath)) { request, context in
            try ProviderRoutes.requireLocal(context, what: "The storage API")
            let modelID = try await Self.modelID(of: request)
            let model = try await fileReaders.runIfActive { () throws -> StorageAPI.Model? in
                guard storage.markUsed(modelID) != nil else { return nil }
                return try storage.status().models.first { $0.modelID == modelID }
            }
            guard let model else { throw HTTPError(.notFound, message: "\(modelID) is not a model this node pulled (see `atmo ls`)") }
            return JSONResponse.make(model)
        }
    }

    static func modelID(of request: Request) async throws -> String {
        let body = try await request.body.collect(upTo: ProviderRoutes.maxControlBodyBytes)
        let decoded: StorageAPI.ModelRequest
        do {
            decoded = try WireCoding.decode(StorageAPI.ModelRequest.self, from: Data(buffer: body))
        } catch {
            throw HTTPError(.badRequest, message: "Expected {\"model_id\": \"...\"}: \(error)")
        }
        return try checked(decoded.modelID)
    }

    static func checked(_ modelID: String?) throws -> String {
        guard let modelID, Validation.isValidModelID(modelID) else {
            throw HTTPError(.badRequest, message: "Invalid model id: use 1-200 of A-Z a-z 0-9 . _ - (no '..')")
        }
        return modelID
    }
}

extension ProviderRoutes {
    static func requireLocal(_ context: ProviderRequestContext, what: String) throws {
        try context.requireControl(what)
    }
}
