import ArgumentParser
import AtmoProtocol
import AtmoStore
import Foundation

/// `atmo mesh join INVITE`: become a member of a mesh with an invite from its founder.
struct MeshJoinCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "join",
        abstract: "Join a mesh with an invite link (or a bare token) from its founder.",
        discussion: """
            Checks the invite is for this node (or any node) and not expired, and saves the \
            membership to <state-dir>/mesh.json with the relays the link names (or --relay). The \
            relay checks the token's signature when the node connects (`atmo serve`). Never \
            replaces a founder's membership; switching to another mesh needs --force.
            """)

    @OptionGroup var store: StoreOptions

    @Argument(help: "The invite: atmosphere://join?invite=... (quote it in the shell), or a bare base64url token.")
    var invite: String

    @Option(name: .customLong("relay"), help: "A relay to use instead of the link's, e.g. ws://relay.example:8765 (repeatable).")
    var relays: [String] = []

    @Flag(help: "Leave another mesh this node is a member of (never a mesh it founded).")
    var force = false

    func validate() throws {
        for relay in relays {
            if let problem = MeshInvite.relayProblem(relay) { throw ValidationError(problem) }
        }
    }

    func run() async throws {
        let parsed: MeshInvite
        do {
            parsed = try MeshInvite(parsing: invite)
        } catch {
            MeshCLI.usage(
                "this is not a valid invite (\(error.message)); copy the whole link `atmo mesh invite` printed, in quotes",
                code: "invite_invalid")
        }
        let state = store.nodeConfiguration().stateDirectory
        let nodeID = MeshCLI.nodeID(stateDirectory: state)
        let now = MeshCLI.now()
        let joined: (membership: MeshMembership, replaced: MeshMembership?)
        do {
            joined = try MeshMembership.join(parsed, nodeID: nodeID, relays: relays, stateDirectory: state, force: force, now: now)
        } catch {
            MeshCLI.fail(error)
        }
        let membership = joined.membership
        if let replaced = joined.replaced {
            if replaced.meshID == membership.meshID {
                print("Renewed this node's invite to mesh '\(membership.name)'.")
            } else {
                print("Left mesh '\(replaced.name)' (\(replaced.meshID)).")
            }
        }
        print("Joined mesh '\(membership.name)' (\(membership.meshID)) as node \(nodeID).")
        print("  relays: \(membership.relays.joined(separator: ", "))")
        if let token = membership.token {
            print(
                "  invite: valid until \(MeshCLI.date(token.expiresAt)) (\(MeshCLI.relative(token.expiresAt, now: now))); "
                    + "the relay checks it when this node connects")
        }
        print("Run `atmo serve` to meet the mesh through its relay.")
    }
}
