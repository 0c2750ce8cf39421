import AtmoNode
import AtmoProtocol
import AtmoTransfer
import Foundation

extension PullCommand {
    /// What the mesh offers for the model, as the node sees it; exits when nothing can be
    /// pulled (not offered, several versions and no --sha256, only this node has it).
    func meshPlan(_ node: LocalNodeClient) async -> SourcePlanner.Plan {
        let versions: [MeshAPI.Model]
        do {
            versions = try await node.get(MeshAPI.modelsPath + "/" + modelID, as: MeshAPI.ModelList.self).models
        } catch let error as LocalNodeError where error.status == 404 {
            versions = []
        } catch {
            Failure(message: "the local node did not answer: \(error)", exitCode: ExitStatus.unreachable).exit(json: json, code: "no_node")
        }
        switch SourcePlanner.plan(modelID: modelID, versions: versions, sha256: expectedSHA256, preferredNode: peer) {
        case .pull(let plan):
            return plan
        case .alreadyHere:
            // Asked for again, the node's copy counts as used (404 for a model it only offers).
            _ = try? await node.post(StorageAPI.usedPath, StorageAPI.ModelRequest(modelID: modelID), as: StorageAPI.Model.self)
            print("\(modelID) is already on this node, and no other node offers it (see `atmo ls`)")
            Foundation.exit(ExitStatus.success)
        case .chooseVersion(let message):
            Failure(message: message, exitCode: ExitStatus.usage).exit(json: json, code: "ambiguous_version")
        case .refuse(let code, let message):
            let wanted = expectedSHA256?.lowercased()
            let offersNone = code == .notOffered && !versions.contains { wanted == nil || $0.entry.sha256 == wanted }
            let hint = offersNone ? await refusalHint(node) : ""
            Failure(message: message + hint, exitCode: ErrorMapping.exitCode(for: code)).exit(json: json, code: code.description)
        }
    }

    /// What the node says of the peer catalogs it refused in the last hour (`refused_catalogs`
    /// of `GET /v1/mesh/peers`), for the message of a pull that finds no provider; "" when
    /// none, or from a node that does not say.
    func refusalHint(_ node: LocalNodeClient) async -> String {
        guard let list = try? await node.get(MeshAPI.peersPath, as: MeshAPI.PeerList.self) else { return "" }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        var httpOf: [String: String] = [:]
        for peer in list.peers where !peer.nodeID.isEmpty { httpOf[peer.nodeID] = peer.http }
        return RefusedCatalogHint.text(RefusedCatalogHint.recent(list.refusedCatalogs ?? [], now: now), modelID: modelID) {
            httpOf[$0]
        } ?? ""
    }
}
