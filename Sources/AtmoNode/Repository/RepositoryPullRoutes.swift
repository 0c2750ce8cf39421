import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `POST /v1/repository-pulls` (`RepositoryPullAPI`): the node pulls a repository of the
/// mesh with its own engine (relays, swarm, its partial offers) while the local client
/// follows the event stream; the client going away cancels the pull (files done and the
/// current file's partial stay).
struct RepositoryPullRoutes: Sendable {
    let node: MeshNode

    /// How long a request waits for the mesh to offer the repository (a node that just
    /// started knows no catalogs yet).
    static let waitForProviders: Duration = .seconds(10)

    func register(on router: Router<ProviderRequestContext>) {
        router.post(.init(RepositoryPullAPI.path)) { request, context in
            try ProviderRoutes.requireLocal(context)
            let body = try await request.body.collect(upTo: 256 * 1024)
            let start: RepositoryPullAPI.Start
            do {
                start = try WireCoding.decode(RepositoryPullAPI.Start.self, from: Data(buffer: body))
            } catch {
                throw HTTPError(.badRequest, message: "not a repository pull request: \(error)")
            }
            guard Validation.isValidModelID(start.modelID) else { throw HTTPError(.badRequest, message: "invalid model_id") }
            let destination = try destination(of: start)
            return events(start, destination: destination)
        }
    }

    /// Where `start` asks the files to go (absolute folders only).
    func destination(of start: RepositoryPullAPI.Start) throws -> RepositoryDestination {
        switch start.into {
        case "hf":
            guard let root = start.hubCache else { return .huggingFace(node.defaultHubCache) }
            guard root.hasPrefix("/") else { throw HTTPError(.badRequest, message: "hub_cache must be an absolute path") }
            return .huggingFace(HubCache(root: root))
        case "atmo":
            return .store
        case "llamafarm":
            let root = start.llamaFarmRoot ?? node.configuration.scanRoots.llamaFarmModels?.path ?? NSHomeDirectory() + "/.llamafarm/models"
            guard root.hasPrefix("/") else { throw HTTPError(.badRequest, message: "llamafarm_root must be an absolute path") }
            return .llamaFarm(root: root)
        default:
            throw HTTPError(.badRequest, message: "into must be hf, atmo or llamafarm")
        }
    }

    /// The event stream: `progress` events while the pull runs, then `result` or `error`.
    func events(_ start: RepositoryPullAPI.Start, destination: RepositoryDestination) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        let node = self.node
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                let (reports, continuation) = AsyncStream.makeStream(of: RepositoryPullProgress.self, bufferingPolicy: .bufferingNewest(1))
                let outcome = Shared<Result<InstalledRepository, TransferError>?>(nil)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        outcome.value = await Self.pull(start, destination: destination, node: node) { continuation.yield($0) }
                        continuation.finish()
                    }
                    for await report in reports {
                        try await writer.write(Self.event("progress", report.message))
                    }
                    try await group.waitForAll()
                }
                switch outcome.value {
                case .success(let done)?: try await writer.write(Self.event("result", done.summary))
                case .failure(let error)?:
                    try await writer.write(
                        Self.event("error", RepositoryPullAPI.Failure(error: error.message, code: error.code.description)))
                case nil: break
                }
                try await writer.finish(nil)
            })
    }

    /// Finds the repository in the mesh (waiting a while) and pulls it.
    static func pull(
        _ start: RepositoryPullAPI.Start, destination: RepositoryDestination, node: MeshNode,
        progress: @escaping @Sendable (RepositoryPullProgress) -> Void
    ) async -> Result<InstalledRepository, TransferError> {
        let deadline = ContinuousClock.now + waitForProviders
        func find() -> RepositoryEntry? {
            node.repositories(id: start.modelID).first { start.revision == nil || $0.entry.revision == start.revision }?.entry
        }
        var entry = find()
        while entry == nil, ContinuousClock.now < deadline, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(200))
            entry = find()
        }
        guard let entry else {
            let revision = start.revision.map { " at revision \($0)" } ?? ""
            return .failure(
                TransferError(
                    .notOffered, "no other node of the mesh offers the repository \(start.modelID)\(revision) (see `atmo models`)"))
        }
        let selection = RepositoryFileSelection(include: start.include, exclude: start.exclude, paths: start.paths)
        do throws(TransferError) {
            return .success(try await node.pullRepository(entry, files: selection, into: destination, progress: progress))
        } catch {
            return .failure(error)
        }
    }

    static func event<T: Encodable>(_ name: String, _ value: T) -> ByteBuffer {
        let json = (try? WireCoding.encode(value)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
        return ByteBuffer(string: "event: \(name)\ndata: \(json)\n\n")
    }
}

extension MeshNode {
    /// The repository pull routes of this node (registered by `run`).
    func repositoryPullRoutes() -> RepositoryPullRoutes { RepositoryPullRoutes(node: self) }
}
