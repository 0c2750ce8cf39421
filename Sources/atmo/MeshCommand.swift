import ArgumentParser
import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation

/// `atmo mesh`: found a mesh, invite nodes to it, join one, show or leave the membership.
/// The rules (never overwrite a founder's key, never replace a founder membership by a join)
/// live in `AtmoStore` (`MeshMembership.create`, `issueInvite`, `join`, `leave`); these
/// commands parse, call and print.
struct MeshCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mesh",
        abstract: "Create, invite to and join a mesh.",
        discussion: """
            A mesh is a group of nodes that meet on a relay (see `atmo relay`). Its founder \
            holds the mesh key (<state-dir>/mesh.key) and invites nodes with signed, expiring \
            links; a node joins with the link. The membership is kept in <state-dir>/mesh.json, \
            which `atmo serve` reads to connect through the relay.

            Exit codes: 0 success; 6 the node's state cannot be read or written; 64 refused \
            (bad input, already in a mesh, not the founder, expired invite...).
            """,
        subcommands: [
            MeshStatusCommand.self, MeshCreateCommand.self, MeshInviteCommand.self, MeshJoinCommand.self,
            MeshLeaveCommand.self,
        ],
        defaultSubcommand: MeshStatusCommand.self)
}

/// Helpers shared by the `atmo mesh` subcommands.
enum MeshCLI {
    /// The current time in Unix epoch seconds.
    static func now() -> Int64 { Int64(Date().timeIntervalSince1970) }

    /// Ends the process for a refusal: exit 6 for state that cannot be read or written, 64
    /// for everything else (`ErrorMapping`); with `json`, an error line with the error's code first.
    static func fail(_ error: MeshSetupError, json: Bool = false) -> Never {
        Failure(error).exit(json: json, code: "\(error.code)")
    }

    /// Ends the process for bad input (exit 64).
    static func usage(_ message: String, json: Bool = false, code: String = "invalid_input") -> Never {
        Failure(message: message, exitCode: ExitStatus.usage).exit(json: json, code: code)
    }

    /// This node's id, creating its key on first use (as `atmo serve` would).
    static func nodeID(stateDirectory: String, json: Bool = false) -> String {
        do {
            return try NodeIdentity.loadOrCreate(directory: stateDirectory).nodeID
        } catch {
            Failure(error).exit(json: json, code: "storage_error")
        }
    }

    /// This node's id if its key exists; nil without creating one.
    static func existingNodeID(stateDirectory: String) -> String? {
        guard FileManager.default.fileExists(atPath: stateDirectory + "/node.key") else { return nil }
        return try? NodeIdentity.loadOrCreate(directory: stateDirectory).nodeID
    }

    /// `2026-01-01T12:00:00Z`.
    static func date(_ epochSeconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(epochSeconds)))
    }

    /// `in 23h59m` / `5m ago`, rounded to the minute past one hour.
    static func relative(_ epochSeconds: Int64, now: Int64) -> String {
        let delta = epochSeconds - now
        var magnitude = abs(delta)
        if magnitude >= 3600 { magnitude -= magnitude % 60 }
        let text = MeshInvite.formatLifetime(magnitude)
        return delta >= 0 ? "in \(text)" : "\(text) ago"
    }

    /// Quotes `text` for a POSIX shell when it holds anything but safe characters.
    static func shellQuoted(_ text: String) -> String {
        let safe = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@=,")
        if text.unicodeScalars.allSatisfy({ safe.contains($0) }) { return text }
        return "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
