import ArgumentParser
import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation

struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List the models on this machine (what `atmo serve` would offer).",
        discussion: "Hashes come from the node's hash cache; files not hashed yet show '(not hashed yet)' unless --hash computes them now.")

    @OptionGroup var store: StoreOptions

    @Option(name: .customLong("folder"), help: "An extra folder of model files (repeatable), as for `atmo serve`.")
    var folders: [String] = []

    @Flag(help: "Hash files that are not in the cache yet (can take a while for large files).")
    var hash = false

    @Flag(help: "Print the models as a JSON array (with their local paths).")
    var json = false

    func run() async throws {
        var configuration = store.nodeConfiguration()
        configuration.scanRoots.extraFolders += folders.map { URL(fileURLWithPath: absolute($0)) }
        let database: StateDatabase
        do { database = try StateDatabase(path: configuration.databasePath) } catch { Failure(error).exit() }
        let files = ModelScanner(roots: configuration.effectiveScanRoots).scan()
        var rows: [ListedModel] = []
        for file in files {
            let stat = FileIO.Stat(
                size: file.sizeBytes, modificationTimeNanos: file.modificationTimeNanos, inode: file.inode, device: file.device)
            var sha256 = (try? database.cachedHash(path: file.path, stat: stat)) ?? file.knownSHA256
            if sha256 == nil && hash {
                sha256 = try? FileHasher.sha256(path: file.path)
                if let sha256 { try? database.rememberHash(path: file.path, stat: stat, sha256: sha256) }
            }
            rows.append(
                ListedModel(
                    modelID: file.modelID, type: file.type, format: file.format, sizeBytes: file.sizeBytes, sha256: sha256,
                    source: file.source, path: file.path, repository: file.hub?.repositoryModelID, isStandalone: file.isStandalone))
        }
        if json {
            printJSON(rows)
            return
        }
        guard !rows.isEmpty else {
            print("no models found (looked in the LlamaFarm and Hugging Face folders, \(configuration.modelsDirectory) and any --folder)")
            return
        }
        printTable(header: ["ID", "TYPE", "FORMAT", "FILES", "SIZE", "SOURCE", "SHA256"], rows: Self.tableRows(rows))
    }
}

struct ListedModel: Encodable {
    var modelID: String
    var type: String
    var format: String
    var sizeBytes: Int64
    var sha256: String?
    var source: String
    var path: String
    /// The repository (model id) of a Hugging Face snapshot's file; nil for other files.
    var repository: String? = nil
    /// Whether the file is a model on its own (listed in the catalog's `models`).
    var isStandalone = true

    enum CodingKeys: String, CodingKey {
        case modelID = "model_id", type, format, sizeBytes = "size_bytes", sha256, source, path, repository
        case isStandalone = "standalone"
    }
}

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Re-hash a pulled model and compare it with the SHA-256 it was installed with.",
        discussion:
            "Exit status 0 when it matches, 5 when it does not (pull it again), 4 when the model is not installed, 6 when it cannot be read."
    )

    @OptionGroup var store: StoreOptions

    @OptionGroup var target: InstalledModelOptions
    var modelID: String { target.modelID }
    var json: Bool { target.json }

    func run() async throws {
        let local = target.store(store)
        guard let model = local.installed(modelID: modelID) else {
            fail("\(modelID) is not installed in \(local.directory) (see `atmo ls`)", code: "not_installed", exitCode: ExitStatus.notFound)
        }
        let path = local.filePath(of: model)
        let actual: String
        do {
            actual = try FileHasher.sha256(path: path)
        } catch {
            let failure = Failure(error, context: "cannot read \(path)")
            fail(failure.message, code: "io_error", exitCode: failure.exitCode)
        }
        let ok = actual == model.sha256
        if json {
            printJSON(VerifyResult(modelID: modelID, path: path, ok: ok, sha256: actual, expectedSHA256: model.sha256))
        }
        guard ok else {
            Failure(
                message: "\(modelID) is corrupt: SHA-256 \(actual), expected \(model.sha256); pull it again",
                exitCode: ExitStatus.verification
            ).exit()
        }
        if !json { print("\(modelID): OK (sha256 \(actual))") }
    }

    func fail(_ message: String, code: String, exitCode: Int32) -> Never {
        Failure(message: message, exitCode: exitCode).exit(json: json, code: code)
    }
}

/// `atmo verify --json`.
struct VerifyResult: Encodable {
    var type = "verify_result"
    var modelID: String
    var path: String
    var ok: Bool
    var sha256: String
    var expectedSHA256: String

    enum CodingKeys: String, CodingKey {
        case type, path, ok, sha256
        case modelID = "model_id", expectedSHA256 = "expected_sha256"
    }
}

struct RemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Delete a pulled model and its metadata.",
        discussion: "Exit status 0 when removed, 4 when the model is not installed, 6 when it cannot be deleted.")

    @OptionGroup var store: StoreOptions

    @OptionGroup var target: InstalledModelOptions
    var modelID: String { target.modelID }
    var json: Bool { target.json }

    func run() async throws {
        let local = target.store(store)
        do {
            try local.removeUnderInstallLock(modelID: modelID)
        } catch {
            let failure = Failure(error)
            failure.exit(json: json, code: error.code == .notFound ? "not_installed" : error.code.description)
        }
        if json {
            printJSON(["type": "remove_result", "model_id": modelID])
        } else {
            print("removed \(modelID)")
        }
    }
}

/// Names one pulled model and the folder it lives in (`verify`, `rm`).
struct InstalledModelOptions: ParsableArguments {
    @Argument(help: "The model id (see `atmo ls`).")
    var modelID: String

    @Option(name: .customLong("in"), help: "The folder the model was pulled into with --to (default: the models folder).")
    var folder: String?

    @Flag(help: "Print the result as JSON.")
    var json = false

    func store(_ options: StoreOptions) -> LocalModelStore {
        LocalModelStore(directory: folder.map(absolute) ?? options.nodeConfiguration().modelsDirectory)
    }
}
