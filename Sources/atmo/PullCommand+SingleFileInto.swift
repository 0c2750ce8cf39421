import AsyncHTTPClient
import AtmoNode
import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation
import Logging
import ServiceLifecycle

/// `atmo pull ID --into atmo|hf` where ID is a single-file model, not a repository:
/// `--into atmo` is the plain pull into the node's store (a single file's default place);
/// `--into hf` pulls that one file of the repository the mesh offers it in into the Hugging
/// Face cache (as `atmo pull org/name PATH` does), and is refused (usage) for a model no
/// offered repository holds: the cache is for Hugging Face repositories.
extension PullCommand {
    /// `--into atmo|hf` with a plain id and no repository option: maybe a single-file model.
    var isSingleFileIntoPull: Bool {
        (into == .atmo || into == .hf) && !modelID.contains("/") && include.isEmpty && exclude.isEmpty
            && repositoryFile == nil && filePath == nil && repositoryModelID == modelID
    }

    /// What the mesh says of `modelID`: a single-file model is offered, and the repository
    /// holding it (its model id and the file's path), if one is offered.
    struct SingleFileOffer {
        var isModel = false
        var repository: (modelID: String, path: String)? = nil
    }

    /// Pulls a single-file model as `--into` says and exits; returns when ID is not offered
    /// as a single-file model (then it is a repository's id: `pullRepository`).
    func pullSingleFileInto(_ configuration: NodeConfiguration, logger: Logger) async throws {
        guard let offer = await singleFileOffer(configuration, logger: logger), offer.isModel else { return }
        var plain = self
        if into == .atmo {
            plain.into = nil
        } else if let repository = offer.repository {
            plain.modelID = repository.modelID
            plain.repositoryFile = repository.path
        } else {
            Failure(
                message: "\(modelID) is a single-file model, not a file of a Hugging Face repository: --into hf is for repositories; "
                    + "pull it without --into (into the node's store) or with --into llamafarm", exitCode: ExitStatus.usage
            ).exit(json: json, code: "usage")
        }
        try await plain.pull(configuration, logger: logger)
        Foundation.exit(ExitStatus.success)
    }

    /// Asks the `--from` URLs, else the running node, else a node in this process; nil when
    /// none could be asked (the repository pull then reports it).
    func singleFileOffer(_ configuration: NodeConfiguration, logger: Logger) async -> SingleFileOffer? {
        let id = modelID
        let holding: @Sendable ([RepositoryEntry]) -> (String, String)? = { repositories in
            for entry in repositories {
                if let file = entry.files.first(where: { $0.modelID == id }) { return (entry.modelID, file.path) }
            }
            return nil
        }
        if peers.contains(where: { $0.contains("://") }) {
            let offers = await urlOffers(logger: logger)
            guard !offers.models.isEmpty else { return SingleFileOffer() }
            if into == .atmo { return SingleFileOffer(isModel: true) }
            return SingleFileOffer(isModel: true, repository: await urlRepositoryHolding(logger: logger, holding))
        }
        if let node = await LocalNodeClient.find(stateDirectory: configuration.stateDirectory) {
            let versions = (try? await node.get(MeshAPI.modelsPath + "/" + id, as: MeshAPI.ModelList.self).models) ?? []
            guard !versions.isEmpty else { return SingleFileOffer() }
            if into == .atmo { return SingleFileOffer(isModel: true) }
            let listed = try? await node.get(MeshAPI.repositoriesPath, as: MeshAPI.RepositoryList.self)
            return SingleFileOffer(isModel: true, repository: listed.flatMap { holding($0.repositories.map(\.repository)) })
        }
        return await inProcessSingleFileOffer(configuration, logger: logger, holding)
    }

    /// The repository one of the `--from` URLs offers holding the file.
    func urlRepositoryHolding(
        logger: Logger, _ holding: @escaping @Sendable ([RepositoryEntry]) -> (String, String)?
    ) async -> (modelID: String, path: String)? {
        let urls = peers
        return try? await HTTPClient.withHTTPClient { http in
            for url in urls {
                let peer = PeerClient(baseURL: url, http: http, logger: logger)
                if let found = holding((try? await peer.repositories()) ?? []) { return found }
            }
            return nil
        }
    }

    /// No node runs here: one in this process looks (as `pullInProcess` does) for the model
    /// and for a repository of that id, and stops.
    func inProcessSingleFileOffer(
        _ base: NodeConfiguration, logger: Logger, _ holding: @escaping @Sendable ([RepositoryEntry]) -> (String, String)?
    ) async -> SingleFileOffer? {
        let node = transientNode(base, logger: logger)
        let group = ServiceGroup(services: [node], gracefulShutdownSignals: [], logger: logger)
        let (id, wantsRepository) = (modelID, into == .hf)
        return await withTaskGroup(of: SingleFileOffer??.self) { tasks in
            tasks.addTask {
                try? await group.run()
                return nil
            }
            tasks.addTask {
                let deadline = ContinuousClock.now + .seconds(Self.inProcessDiscoverySeconds)
                var isModel = false
                while ContinuousClock.now < deadline {
                    isModel = node.models(id: id).contains { !$0.providers.isEmpty }
                    if isModel || !node.repositories(id: id).isEmpty { break }
                    try? await Task.sleep(for: .milliseconds(200))
                }
                guard isModel else { return .some(SingleFileOffer()) }
                let repository = wantsRepository ? holding(node.repositories().map(\.repository)) : nil
                return .some(SingleFileOffer(isModel: true, repository: repository))
            }
            let first = await tasks.next() ?? nil
            await group.triggerGracefulShutdown()
            await tasks.waitForAll()
            return first ?? nil
        }
    }
}
