/// Why a mesh token is not accepted. A normal outcome of checking a token, not a thrown error.
public struct MeshTokenRejection: Sendable, Hashable, CustomStringConvertible {
    /// The kind of refusal; `description` is a snake_case name for logs and error bodies.
    public struct Reason: Sendable, Hashable, CustomStringConvertible {
        enum Wrapped: String, Sendable, Hashable {
            case badSignature = "bad_signature"
            case expired
            case notYetValid = "not_yet_valid"
            case wrongMesh = "wrong_mesh"
            case wrongNode = "wrong_node"
            case lifetimeTooLong = "lifetime_too_long"
            case invalidLifetime = "invalid_lifetime"
            case badKey = "bad_key"
        }
        let wrapped: Wrapped
        /// The signature does not verify with the mesh's public key (or a field was altered).
        public static let badSignature = Reason(wrapped: .badSignature)
        /// `now` is at or after `expires_at`.
        public static let expired = Reason(wrapped: .expired)
        /// `issued_at` lies further in the future than the tolerated clock skew.
        public static let notYetValid = Reason(wrapped: .notYetValid)
        /// The token's `mesh_id` is not the mesh being joined.
        public static let wrongMesh = Reason(wrapped: .wrongMesh)
        /// The token names another `node_id`.
        public static let wrongNode = Reason(wrapped: .wrongNode)
        /// `expires_at - issued_at` exceeds the maximum (7 days).
        public static let lifetimeTooLong = Reason(wrapped: .lifetimeTooLong)
        /// `expires_at` is not after `issued_at`.
        public static let invalidLifetime = Reason(wrapped: .invalidLifetime)
        /// The mesh public key is not a valid raw Ed25519 key.
        public static let badKey = Reason(wrapped: .badKey)
        public var description: String { wrapped.rawValue }
    }

    /// The kind of refusal.
    public var reason: Reason
    /// What was wrong, for a person.
    public var message: String

    /// A rejection for `reason`, explained by `message`.
    public init(_ reason: Reason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    public var description: String { "\(reason): \(message)" }
}

extension MeshToken {
    /// `expires_at - issued_at`, in seconds.
    public var lifetime: Int64 { expiresAt &- issuedAt }

    /// The pure time checks at `now` (epoch seconds): a positive lifetime of at most
    /// `maxLifetime`, issued no later than `now + clockSkew`, and `now` before `expires_at`.
    /// Nil when the token is valid in time.
    public func timeRejection(
        now: Int64, maxLifetime: Int64 = RelayLimits.maxTokenLifetime, clockSkew: Int64 = RelayLimits.tokenClockSkew
    ) -> MeshTokenRejection? {
        guard expiresAt > issuedAt else {
            return MeshTokenRejection(.invalidLifetime, "expires_at \(expiresAt) is not after issued_at \(issuedAt)")
        }
        guard lifetime <= maxLifetime else {
            return MeshTokenRejection(.lifetimeTooLong, "lifetime of \(lifetime) s exceeds the maximum of \(maxLifetime) s")
        }
        guard issuedAt <= now &+ clockSkew else {
            return MeshTokenRejection(.notYetValid, "issued_at \(issuedAt) is in the future (now \(now))")
        }
        guard now < expiresAt else {
            return MeshTokenRejection(.expired, "expired at \(expiresAt) (now \(now))")
        }
        return nil
    }

    /// Every check that needs no key: the time checks, then that the token is for `meshID`
    /// (the relay URL's mesh) and, when it names a node, for `nodeID`. Nil when all pass.
    public func claimsRejection(
        meshID expectedMesh: String, nodeID joiningNode: String?, now: Int64,
        maxLifetime: Int64 = RelayLimits.maxTokenLifetime, clockSkew: Int64 = RelayLimits.tokenClockSkew
    ) -> MeshTokenRejection? {
        guard meshID == expectedMesh else {
            return MeshTokenRejection(.wrongMesh, "token is for mesh \(meshID), not \(expectedMesh)")
        }
        if let nodeID, let joiningNode, nodeID != joiningNode {
            return MeshTokenRejection(.wrongNode, "token is for node \(nodeID), not \(joiningNode)")
        }
        return timeRejection(now: now, maxLifetime: maxLifetime, clockSkew: clockSkew)
    }
}
