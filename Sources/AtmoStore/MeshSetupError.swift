/// Why creating, joining, leaving a mesh or issuing an invite was refused, with what to do.
/// `code` names the case for scripts (`--json` error lines); `message` is for a person.
public struct MeshSetupError: Error, Sendable, CustomStringConvertible {
    /// The kind of refusal; `description` is its snake_case name.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Wrapped: String, Sendable, Hashable {
            case invalidInput = "invalid_input"
            case alreadyInMesh = "already_in_mesh"
            case founderMembership = "founder_membership"
            case notInMesh = "not_in_mesh"
            case notFounder = "not_founder"
            case keyMissing = "mesh_key_missing"
            case keyMismatch = "mesh_key_mismatch"
            case noRelay = "no_relay"
            case inviteForAnotherNode = "invite_for_another_node"
            case inviteExpired = "invite_expired"
            case inviteInvalid = "invite_invalid"
            case storage = "storage_error"
        }
        let wrapped: Wrapped
        /// A name, relay URL, node id or lifetime that cannot be used.
        public static let invalidInput = Code(wrapped: .invalidInput)
        /// This node is already in a mesh (create, or join another mesh, without `force`).
        public static let alreadyInMesh = Code(wrapped: .alreadyInMesh)
        /// The operation would drop this node's founder membership.
        public static let founderMembership = Code(wrapped: .founderMembership)
        /// This node is in no mesh.
        public static let notInMesh = Code(wrapped: .notInMesh)
        /// Only the founder's node (which holds the mesh key) may do this.
        public static let notFounder = Code(wrapped: .notFounder)
        /// The membership says founder, but the mesh key file is missing.
        public static let keyMissing = Code(wrapped: .keyMissing)
        /// The mesh key on disk belongs to another mesh than the membership.
        public static let keyMismatch = Code(wrapped: .keyMismatch)
        /// No relay address is known for the invite or the membership.
        public static let noRelay = Code(wrapped: .noRelay)
        /// The invite's token names another node.
        public static let inviteForAnotherNode = Code(wrapped: .inviteForAnotherNode)
        /// The invite's token has expired.
        public static let inviteExpired = Code(wrapped: .inviteExpired)
        /// The invite's token cannot be valid (issued in the future, impossible lifetime).
        public static let inviteInvalid = Code(wrapped: .inviteInvalid)
        /// Reading or writing the node's state failed (`underlying` is the `StoreError`).
        public static let storage = Code(wrapped: .storage)
        public var description: String { wrapped.rawValue }
    }

    /// The kind of refusal.
    public var code: Code
    /// What happened and what to do, for a person.
    public var message: String
    /// The store failure behind a `storage` error.
    public var underlying: StoreError?

    /// An error of `code` explained by `message`.
    public init(_ code: Code, _ message: String, underlying: StoreError? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    /// A `storage` error around a store failure, keeping its message.
    public init(_ error: StoreError) {
        self.init(.storage, error.message, underlying: error)
    }

    public var description: String { message }
}
