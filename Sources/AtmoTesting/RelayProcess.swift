import Foundation

/// `atmo relay` running as a child process on 127.0.0.1, on a port the OS chose (or the one
/// passed, to restart a relay where it was).
public struct RelayProcess: Sendable {
    public let process: AtmoProcess
    public let port: Int
    public let stateDirectory: String
    /// The relay's base URL for `--relay` and invites: `ws://127.0.0.1:PORT`.
    public var url: String { "ws://127.0.0.1:\(port)" }
    public var httpURL: String { "http://127.0.0.1:\(port)" }
}

extension AtmoSandbox {
    /// Starts `atmo relay --host 127.0.0.1 --port PORT --port-file F --state-dir D` and waits
    /// until it listens. `port` 0 lets the OS choose; pass a former relay's port to restart it there.
    public func relay(
        stateDirectory: String, port: Int = 0, name: String = "relay", extraArguments: [String] = [], timeout: Double = 60
    ) async throws -> RelayProcess {
        let portFile = path("\(name)-\(UUID().uuidString.prefix(8)).port")
        let arguments = [
            "relay", "--host", "127.0.0.1", "--port", "\(port)", "--port-file", portFile, "--state-dir", stateDirectory,
        ]
        let process = try start(arguments + extraArguments, name: name)
        let bound = try await waitForPortFile(portFile, process: process, timeout: timeout)
        return RelayProcess(process: process, port: bound, stateDirectory: stateDirectory)
    }

    /// `atmo mesh create NAME --relay URL` on `founderState`, then an invite joined on each
    /// of `memberStates`. Throws with the command's output when one fails.
    public func makeMesh(name: String, relay: String, founderState: String, memberStates: [String]) async throws {
        let create = try await run(["mesh", "create", name, "--relay", relay, "--state-dir", founderState], name: "mesh-create")
        guard create.status == 0 else { throw ProcessFailure(message: "atmo mesh create failed: \(create.stderr)") }
        for member in memberStates {
            let invite = try await run(["mesh", "invite", "--state-dir", founderState, "--json"], name: "mesh-invite")
            guard invite.status == 0,
                let object = try JSONSerialization.jsonObject(with: Data(invite.stdout.utf8)) as? [String: Any],
                let link = object["invite"] as? String
            else { throw ProcessFailure(message: "atmo mesh invite failed: \(invite.stdout) \(invite.stderr)") }
            let join = try await run(["mesh", "join", link, "--state-dir", member], name: "mesh-join")
            guard join.status == 0 else { throw ProcessFailure(message: "atmo mesh join failed: \(join.stderr)") }
        }
    }
}
