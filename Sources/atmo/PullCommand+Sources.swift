import AtmoNode
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
    /// The sources of an in-process pull: the `--from` URL, or the providers the running
    /// node knows (best first, the version pinned).
    func sourcePlan(stateDirectory: String) async -> SourcePlan {
        if let peer, peer.contains("://") {
            return SourcePlan(sources: [PullSource(baseURL: peer)], sha256: nil, node: nil)
        }
        let node = await LocalNodeClient.require(
            stateDirectory: stateDirectory, json: json, alternative: ", or pull from one peer with --from URL")
        let plan = await meshPlan(node)
        return SourcePlan(sources: plan.sources, sha256: plan.sha256, node: node)
    }

    /// What the mesh offers for the model, as the node sees it; exits when nothing can be
    /// pulled (not offered, several versions and no --sha256, only this node has it).
    func meshPlan(_ node: LocalNodeClient) async -> SourcePlanner.Plan {
        let versions: [MeshAPI.Model]
        do {
            versions = try await node.get(MeshAPI.modelsPath + "/" + modelID, as: MeshAPI.ModelList.self).models
        } catch let error as LocalNodeError where error.status == 404 {
            versions = []
        } catch {
            Failure(message: "the local node did not answer: \(error)", exitCode: 3).exit(json: json, code: "no_node")
        }
        switch SourcePlanner.plan(modelID: modelID, versions: versions, sha256: expectedSHA256, preferredNode: peer) {
        case .pull(let plan):
            return plan
        case .alreadyHere:
            print("\(modelID) is already on this node, and no other node offers it (see `atmo ls`)")
            Foundation.exit(0)
        case .chooseVersion(let message):
            Failure(message: message, exitCode: 64).exit(json: json, code: "ambiguous_version")
        case .refuse(let code, let message):
            Failure(message: message, exitCode: TransferError(code, message).exitCode).exit(json: json, code: code.description)
        }
    }
}
