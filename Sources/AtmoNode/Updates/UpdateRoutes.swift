import AtmoMesh
import AtmoProtocol
import AtmoStore
import Foundation
import Hummingbird
import NIOPosix

/// `UpdatesAPI`: follows, updates shown, acceptance and rollback, for this machine only
/// (like the storage API: other nodes have no business changing what this one installs).
struct UpdateRoutes: Sendable {
    let updates: NodeUpdates
    /// Where the file system and SQLite work of these routes runs.
    let fileReaders: NIOThreadPool

    /// The `code` of the 409 that refuses a follow beyond `StateDatabase.maxFollows`.
    static let tooManyFollowsCode = "too_many_follows"

    func register(on router: Router<ProviderRequestContext>) {
        router.get(.init(UpdatesAPI.followsPath)) { _, context in
            try ProviderRoutes.requireLocal(context, what: "The updates API")
            let follows = try await fileReaders.runIfActive { try updates.follows() }
            return JSONResponse.make(UpdatesAPI.FollowList(follows: follows))
        }
        router.post(.init(UpdatesAPI.followsPath)) { request, context in
            try ProviderRoutes.requireLocal(context, what: "The updates API")
            let body = try await request.body.collect(upTo: ProviderRoutes.maxControlBodyBytes)
            let follow: UpdatesAPI.FollowRequest
            do {
                follow = try WireCoding.decode(UpdatesAPI.FollowRequest.self, from: Data(buffer: body))
            } catch {
                throw HTTPError(
                    .badRequest, message: "Expected {\"model_id\": \"...\", \"mode\"?: \"\(NodeUpdates.modeNames.joined(separator: "|"))\"}: \(error)")
            }
            _ = try StorageRoutes.checked(follow.modelID)
            if let mode = follow.mode, UpdatePlanner.Mode(name: mode) == nil {
                throw HTTPError(.badRequest, message: NodeUpdates.unknownModeMessage(mode))
            }
            do {
                return JSONResponse.make(try await fileReaders.runIfActive { try updates.follow(follow) })
            } catch let error as StoreError where error.code == .conflict {
                // The id and mode were checked above: the conflict left is the bound of
                // follows, and the store's sentence says what to do (the error middleware
                // would put generic advice in its place).
                return JSONResponse.error(.conflict, error.message, code: Self.tooManyFollowsCode)
            }
        }
        router.delete(.init(UpdatesAPI.followsPath + "/:id")) { _, context in
            try ProviderRoutes.requireLocal(context, what: "The updates API")
            let modelID = try StorageRoutes.checked(context.parameters.get("id"))
            guard try await fileReaders.runIfActive({ try updates.unfollow(modelID) }) else {
                throw HTTPError(.notFound, message: "\(modelID) is not followed")
            }
            return JSONResponse.make(UpdatesAPI.FollowRequest(modelID: modelID))
        }
        router.get(.init(UpdatesAPI.updatesPath)) { _, context in
            try ProviderRoutes.requireLocal(context, what: "The updates API")
            return JSONResponse.make(UpdatesAPI.UpdateList(updates: updates.updates()))
        }
        router.post(.init(UpdatesAPI.updatesPath + "/:id")) { _, context in
            try ProviderRoutes.requireLocal(context, what: "The updates API")
            let modelID = try StorageRoutes.checked(context.parameters.get("id"))
            guard let accepted = try await fileReaders.runIfActive({ try updates.accept(modelID) }) else {
                throw HTTPError(.notFound, message: "No update of \(modelID) is waiting (see `atmo follows`)")
            }
            return JSONResponse.make(accepted)
        }
        router.post(.init(UpdatesAPI.rollbackPath)) { request, context in
            try ProviderRoutes.requireLocal(context, what: "The updates API")
            let modelID = try await StorageRoutes.modelID(of: request)
            do {
                return JSONResponse.make(try await fileReaders.runIfActive { try updates.rollBack(modelID) })
            } catch let error as StoreError where error.code == .notFound {
                throw HTTPError(.notFound, message: error.message)
            }
        }
    }
}
