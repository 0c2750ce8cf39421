import AtmoProtocol

extension PeerClient {
    /// `GET /v1/repositories`: the repositories the peer offers (issue 12); empty when the
    /// peer predates them (it answers 404).
    public func repositories() async throws(TransferError) -> [RepositoryEntry] {
        let (status, body) = try await send(.GET, HTTPAPI.repositoriesPath, json: Optional<ModelRequest>.none)
        if status == .notFound { return [] }
        guard status == .ok else { throw Self.statusError(status, body: body, what: HTTPAPI.repositoriesPath) }
        do {
            return try WireCoding.decode(HTTPAPI.RepositoryList.self, from: body).repositories
        } catch {
            throw TransferError(.protocolViolation, "\(baseURL)\(HTTPAPI.repositoriesPath) sent an invalid answer: \(error)")
        }
    }
}
