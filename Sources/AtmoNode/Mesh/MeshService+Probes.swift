import AtmoDiscovery
import AtmoMesh
import AtmoProtocol
import Foundation
import NIOCore

/// Probes, and the events of discovery and configuration: each becomes an event of the peer
/// table (`PeerTable`), whose rules decide what it changes (see docs/MESH.md, "The peer table").
extension MeshService {
    /// Times `/health` of every peer with an HTTP endpoint (and of addresses not yet tied to
    /// a node), recording latency and load; a peer that fails the peer table's
    /// `failedProbesBeforeDeparture` (3) probes in a row is treated as gone: its models leave the catalog at once instead of
    /// at the end of their TTL.
    func probePeers() async {
        let targets = mesh.state.withLock { $0.peers.probeTargets }
        // At most `probeConcurrency` requests at a time, however many peers there are.
        var start = 0
        while start < targets.count, !Task.isCancelled {
            let batch = targets[start..<min(targets.count, start + Self.probeConcurrency)]
            await withDiscardingTaskGroup { group in
                for url in batch {
                    group.addTask { await self.probe(url) }
                }
            }
            start += Self.probeConcurrency
        }
    }

    static let probeConcurrency = 16

    /// Probes the addresses the peer table asks for out of the periodic round (a peer met
    /// through a relay whose endpoint is unproven: the answer decides a pull's first route).
    func probeOnRequest() async {
        await withTaskGroup(of: Void.self) { group in
            // At most `probeConcurrency` at a time, like the round (the stream holds the rest).
            var started = 0
            for await url in mesh.probeRequests {
                if Task.isCancelled { break }
                if started >= Self.probeConcurrency {
                    await group.next()
                    started -= 1
                }
                started += 1
                group.addTask { await self.probe(url) }
            }
        }
    }

    /// `GET /health` of `url` within the probe timeout, connect to last body byte (the mesh
    /// client's own timeouts never end it sooner: `MeshClient.httpConfiguration`).
    func probe(_ url: String) async {
        var prober = client
        prober.timeout = TimeAmount(configuration.probeTimeout)
        do {
            let (health, roundTrip) = try await prober.probe(url)
            let latencyMs = Double(roundTrip.components.attoseconds) / 1e15 + Double(roundTrip.components.seconds) * 1000
            let answer = PeerTable.Health(nodeID: health.nodeID, nodeName: health.nodeName, activeTransfers: health.activeTransfers)
            mesh.updatePeers { peers, now in peers.probeSucceeded(url, health: answer, latencyMs: latencyMs, now: now) }
        } catch {
            logger.debug("peer probe failed", metadata: ["peer": "\(url)", "error": "\(error)"])
            let reason: PeerTable.ProbeFailure = (error as? MeshRequestError)?.timedOut == true ? .timeout : .failed
            mesh.updatePeers { peers, now in peers.probeFailed(url, reason: reason, now: now) }
        }
    }

    func addConfiguredPeers() {
        let urls = configuration.peers.map(MeshClient.trimmed)
        mesh.updatePeers { peers, _ in
            urls.flatMap { peers.discovered($0, origin: .configured) }
        }
    }

    func lanEvent(_ event: DiscoveryEvent) {
        switch event {
        case .found(let service):
            guard service.nodeID != identity.nodeID, let url = Self.url(of: service) else { return }
            let nodeID = service.nodeID.flatMap { $0.isEmpty ? nil : $0 }
            let name = service.nodeName.flatMap { $0.isEmpty ? nil : $0 } ?? service.instanceName
            mesh.updatePeers { peers, _ in
                peers.discovered(url, origin: .lan, nodeID: nodeID, nodeName: name, instanceName: service.instanceName)
            }
        case .lost(let instanceName):
            mesh.updatePeers { peers, _ in peers.lanLost(instanceName: instanceName) }
        }
    }
}
