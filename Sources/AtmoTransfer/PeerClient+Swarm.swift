import AtmoProtocol

extension PeerClient {
    /// `GET /v1/pieces/{sha256}/have`: which pieces of the file the peer holds, verified;
    /// nil when it holds none (404).
    public func availability(sha256: String) async throws(TransferError) -> PieceAvailability? {
        let answer: PieceAvailability
        do {
            answer = try await getJSON(HTTPAPI.piecesPrefix + sha256 + "/have", as: PieceAvailability.self)
        } catch where error.code == .notOffered {
            return nil
        }
        guard answer.sha256 == sha256 else {
            throw TransferError(.protocolViolation, "\(baseURL) answered the pieces of \(sha256) with those of \(answer.sha256)")
        }
        return answer
    }
}
