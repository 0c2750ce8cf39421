import ArgumentParser
import AtmoProtocol
import AtmoStore
import Foundation

/// `atmo mesh create NAME`: found a mesh on this node.
struct MeshCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Found a mesh: a new mesh key on this node, which becomes the mesh's founder.",
        discussion: """
            Writes the mesh key to <state-dir>/mesh.key (owner-only; back it up: it is the only \
            way to invite nodes) and the membership to <state-dir>/mesh.json. Refuses when this \
            node is already in a mesh or holds a mesh key; --force founds a new mesh anyway, \
            keeping an old key as mesh.key.<mesh_id>.old (a mesh key is never overwritten). \
            --use-key founds the mesh of the key already at <state-dir>/mesh.key instead (after \
            `atmo mesh leave --force`, or with a key restored from a backup; with --force it also \
            renames the mesh or changes its relays).
            """)

    @OptionGroup var store: StoreOptions

    @Argument(help: "The mesh's display name (up to 64 characters).")
    var name: String

    @Option(name: .customLong("relay"), help: "A relay the mesh meets at, e.g. ws://relay.example:8765 (repeatable).")
    var relays: [String] = []

    @Flag(help: "Replace this node's membership (an old mesh key is kept, never deleted).")
    var force = false

    @Flag(name: .customLong("use-key"), help: "Found the mesh of the key already at <state-dir>/mesh.key instead of a new one.")
    var useKey = false

    func validate() throws {
        if let problem = MeshInvite.nameProblem(name) { throw ValidationError(problem) }
        for relay in relays {
            if let problem = MeshInvite.relayProblem(relay) { throw ValidationError(problem) }
        }
    }

    func run() async throws {
        let state = store.nodeConfiguration().stateDirectory
        let founding: MeshFounding
        do {
            founding = try MeshMembership.create(
                name: name, relays: relays, stateDirectory: state, force: force, useExistingKey: useKey, now: MeshCLI.now())
        } catch {
            MeshCLI.fail(error)
        }
        let membership = founding.membership
        if let replaced = founding.replaced {
            print("Left mesh '\(replaced.name)' (\(replaced.meshID)), where this node was \(replaced.role).")
        }
        if let archived = founding.archivedKeyPath {
            print("The previous mesh key is kept at \(archived).")
        }
        print("Founded mesh '\(membership.name)'.")
        print("  mesh id:  \(membership.meshID)")
        print("  mesh key: \(MeshMembership.keyPath(stateDirectory: state)) (owner-only; back it up: it is the only way to invite nodes)")
        print("  relays:   \(relays.isEmpty ? "none yet" : relays.joined(separator: ", "))")
        print("Next steps:")
        if relays.isEmpty {
            print("  - run a relay every node can reach (`atmo relay --port 8765`), and name it with --relay when inviting")
        }
        print("  - invite a node:  atmo mesh invite [--node NODE_ID] [--expires 24h]\(relays.isEmpty ? " --relay ws://HOST:PORT" : "")")
        print("  - on that node:   atmo mesh join 'atmosphere://join?invite=...'")
        print("  - run this node:  atmo serve   (it registers the mesh on its relays)")
    }
}

/// `atmo mesh leave`: forget this node's membership.
struct MeshLeaveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "leave",
        abstract: "Leave the mesh: remove <state-dir>/mesh.json.",
        discussion: """
            A founder leaves only with --force, and its mesh key (<state-dir>/mesh.key) is never \
            deleted. A running `atmo serve` leaves the relay when it restarts.
            """)

    @OptionGroup var store: StoreOptions

    @Flag(help: "Leave even as the founder (the mesh key stays on disk), or remove an unreadable mesh.json.")
    var force = false

    func run() async throws {
        let state = store.nodeConfiguration().stateDirectory
        let left: MeshMembership?
        do {
            left = try MeshMembership.leave(stateDirectory: state, force: force)
        } catch {
            MeshCLI.fail(error)
        }
        guard let left else {
            print("This node is in no mesh: nothing to leave.")
            return
        }
        print("Left mesh '\(left.name)' (\(left.meshID)); removed \(MeshMembership.path(stateDirectory: state)).")
        if left.isFounder {
            let keyPath = MeshMembership.keyPath(stateDirectory: state)
            print("The mesh key is still at \(keyPath): `atmo mesh create NAME --use-key` founds this mesh again.")
        }
    }
}
