import AtmoMesh

extension MeshState {
    /// The peer a client connecting from `address` is: the one peer of the peer table whose
    /// HTTP endpoint is on that host (`PeerTable.nodeIDsByUniqueHost`); nil when no peer or
    /// several serve there (nodes sharing a machine), or the address is unknown. An HTTP
    /// range request names no requester; this names it for the metrics' `peer` label.
    /// The index is rebuilt only when the peer table changed since it was last asked.
    func nodeID(ofClientAt address: String?) -> String? {
        guard let address, !address.isEmpty else { return nil }
        let host = PeerTable.normalizedHost(address)
        return state.withLock { state in
            if state.hostIndex?.revision != state.peers.revision {
                state.hostIndex = (state.peers.revision, state.peers.nodeIDsByUniqueHost)
            }
            return state.hostIndex?.nodeIDs[host]
        }
    }
}
