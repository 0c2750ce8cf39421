import ArgumentParser
import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation

/// `atmo mesh invite`: a signed, expiring invite link, on the founder's node.
struct MeshInviteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invite",
        abstract: "Print an invite link to the mesh (on the founder's node only).",
        discussion: """
            The link carries a token signed with the mesh key (admitting one node, or any node, \
            until it expires) plus the mesh's relays and name: \
            atmosphere://join?invite=TOKEN&relay=URL&name=NAME. Anyone holding the link can join \
            until it expires: send it privately.
            """)

    @OptionGroup var store: StoreOptions

    @Option(name: .customLong("node"), help: "Admit only this node id (shown by `atmo mesh status` on that node; default: any node).")
    var nodeID: String?

    @Option(help: "How long the invite is valid: 30m, 24h, 7d... (at most 7d).")
    var expires = "24h"

    @Option(name: .customLong("relay"), help: "A relay to name in the link instead of the mesh's (repeatable).")
    var relays: [String] = []

    @Flag(help: "Print {invite, token, mesh_id, expires_at, ...} as one JSON object.")
    var json = false

    func run() async throws {
        let lifetime: Int64
        do {
            lifetime = try MeshInvite.parseLifetime(expires)
        } catch {
            MeshCLI.usage("--expires: \(error.message)", json: json, code: "invalid_duration")
        }
        for relay in relays {
            if let problem = MeshInvite.relayProblem(relay) { MeshCLI.usage("--relay: \(problem)", json: json) }
        }
        let state = store.nodeConfiguration().stateDirectory
        let issuer = MeshCLI.nodeID(stateDirectory: state, json: json)
        let now = MeshCLI.now()
        let invite: MeshInvite
        let link: String
        let token: String
        do {
            invite = try MeshMembership.issueInvite(
                stateDirectory: state, nodeID: nodeID, issuerID: issuer, lifetime: lifetime, relays: relays, now: now)
            link = try invite.link()
            token = try invite.token.transportString()
        } catch let error as MeshSetupError {
            MeshCLI.fail(error, json: json)
        } catch {
            Failure(error, context: "cannot write the invite").exit(json: json)
        }
        if json {
            printJSON(
                InviteOutput(
                    invite: link, token: token, meshID: invite.token.meshID, name: invite.meshName,
                    nodeID: invite.token.nodeID, relays: invite.relays, issuedAt: invite.token.issuedAt,
                    expiresAt: invite.token.expiresAt))
            return
        }
        let target = nodeID.map { "node \($0)" } ?? "any node"
        print(
            "Invite to mesh '\(invite.meshName ?? invite.token.meshID)' (\(invite.token.meshID)) for \(target), valid for "
                + "\(MeshInvite.formatLifetime(lifetime)) (until \(MeshCLI.date(invite.token.expiresAt))):")
        print("")
        print(link)
        print("")
        print("On the invited node run:")
        print("  atmo mesh join \(MeshCLI.shellQuoted(link))")
        print("Anyone holding this link can join until it expires: send it privately.")
    }
}

/// `atmo mesh invite --json`.
struct InviteOutput: Encodable {
    var type = "mesh_invite"
    var invite: String
    var token: String
    var meshID: String
    var name: String?
    var nodeID: String?
    var relays: [String]
    var issuedAt: Int64
    var expiresAt: Int64

    enum CodingKeys: String, CodingKey {
        case type, invite, token, meshID = "mesh_id", name, nodeID = "node_id", relays, issuedAt = "issued_at"
        case expiresAt = "expires_at"
    }

    /// `node_id` is written as null for an invite any node may use.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        try container.encode(invite, forKey: .invite)
        try container.encode(token, forKey: .token)
        try container.encode(meshID, forKey: .meshID)
        try container.encodeIfPresent(name, forKey: .name)
        try container.encode(nodeID, forKey: .nodeID)
        try container.encode(relays, forKey: .relays)
        try container.encode(issuedAt, forKey: .issuedAt)
        try container.encode(expiresAt, forKey: .expiresAt)
    }
}
