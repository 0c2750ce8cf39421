import ArgumentParser
import AtmoNode
import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation
import Logging

/// `--max-storage` and `--evict-last-copies`, for `atmo serve` and `atmo pull`.
struct StorageLimitOptions: ParsableArguments {
    @Option(
        name: .customLong("max-storage"),
        help: "Most storage the pulled models and partial downloads may take, e.g. 50GB or 5GiB (default: config.json's max_storage, else no limit); least recently used pulled models are evicted to make room; a pull through a running node follows the node's limit.")
    var maxStorage: String?

    @Flag(name: .customLong("evict-last-copies"), help: "Evict even a model no other node of the mesh holds (default: never).")
    var evictLastCopies = false

    func validate() throws {
        if let maxStorage, ByteCountText.parse(maxStorage) == nil {
            throw ValidationError("--max-storage takes a size such as 50GB, 5GiB or 500MB")
        }
    }

    /// The flags over `configuration` (after its config file was applied).
    func apply(to configuration: inout StorageConfiguration) {
        if let bytes = maxStorage.flatMap(ByteCountText.parse) { configuration.limitBytes = bytes }
        if evictLastCopies { configuration.evictLastCopies = true }
    }
}

/// `atmo storage`: what the pulled models take under the limit, and what goes first.
struct StorageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage",
        abstract: "Show the storage of pulled models: used, the limit, pins, and what would be evicted next.",
        discussion: """
            Pulled models and partial downloads count against the limit (`atmo serve --max-storage`); \
            models offered from LlamaFarm, the Hugging Face cache or --folder never count and are never \
            deleted. When a pull needs room, the node evicts the least recently used pulled models \
            (used: served to another node, pulled, or marked with `atmo use`), never a pinned one \
            (`atmo pin`) and never one no other node of the mesh holds. Without a running node this \
            reads the state folder, and no model counts as held elsewhere.
            """)

    @OptionGroup var store: StoreOptions
    @OptionGroup var limit: StorageLimitOptions

    @Flag(help: "Print the storage as JSON.")
    var json = false

    func run() async throws {
        let configuration = store.nodeConfiguration()
        let status: StorageAPI.Status
        if let node = await LocalNodeClient.find(stateDirectory: configuration.stateDirectory) {
            status = await node.getOrExit(StorageAPI.path, as: StorageAPI.Status.self, json: json)
        } else {
            var storage = LocalStorage.configuration(stateDirectory: configuration.stateDirectory)
            limit.apply(to: &storage)
            do {
                let database = try StateDatabase(path: configuration.databasePath)
                let admission = StorageAdmission(configuration: storage, database: database, logger: .init(label: "atmo.storage"))
                status = try admission.status(of: LocalModelStore(directory: configuration.modelsDirectory)).status
            } catch {
                Failure(error).exit(json: json)
            }
        }
        if json {
            printJSON(status)
            return
        }
        let limitText = status.limitBytes.map { "of \(formatBytes($0))" } ?? "(no limit)"
        print(
            "pulled models \(formatBytes(status.usedBytes - status.partialBytes)) + partials \(formatBytes(status.partialBytes)) "
                + "= \(formatBytes(status.usedBytes)) \(limitText); \(formatBytes(status.diskFreeBytes)) free on the disk")
        if status.models.isEmpty {
            print("no pulled models")
            return
        }
        let order = Dictionary(status.evictionOrder.enumerated().map { ($1, $0 + 1) }, uniquingKeysWith: { first, _ in first })
        let rows = status.models.map { model in
            [
                model.modelID, formatBytes(model.sizeBytes), Self.when(model.lastUsedAt), model.pinned ? "pinned" : "",
                "\(model.meshCopies)", order[model.modelID].map { "#\($0)" } ?? Self.kept(model, limited: status.limitBytes != nil),
            ]
        }
        printTable(header: ["MODEL", "SIZE", "LAST USED", "PIN", "COPIES", "EVICTED"], rows: rows)
    }

    /// Why a model is not in the eviction order.
    static func kept(_ model: StorageAPI.Model, limited: Bool) -> String {
        if model.pinned { return "never (pinned)" }
        if !limited { return "- (no limit)" }
        return "never (last copy)"
    }

    static func when(_ seconds: Double) -> String {
        guard seconds > 0 else { return "unknown" }
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }
}

/// `atmo pin ID`: the model is never evicted.
struct PinCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pin", abstract: "Protect a pulled model from eviction (`atmo unpin` undoes it).")

    @OptionGroup var store: StoreOptions

    @Argument(help: "The model id (see `atmo storage`); it may be pulled later.")
    var modelID: String

    func validate() throws {
        guard Validation.isValidModelID(modelID) else { throw ValidationError("'\(modelID)' is not a model id") }
    }

    func run() async throws {
        let state = await LocalStorage.change(store: store, modelID: modelID, pin: true)
        print("\(modelID) is pinned" + (state.installed ? "" : " (not pulled yet: the pin waits for it)"))
    }
}

/// `atmo unpin ID`.
struct UnpinCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unpin", abstract: "Let a pinned model be evicted again when a pull needs room.")

    @OptionGroup var store: StoreOptions

    @Argument(help: "The model id.")
    var modelID: String

    func validate() throws {
        guard Validation.isValidModelID(modelID) else { throw ValidationError("'\(modelID)' is not a model id") }
    }

    func run() async throws {
        _ = await LocalStorage.change(store: store, modelID: modelID, pin: false)
        print("\(modelID) is no longer pinned")
    }
}

/// `atmo use ID`: the model counts as used now (it goes to the back of the eviction order).
struct UseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "use", abstract: "Mark a pulled model as used now, so it is evicted last.")

    @OptionGroup var store: StoreOptions

    @Argument(help: "The model id of a pulled model.")
    var modelID: String

    func validate() throws {
        guard Validation.isValidModelID(modelID) else { throw ValidationError("'\(modelID)' is not a model id") }
    }

    func run() async throws {
        let configuration = store.nodeConfiguration()
        if let node = await LocalNodeClient.find(stateDirectory: configuration.stateDirectory) {
            do {
                _ = try await node.post(StorageAPI.usedPath, StorageAPI.ModelRequest(modelID: modelID), as: StorageAPI.Model.self)
            } catch {
                Failure(error).exit()
            }
        } else {
            let store = LocalModelStore(directory: configuration.modelsDirectory)
            guard let installed = store.installed(modelID: modelID) else {
                Failure(message: "\(modelID) is not a pulled model (see `atmo storage`)", exitCode: ExitStatus.notFound).exit()
            }
            do {
                let database = try StateDatabase(path: configuration.databasePath)
                try database.recordUsage([
                    ModelUsage(sha256: installed.sha256, modelID: modelID, lastUsedAt: Date().timeIntervalSince1970, kind: .used)
                ])
            } catch {
                Failure(error).exit()
            }
        }
        print("\(modelID) marked used")
    }
}

/// Storage settings and changes without a running node.
enum LocalStorage {
    /// The storage settings of `{state}/config.json`, if any.
    static func configuration(stateDirectory: String) -> StorageConfiguration {
        var configuration = NodeConfiguration(stateDirectory: stateDirectory, modelsDirectory: "", scanRoots: ScanRoots())
        if let file = try? NodeConfigFile.load(path: NodeConfigFile.defaultPath(stateDirectory: stateDirectory)) {
            file.apply(to: &configuration)
        }
        return configuration.storage
    }

    /// Pins or unpins through the running node, else in the state database.
    static func change(store: StoreOptions, modelID: String, pin: Bool) async -> StorageAPI.PinState {
        let configuration = store.nodeConfiguration()
        if let node = await LocalNodeClient.find(stateDirectory: configuration.stateDirectory) {
            do {
                if pin {
                    return try await node.post(StorageAPI.pinsPath, StorageAPI.ModelRequest(modelID: modelID), as: StorageAPI.PinState.self)
                }
                return try await node.delete(StorageAPI.pinsPath + "/" + modelID, as: StorageAPI.PinState.self)
            } catch {
                Failure(nodeAnswer: error).exit()
            }
        }
        let installed = LocalModelStore(directory: configuration.modelsDirectory).installed(modelID: modelID) != nil
        do {
            let database = try StateDatabase(path: configuration.databasePath)
            if pin {
                try database.pin(modelID: modelID)
            } else if try !database.unpin(modelID: modelID) {
                Failure(message: "\(modelID) is not pinned", exitCode: ExitStatus.notFound, code: "not_found").exit()
            }
        } catch {
            Failure(error).exit()
        }
        return StorageAPI.PinState(modelID: modelID, pinned: pin, installed: installed)
    }
}
