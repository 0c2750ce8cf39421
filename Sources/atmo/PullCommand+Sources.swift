import AtmoProtocol
import AtmoTransfer
import Foundation
import Synchronization

/// Where a pull fetches from: one URL, or the providers the running node knows for the
/// model, best first, with the version pinned.
struct SourcePlan: Sendable {
    var sources: [PullSource]
    /// The version chosen in the mesh (nil for a pull from one URL: the peer decides).
    var sha256: String?
    /// The running node, told how each provider did (it keeps their reliability).
    var node: LocalNodeClient?
    let outcomes = OutcomeLog()

    func reportOutcomes() async {
        guard let node else { return }
        for (nodeID, success) in outcomes.entries {
            await node.reportOutcome(nodeID: nodeID, success: success)
        }
    }
}

/// How each source of a pull did, collected while it runs.
final class OutcomeLog: Sendable {
    private let log = Mutex<[(String, Bool)]>([])

    func record(_ source: PullSource, _ outcome: SourceOutcome) {
        guard let nodeID = source.nodeID else { return }
        let success: Bool
        switch outcome {
        case .success: success = true
        case .failure: success = false
        }
        log.withLock { $0.append((nodeID, success)) }
    }

    var entries: [(String, Bool)] { log.withLock { $0 } }
}

extension PullCommand {
    func sourcePlan(stateDirectory: String) async -> SourcePlan {
        if let peer, peer.contains("://") {
            return SourcePlan(sources: [PullSource(baseURL: peer)], sha256: nil, node: nil)
        }
        let node = await LocalNodeClient.require(
            stateDirectory: stateDirectory, json: json, alternative: ", or pull from one peer with --from URL")
        let versions: [MeshAPI.Model]
        do {
            versions = try await node.get(MeshAPI.modelsPath + "/" + modelID, as: MeshAPI.ModelList.self).models
        } catch let error as LocalNodeError where error.status == 404 {
            fail("no node of the mesh offers \(modelID) (see `atmo models`)", code: .notOffered)
        } catch {
            Failure(message: "the local node did not answer: \(error)", exitCode: 3).exit(json: json, code: "no_node")
        }
        var candidates = versions
        if let expected = expectedSHA256?.lowercased() {
            candidates = candidates.filter { $0.entry.sha256 == expected }
            if candidates.isEmpty { fail("no node of the mesh offers \(modelID) with SHA-256 \(expected)", code: .notOffered) }
        }
        guard let model = candidates.first else { fail("no node of the mesh offers \(modelID)", code: .notOffered) }
        if candidates.count > 1 {
            let list = candidates.map { "\($0.entry.sha256) (\($0.entry.version), \($0.providers.count) peers)" }
            Failure(
                message: "the mesh offers \(candidates.count) versions of \(modelID); choose one with --sha256: "
                    + list.joined(separator: ", "), exitCode: 64
            ).exit(json: json, code: "ambiguous_version")
        }
        var providers = model.providers.filter { $0.http != nil }
        if let peer {
            providers = providers.filter { $0.nodeID == peer || $0.nodeName == peer }
            if providers.isEmpty { fail("node \(peer) does not offer \(modelID) over HTTP (see `atmo peers`)", code: .notOffered) }
        }
        if providers.isEmpty, model.installed, peer == nil {
            print("\(modelID) is already on this node, and no other node offers it (see `atmo ls`)")
            Foundation.exit(0)
        }
        guard !providers.isEmpty else {
            fail("\(modelID) is offered only by nodes without a direct HTTP endpoint", code: .notOffered)
        }
        return SourcePlan(
            sources: providers.compactMap { provider in provider.http.map { PullSource(baseURL: $0, nodeID: provider.nodeID) } },
            sha256: model.entry.sha256, node: node)
    }

    private func fail(_ message: String, code: TransferError.Code) -> Never {
        let error = TransferError(code, message)
        Failure(message: message, exitCode: error.exitCode).exit(json: json, code: error.code.description)
    }
}
