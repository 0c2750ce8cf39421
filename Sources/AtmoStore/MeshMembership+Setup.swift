import AtmoProtocol
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What `MeshMembership.create` did.
public struct MeshFounding: Sendable {
    /// The new membership (founder), saved in `{state}/mesh.json`.
    public var membership: MeshMembership
    /// The new mesh key, saved in `{state}/mesh.key`.
    public var keys: MeshKeys
    /// The membership this one replaced (only with `force`).
    public var replaced: MeshMembership?
    /// Where an earlier mesh key was moved (only with `force`): it is never deleted.
    public var archivedKeyPath: String?
}

/// The rules of the `atmo mesh` commands, on the node's state folder: a founder's key is
/// never overwritten or deleted, a founder membership is never replaced by a join, and a
/// refusal says what to do. Every function blocks on small file I/O.
extension MeshMembership {
    /// Founds a mesh named `name`: a new mesh key in `{state}/mesh.key` (0600) and a founder
    /// membership in `{state}/mesh.json` listing `relays`. Refuses when this node is in a
    /// mesh or holds a mesh key, unless `force`: then the old membership is replaced and an
    /// old key is moved to `mesh.key.{mesh_id}.old` (see `archivedKeyPath`), never deleted.
    ///
    /// With `useExistingKey`, founds the mesh of the key already in `{state}/mesh.key`
    /// instead (a mesh this node left, or a key restored from a backup); no key is written.
    public static func create(
        name: String, relays: [String], stateDirectory: String, force: Bool, useExistingKey: Bool = false, now: Int64
    ) throws(MeshSetupError) -> MeshFounding {
        if let problem = MeshInvite.nameProblem(name) { throw MeshSetupError(.invalidInput, problem) }
        try checkRelays(relays, meshID: nil)
        let existing: MeshMembership?
        do {
            existing = try load(stateDirectory: stateDirectory)
        } catch  where force && error.code == .corrupt {
            existing = nil  // an unreadable membership is replaced
        } catch {
            throw MeshSetupError(error)
        }
        if let existing, !force {
            throw MeshSetupError(
                .alreadyInMesh,
                "this node is already in mesh '\(existing.name)' (\(existing.meshID)) as its \(existing.role); "
                    + (existing.isFounder
                        ? "run `atmo mesh create --force` to found a new mesh anyway (the old mesh key is kept)"
                        : "run `atmo mesh leave` first, or `atmo mesh create --force`"))
        }
        let keyPath = keyPath(stateDirectory: stateDirectory)
        if useExistingKey {
            return try refound(name: name, relays: relays, stateDirectory: stateDirectory, replacing: existing, now: now)
        }
        let hasOldKey = FileManager.default.fileExists(atPath: keyPath)
        let oldMeshID = (hasOldKey ? (try? MeshKeys.load(path: keyPath))?.meshID : nil) ?? "unknown"
        if hasOldKey, !force {
            throw MeshSetupError(
                .alreadyInMesh,
                "this node holds the key of mesh \(oldMeshID) at \(keyPath) (a mesh it founded); run "
                    + "`atmo mesh create NAME --use-key` to found that mesh again, or `atmo mesh create NAME --force` to "
                    + "found a new one (the old key is kept as \(archivePath(keyPath: keyPath, meshID: oldMeshID)))")
        }
        let keys = MeshKeys.generate()
        try checkRelays(relays, meshID: keys.meshID)
        var archived: String?
        if hasOldKey {
            archived = try archiveKey(at: keyPath, meshID: oldMeshID)
        }
        do {
            try keys.save(path: keyPath)
        } catch {
            throw MeshSetupError(error)
        }
        let membership = MeshMembership(
            meshID: keys.meshID, name: name, relays: relays, isFounder: true, token: nil, joinedAt: now)
        do { try membership.save(stateDirectory: stateDirectory) } catch { throw MeshSetupError(error) }
        return MeshFounding(membership: membership, keys: keys, replaced: existing, archivedKeyPath: archived)
    }

    /// `create` with `useExistingKey`: a founder membership for the key on disk.
    static func refound(
        name: String, relays: [String], stateDirectory: String, replacing existing: MeshMembership?, now: Int64
    ) throws(MeshSetupError) -> MeshFounding {
        let keyPath = keyPath(stateDirectory: stateDirectory)
        let keys: MeshKeys
        do {
            keys = try MeshKeys.load(path: keyPath)
        } catch  where error.code == .notFound {
            throw MeshSetupError(
                .keyMissing, "there is no mesh key at \(keyPath) to found a mesh with; copy it there, or omit --use-key")
        } catch {
            throw MeshSetupError(error)
        }
        try checkRelays(relays, meshID: keys.meshID)
        let membership = MeshMembership(
            meshID: keys.meshID, name: name, relays: relays, isFounder: true, token: nil, joinedAt: now)
        do { try membership.save(stateDirectory: stateDirectory) } catch { throw MeshSetupError(error) }
        return MeshFounding(membership: membership, keys: keys, replaced: existing, archivedKeyPath: nil)
    }

    /// Issues an invite on the founder's node: a token admitting `nodeID` (nil: any node)
    /// for `lifetime` seconds, signed with `{state}/mesh.key` and issued by `issuerID` (this
    /// node's id), naming `relays` (nil or empty: the membership's) and the mesh's name.
    public static func issueInvite(
        stateDirectory: String, nodeID: String?, issuerID: String, lifetime: Int64, relays: [String]?, now: Int64
    ) throws(MeshSetupError) -> MeshInvite {
        let membership = try requireMembership(stateDirectory: stateDirectory)
        guard membership.isFounder else {
            let issuer = membership.token.map { " (node \($0.issuerID) issued this node's invite)" } ?? ""
            throw MeshSetupError(
                .notFounder,
                "only the founder's node can invite to mesh '\(membership.name)' (\(membership.meshID)): this node is a "
                    + "member; ask the founder\(issuer) to run `atmo mesh invite`")
        }
        let keyPath = keyPath(stateDirectory: stateDirectory)
        let keys: MeshKeys
        do {
            keys = try MeshKeys.load(path: keyPath)
        } catch  where error.code == .notFound {
            throw MeshSetupError(
                .keyMissing,
                "this node founded mesh \(membership.meshID) but its key \(keyPath) is missing; restore it from a backup, "
                    + "or found a new mesh with `atmo mesh create NAME --force`")
        } catch {
            throw MeshSetupError(error)
        }
        guard keys.meshID == membership.meshID else {
            throw MeshSetupError(
                .keyMismatch,
                "\(keyPath) is the key of mesh \(keys.meshID), but \(path(stateDirectory: stateDirectory)) names mesh "
                    + "\(membership.meshID); restore the right key, or found a new mesh with `atmo mesh create NAME --force`")
        }
        if let nodeID, !Validation.isValidNodeID(nodeID) {
            throw MeshSetupError(.invalidInput, "'\(nodeID)' is not a node id (1-128 printable characters, no spaces)")
        }
        let chosen = (relays?.isEmpty ?? true) ? membership.relays : relays ?? []
        guard !chosen.isEmpty else {
            throw MeshSetupError(
                .noRelay,
                "an invite must name the relay where the mesh meets: pass --relay ws://HOST:PORT (mesh '\(membership.name)' "
                    + "was created without one)")
        }
        try checkRelays(chosen, meshID: membership.meshID)
        let token: MeshToken
        do {
            token = try keys.issueToken(nodeID: nodeID, issuerID: issuerID, lifetime: lifetime, now: now)
        } catch {
            throw MeshSetupError(
                .invalidInput, "a token lifetime must be 1 s to \(MeshInvite.formatLifetime(RelayLimits.maxTokenLifetime))")
        }
        return MeshInvite(token: token, relays: chosen, meshName: membership.name)
    }
}

extension MeshMembership {
    /// `founder` or `member`.
    public var role: String { isFounder ? "founder" : "member" }

    static func requireMembership(stateDirectory: String) throws(MeshSetupError) -> MeshMembership {
        let membership: MeshMembership?
        do { membership = try load(stateDirectory: stateDirectory) } catch { throw MeshSetupError(error) }
        guard let membership else {
            throw MeshSetupError(
                .notInMesh,
                "this node is in no mesh; found one with `atmo mesh create NAME --relay ws://HOST:PORT` "
                    + "or join one with `atmo mesh join INVITE`")
        }
        return membership
    }

    static func checkRelays(_ relays: [String], meshID: String?) throws(MeshSetupError) {
        guard relays.count <= MeshInvite.maxRelays else {
            throw MeshSetupError(.invalidInput, "at most \(MeshInvite.maxRelays) relays, not \(relays.count)")
        }
        for relay in relays {
            if let problem = MeshInvite.relayProblem(relay, meshID: meshID) { throw MeshSetupError(.invalidInput, problem) }
        }
    }

    /// `{keyPath}.{meshID}.old`.
    static func archivePath(keyPath: String, meshID: String) -> String { "\(keyPath).\(meshID).old" }

    /// Moves the key at `keyPath` to its archive name (with `.2`, `.3`... when taken):
    /// copied durably first, the original removed only then. Returns the archive's path.
    static func archiveKey(at keyPath: String, meshID: String) throws(MeshSetupError) -> String {
        guard let data = FileManager.default.contents(atPath: keyPath) else {
            throw MeshSetupError(StoreError(.permissionDenied, "cannot read \(keyPath) to keep it before founding a new mesh"))
        }
        let base = archivePath(keyPath: keyPath, meshID: meshID)
        for attempt in 1...1000 {
            let candidate = attempt == 1 ? base : "\(base).\(attempt)"
            do {
                try FileIO.createNewFile(data, at: candidate, mode: 0o600)
            } catch  where error.code == .conflict {
                continue
            } catch {
                throw MeshSetupError(error)
            }
            guard unlink(keyPath) == 0 || errno == ENOENT else {
                throw MeshSetupError(StoreError.posix(errno, "remove", path: keyPath))
            }
            return candidate
        }
        throw MeshSetupError(StoreError(.conflict, "too many archived mesh keys next to \(keyPath); move some away"))
    }

    /// `42 s`, `5 min`, `3 h`, `2 days`.
    static func describeAge(_ seconds: Int64) -> String {
        switch seconds {
        case ..<120: return "\(max(0, seconds)) s"
        case ..<7200: return "\(seconds / 60) min"
        case ..<172_800: return "\(seconds / 3600) h"
        default: return "\(seconds / 86_400) days"
        }
    }
}
