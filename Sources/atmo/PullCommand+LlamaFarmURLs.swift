import AsyncHTTPClient
import AtmoNode
import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation
import Logging

/// `atmo pull ID --into llamafarm --from URL...` for a single-file model: fetched from those
/// URLs only, in this process, as any `--from URL` pull (`pullFromURLs`), verified, then
/// installed into LlamaFarm's folder where the provider's LlamaFarm had it, as the mesh path
/// does (`finishLlamaFarm`).
extension PullCommand {
    /// What the `--from` URLs offer under `modelID`.
    struct URLOffers {
        /// The single-file models of that id (one a URL that offers it).
        var models: [ModelEntry] = []
        /// Whether a URL offers a repository of that id instead.
        var repository = false
        /// Why a URL could not be asked (the first such failure).
        var failure: Failure? = nil
    }

    /// Asks each `--from` URL for the model (`GET /v1/models/{id}`), and, when it has none,
    /// for a repository of that id.
    func urlOffers(logger: Logger) async -> URLOffers {
        let (urls, id, repositoryID) = (peers, modelID, repositoryModelID)
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(3), read: .seconds(15))
        let asked = try? await HTTPClient.withHTTPClient(configuration: configuration) { http in
            var offers = URLOffers()
            for url in urls {
                let peer = PeerClient(baseURL: url, http: http, logger: logger)
                do throws(TransferError) {
                    if let entry = try await peer.entry(modelID: id) {
                        offers.models.append(entry)
                    } else if try await peer.repositories().contains(where: { $0.modelID == repositoryID }) {
                        offers.repository = true
                    }
                } catch {
                    if offers.failure == nil { offers.failure = Failure(error, context: "could not ask \(url) for \(id)") }
                }
            }
            return offers
        }
        return asked
            ?? URLOffers(
                failure: Failure(message: "could not ask \(urls.joined(separator: ", ")) for \(id)", exitCode: ExitStatus.unreachable))
    }

    /// Pulls the single-file model `modelID` from the `--from` URLs into LlamaFarm's folder and
    /// exits; returns only when no URL offers such a model but one offers a repository of that
    /// id (then `pullRepository` installs that into LlamaFarm's folder).
    func pullModelIntoLlamaFarmFromURLs(_ configuration: NodeConfiguration, logger: Logger) async {
        let root = llamaFarmRoot(configuration)
        let offers = await urlOffers(logger: logger)
        let wanted = expectedSHA256?.lowercased()
        let versions = offers.models.filter { wanted == nil || $0.sha256 == wanted }
        let sources = peers.joined(separator: ", ")
        if versions.isEmpty {
            if offers.repository && offers.models.isEmpty { return }
            if let failure = offers.failure { failure.exit(json: json) }
            let message =
                offers.models.isEmpty
                ? "\(sources) does not offer \(modelID) (see `atmo models --from URL`)"
                : "\(sources) offers \(modelID), but not the version with sha256 \(wanted ?? "")"
            Failure(message: message, exitCode: ExitStatus.notFound, code: "not_offered").exit(json: json)
        }
        // In LlamaFarm's folder already (the one version offered, same size and SHA-256): nothing moves.
        if Set(versions.map(\.sha256)).count == 1 { alreadyInLlamaFarm(versions[0], root: root) }
        let store = LocalModelStore(directory: configuration.modelsDirectory)
        let result = await pullFromURLs(into: store, configuration, logger: logger)
        // A copy the store held before stays there; one fetched for LlamaFarm leaves it.
        finishLlamaFarm(
            result.entry, from: result.path, root: root, store: result.alreadyInstalled ? nil : store,
            downloadedFrom: peers.count == 1 ? peers[0] : nil
        )?.exit(json: json)
        Foundation.exit(ExitStatus.success)
    }
}
