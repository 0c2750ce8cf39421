import ArgumentParser
import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation

/// `atmo mesh status` (and plain `atmo mesh`): the membership of this node.
struct MeshStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the mesh this node belongs to (the default of `atmo mesh`).")

    @OptionGroup var store: StoreOptions

    @Flag(help: "Print the membership as one JSON object.")
    var json = false

    func run() async throws {
        let state = store.nodeConfiguration().stateDirectory
        let membership: MeshMembership?
        do {
            membership = try MeshMembership.load(stateDirectory: state)
        } catch {
            Failure(error).exit(json: json, code: "\(error.code)")
        }
        let now = MeshCLI.now()
        let nodeID = MeshCLI.existingNodeID(stateDirectory: state)
        let keyPath = MeshMembership.keyPath(stateDirectory: state)
        if json {
            printJSON(MeshStatus(membership: membership, nodeID: nodeID, keyPath: keyPath, now: now))
            return
        }
        guard let membership else {
            print("This node is in no mesh.")
            print("  found one:  atmo mesh create NAME --relay ws://HOST:PORT")
            print("  join one:   atmo mesh join 'atmosphere://join?invite=...'   (a link from the mesh's founder)")
            if FileManager.default.fileExists(atPath: keyPath) {
                let id = (try? MeshKeys.load(path: keyPath))?.meshID ?? "unknown"
                print("(\(keyPath) still holds the key of mesh \(id), which this node founded.)")
            }
            return
        }
        print("mesh '\(membership.name)' (\(membership.meshID))")
        if membership.isFounder {
            print("  role:      founder (mesh key: \(keyPath); back it up, it is the only way to invite nodes)")
        } else {
            let issuer = membership.token.map { " (invited by node \($0.issuerID))" } ?? ""
            print("  role:      member\(issuer)")
        }
        print("  relays:    \(membership.relays.isEmpty ? "none (invites need --relay)" : membership.relays.joined(separator: ", "))")
        print("  this node: \(nodeID ?? "(no node key yet: created by `atmo serve` or `atmo mesh join`)")")
        print("  since:     \(MeshCLI.date(membership.joinedAt))")
        if let token = membership.token {
            let target = token.nodeID.map { $0 == nodeID ? "this node" : "node \($0)" } ?? "any node"
            if now < token.expiresAt {
                print(
                    "  invite:    for \(target), valid until \(MeshCLI.date(token.expiresAt)) "
                        + "(\(MeshCLI.relative(token.expiresAt, now: now)))")
            } else {
                print(
                    "  invite:    for \(target), EXPIRED \(MeshCLI.relative(token.expiresAt, now: now)): the relay will not "
                        + "admit this node again; ask the founder for a new invite and run `atmo mesh join` with it")
            }
        }
    }
}

/// `atmo mesh status --json`.
struct MeshStatus: Encodable {
    var type = "mesh_status"
    var inMesh: Bool
    var meshID: String?
    var name: String?
    var founder: Bool?
    var relays: [String]?
    var nodeID: String?
    var joinedAt: Int64?
    var meshKeyPath: String?
    var tokenNodeID: String?
    var tokenExpiresAt: Int64?
    var tokenExpired: Bool?

    enum CodingKeys: String, CodingKey {
        case type, inMesh = "in_mesh", meshID = "mesh_id", name, founder, relays, nodeID = "node_id"
        case joinedAt = "joined_at", meshKeyPath = "mesh_key_path", tokenNodeID = "token_node_id"
        case tokenExpiresAt = "token_expires_at", tokenExpired = "token_expired"
    }

    init(membership: MeshMembership?, nodeID: String?, keyPath: String, now: Int64) {
        inMesh = membership != nil
        self.nodeID = nodeID
        guard let membership else { return }
        meshID = membership.meshID
        name = membership.name
        founder = membership.isFounder
        relays = membership.relays
        joinedAt = membership.joinedAt
        if membership.isFounder { meshKeyPath = keyPath }
        if let token = membership.token {
            tokenNodeID = token.nodeID
            tokenExpiresAt = token.expiresAt
            tokenExpired = now >= token.expiresAt
        }
    }
}
