import ArgumentParser
import AtmoMesh
import AtmoNode
import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation

/// `atmo follow ID [--mode auto|prompt]`: keep a model current.
struct FollowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "follow",
        abstract: "Follow a model: pull its newer versions by themselves (auto) or show them (prompt).",
        discussion: """
            When a node of the mesh announces a newer version of a followed model (another SHA-256 \
            whose version orders after the installed one, or that this node first saw after it \
            installed its own), the node pulls it at normal priority (--mode auto, the default) or \
            shows it in `atmo models`, `atmo follows` and GET /v1/updates until `atmo update ID` \
            (--mode prompt). The replaced version is kept for `atmo rollback ID` until storage needs \
            the space. Follows can also be listed in config.json: "follow": [{"model_id": "ID", \
            "mode": "prompt"}]. Following a model not pulled yet pulls it (auto) or shows it (prompt).
            """)

    @OptionGroup var store: StoreOptions

    @Argument(help: "The model id.")
    var modelID: String

    @Option(help: "auto (pull newer versions by themselves) or prompt (show them until `atmo update`).")
    var mode: String = "auto"

    @Flag(help: "Print the follow as JSON.")
    var json = false

    func validate() throws {
        guard Validation.isValidModelID(modelID) else { throw ValidationError("'\(modelID)' is not a model id") }
        guard UpdatePlanner.Mode(name: mode) != nil else { throw ValidationError("--mode takes auto or prompt") }
    }

    func run() async throws {
        let request = UpdatesAPI.FollowRequest(modelID: modelID, mode: UpdatePlanner.Mode(name: mode)?.rawValue)
        let configuration = store.nodeConfiguration()
        var follow: UpdatesAPI.Follow
        if let node = await LocalNodeClient.find(stateDirectory: configuration.stateDirectory) {
            do {
                follow = try await node.post(UpdatesAPI.followsPath, request, as: UpdatesAPI.Follow.self)
            } catch {
                Failure(error).exit(json: json)
            }
        } else {
            do {
                let database = try StateDatabase(path: configuration.databasePath)
                try database.follow(modelID: modelID, mode: request.mode ?? "auto")
            } catch {
                Failure(error).exit(json: json)
            }
            follow = UpdatesAPI.Follow(modelID: modelID, mode: request.mode ?? "auto", state: "not_running")
        }
        if json {
            printJSON(follow)
            return
        }
        let what =
            follow.mode == "prompt" ? "newer versions are shown until `atmo update \(modelID)`" : "newer versions are pulled by themselves"
        print("following \(modelID) (\(follow.mode)): \(what)")
    }
}

/// `atmo unfollow ID`.
struct UnfollowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unfollow", abstract: "Stop following a model (its installed and previous versions stay).")

    @OptionGroup var store: StoreOptions

    @Argument(help: "The model id.")
    var modelID: String

    func validate() throws {
        guard Validation.isValidModelID(modelID) else { throw ValidationError("'\(modelID)' is not a model id") }
    }

    func run() async throws {
        let configuration = store.nodeConfiguration()
        if let node = await LocalNodeClient.find(stateDirectory: configuration.stateDirectory) {
            do {
                _ = try await node.delete(UpdatesAPI.followPath(modelID), as: UpdatesAPI.FollowRequest.self)
            } catch {
                Failure(nodeAnswer: error).exit()
            }
        } else {
            do {
                let database = try StateDatabase(path: configuration.databasePath)
                guard try database.unfollow(modelID: modelID) else {
                    Failure(message: "\(modelID) is not followed", exitCode: ExitStatus.notFound, code: "not_found").exit()
                }
            } catch {
                Failure(error).exit()
            }
        }
        print("no longer following \(modelID)")
    }
}

/// `atmo follows`: the followed models, their versions and waiting updates.
struct FollowsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "follows", abstract: "List the followed models: installed and previous versions, and updates.")

    @OptionGroup var store: StoreOptions

    @Flag(help: "Print the follows as JSON.")
    var json = false

    func run() async throws {
        let configuration = store.nodeConfiguration()
        let follows: [UpdatesAPI.Follow]
        if let node = await LocalNodeClient.find(stateDirectory: configuration.stateDirectory) {
            follows = await node.getOrExit(UpdatesAPI.followsPath, as: UpdatesAPI.FollowList.self, json: json).follows
        } else {
            do {
                let database = try StateDatabase(path: configuration.databasePath)
                let models = LocalModelStore(directory: configuration.modelsDirectory)
                follows = try database.follows().map { record in
                    let installed = models.installed(modelID: record.modelID)
                    let previous = models.previousVersion(of: record.modelID)
                    return UpdatesAPI.Follow(
                        modelID: record.modelID, mode: record.mode, installedSHA256: installed?.sha256,
                        installedVersion: installed?.version,
                        previousSHA256: previous?.sha256, previousVersion: previous?.version, declined: record.declined,
                        state: "not_running")
                }
            } catch {
                Failure(error).exit(json: json)
            }
        }
        if json {
            printJSON(UpdatesAPI.FollowList(follows: follows))
            return
        }
        guard !follows.isEmpty else {
            print("no followed models (see `atmo follow ID`)")
            return
        }
        let rows = follows.map { follow in
            [
                follow.modelID, follow.mode, Self.version(follow.installedVersion, follow.installedSHA256),
                Self.version(follow.previousVersion, follow.previousSHA256),
                follow.update.map { "\($0.version) (\($0.sha256.prefix(12)))" } ?? "", follow.state,
            ]
        }
        printTable(header: ["MODEL", "MODE", "INSTALLED", "PREVIOUS (ROLLBACK)", "UPDATE", "STATE"], rows: rows)
    }

    static func version(_ version: String?, _ sha256: String?) -> String {
        guard let sha256 else { return "-" }
        return "\(version ?? "?") (\(sha256.prefix(12)))"
    }
}

/// `atmo update ID`: accept the update shown for a prompt-mode follow.
struct UpdateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update", abstract: "Pull the newer version waiting for a followed model (mode prompt).")

    @OptionGroup var store: StoreOptions

    @Argument(help: "The model id (see `atmo follows`).")
    var modelID: String

    @Flag(help: "Print the answer as JSON.")
    var json = false

    func validate() throws {
        guard Validation.isValidModelID(modelID) else { throw ValidationError("'\(modelID)' is not a model id") }
    }

    func run() async throws {
        let configuration = store.nodeConfiguration()
        let node = await LocalNodeClient.require(stateDirectory: configuration.stateDirectory, json: json, alternative: "")
        let accepted: UpdatesAPI.Accepted
        do {
            accepted = try await node.post(
                UpdatesAPI.updatePath(modelID), UpdatesAPI.FollowRequest(modelID: modelID), as: UpdatesAPI.Accepted.self)
        } catch {
            Failure(nodeAnswer: error).exit(json: json)
        }
        if json {
            printJSON(accepted)
            return
        }
        print("pulling \(modelID) \(accepted.sha256.prefix(12)) (download \(accepted.requestID); see `atmo downloads`)")
    }
}

/// `atmo rollback ID`: put back the version an update replaced.
struct RollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Put back the previous version of a model (kept since an update replaced it).",
        discussion: """
            The version rolled back from becomes the previous one (a second rollback returns to it), \
            and a followed model does not pull it again by itself; a later version is pulled as usual.
            """)

    @OptionGroup var store: StoreOptions

    @Argument(help: "The model id.")
    var modelID: String

    @Flag(help: "Print the answer as JSON.")
    var json = false

    func validate() throws {
        guard Validation.isValidModelID(modelID) else { throw ValidationError("'\(modelID)' is not a model id") }
    }

    func run() async throws {
        let configuration = store.nodeConfiguration()
        let result: UpdatesAPI.RolledBack
        if let node = await LocalNodeClient.find(stateDirectory: configuration.stateDirectory) {
            do {
                result = try await node.post(
                    UpdatesAPI.rollbackPath, StorageAPI.ModelRequest(modelID: modelID), as: UpdatesAPI.RolledBack.self)
            } catch {
                Failure(nodeAnswer: error).exit(json: json)
            }
        } else {
            do {
                let models = LocalModelStore(directory: configuration.modelsDirectory).keepingPreviousVersions()
                let (restored, replaced) = try models.rollBack(modelID: modelID)
                let database = try StateDatabase(path: configuration.databasePath)
                if let replaced { try database.setDeclined(modelID: modelID, sha256: replaced.sha256, true) }
                result = UpdatesAPI.RolledBack(
                    modelID: modelID, sha256: restored.sha256, version: restored.version, previousSHA256: replaced?.sha256)
            } catch let error as StoreError where error.code == .notFound {
                Failure(message: error.message, exitCode: ExitStatus.notFound, code: "not_found").exit(json: json)
            } catch {
                Failure(error).exit(json: json)
            }
        }
        if json {
            printJSON(result)
            return
        }
        print("\(modelID) is back to \(result.version) (\(result.sha256.prefix(12)))")
    }
}

extension UpdateCommand {
    /// The updates waiting for a person (prompt-mode follows), after `atmo models`' table;
    /// nothing from a node without the updates API.
    static func printWaiting(_ node: LocalNodeClient) async {
        guard let list = try? await node.get(UpdatesAPI.updatesPath, as: UpdatesAPI.UpdateList.self), !list.updates.isEmpty else { return }
        print("")
        for update in list.updates {
            let from = update.installedVersion.map { " (installed: \($0))" } ?? ""
            print(
                "update available: \(update.modelID) \(update.version) \(update.sha256.prefix(12))\(from); `atmo update \(update.modelID)` pulls it"
            )
        }
    }
}
