import AtmoProtocol
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Joining and leaving: the member's side of `atmo mesh` (see `MeshMembership+Setup.swift`).
extension MeshMembership {
    /// Joins the mesh of `invite` as the node `nodeID`: checks the token is for this node
    /// (or any node) and valid now, and saves a member membership with the invite's relays
    /// (or `relays`, when not empty). Never replaces a founder membership; replaces a
    /// membership of another mesh only with `force`; renews one of the same mesh.
    /// Returns the saved membership and the one it replaced.
    public static func join(
        _ invite: MeshInvite, nodeID: String, relays: [String] = [], stateDirectory: String, force: Bool, now: Int64
    ) throws(MeshSetupError) -> (membership: MeshMembership, replaced: MeshMembership?) {
        let token = invite.token
        if let target = token.nodeID, target != nodeID {
            throw MeshSetupError(
                .inviteForAnotherNode,
                "this invite is for node \(target), but this node is \(nodeID); ask the founder for an invite for this node "
                    + "(`atmo mesh invite --node \(nodeID)`) or for any node")
        }
        if let rejection = token.timeRejection(now: now) {
            if rejection.reason == .expired {
                throw MeshSetupError(
                    .inviteExpired,
                    "this invite expired \(describeAge(now - token.expiresAt)) ago; ask the founder for a new one "
                        + "(`atmo mesh invite`)")
            }
            throw MeshSetupError(
                .inviteInvalid, "this invite cannot be used: \(rejection.message) (check this machine's clock, or ask for a new one)")
        }
        let chosen = relays.isEmpty ? invite.relays : relays
        guard !chosen.isEmpty else {
            throw MeshSetupError(
                .noRelay, "the invite names no relay; pass the mesh's relay with --relay ws://HOST:PORT (ask the founder)")
        }
        try checkRelays(chosen, meshID: token.meshID)
        let existing: MeshMembership?
        do {
            existing = try load(stateDirectory: stateDirectory)
        } catch  where force && error.code == .corrupt {
            existing = nil
        } catch {
            throw MeshSetupError(error)
        }
        if let existing, existing.isFounder {
            throw MeshSetupError(
                .founderMembership,
                "this node founded mesh '\(existing.name)' (\(existing.meshID)); joining another mesh would drop it. "
                    + "Run `atmo mesh leave --force` first if you mean it (the mesh key stays in "
                    + "\(keyPath(stateDirectory: stateDirectory)))")
        }
        if let existing, existing.meshID != token.meshID, !force {
            throw MeshSetupError(
                .alreadyInMesh,
                "this node is already a member of mesh '\(existing.name)' (\(existing.meshID)); run `atmo mesh leave` "
                    + "first, or join with --force to switch meshes")
        }
        let name = invite.meshName ?? (existing?.meshID == token.meshID ? existing?.name : nil) ?? token.meshID
        let membership = MeshMembership(
            meshID: token.meshID, name: name, relays: chosen, isFounder: false, token: token, joinedAt: now)
        do { try membership.save(stateDirectory: stateDirectory) } catch { throw MeshSetupError(error) }
        return (membership, existing)
    }

    /// Leaves the mesh: removes `{state}/mesh.json` and returns the membership it held (nil
    /// when there was none). A founder's membership is removed only with `force`, and
    /// `{state}/mesh.key` is never deleted. An unreadable `mesh.json` is removed with `force`.
    @discardableResult
    public static func leave(stateDirectory: String, force: Bool) throws(MeshSetupError) -> MeshMembership? {
        let path = path(stateDirectory: stateDirectory)
        let existing: MeshMembership?
        do {
            existing = try load(stateDirectory: stateDirectory)
        } catch  where error.code == .corrupt {
            guard force else {
                throw MeshSetupError(
                    .storage, "\(path) is unreadable; run `atmo mesh leave --force` to remove it", underlying: error)
            }
            existing = nil
        } catch {
            throw MeshSetupError(error)
        }
        if let existing, existing.isFounder, !force {
            throw MeshSetupError(
                .founderMembership,
                "this node founded mesh '\(existing.name)' (\(existing.meshID)); without it no one can invite new nodes. "
                    + "Run `atmo mesh leave --force` if you mean it: the mesh key stays in "
                    + "\(keyPath(stateDirectory: stateDirectory)) (`atmo mesh create NAME --use-key` founds it again)")
        }
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard unlink(path) == 0 || errno == ENOENT else {
            throw MeshSetupError(StoreError.posix(errno, "remove", path: path))
        }
        do { try FileIO.fsyncDirectory(stateDirectory) } catch { throw MeshSetupError(error) }
        return existing
    }
}
