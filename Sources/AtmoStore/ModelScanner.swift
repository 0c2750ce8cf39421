// The model inventory scanner: walks the model folders of this machine and describes every file
// (id, names, format, type, size, inode, mtime) without hashing contents. Only a 4 KiB header of
// each file is read, to sniff its format.
//
// Versions: Hugging Face files use the first 12 characters of the snapshot commit; LlamaFarm
// files the timestamp of their folder name (`yolov8n_20240208_101500` -> `2024.02.08.101500`);
// pulled models the sidecar's `version`; everything else (and LlamaFarm folders without a
// timestamp) the file's modification time in UTC as `yyyy.MM.dd.HHmmss`.

import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The folders the scanner looks at. Missing folders are fine.
public struct ScanRoots: Sendable, Equatable {
    /// LlamaFarm's models folder, usually `~/.llamafarm/models`.
    public var llamaFarmModels: URL?
    /// The resolved Hugging Face hub cache folder (the one holding `models--*` folders).
    public var huggingFaceHub: URL?
    /// Any other folders holding model files.
    public var extraFolders: [URL]
    /// This node's own store of pulled models: `{id}.{format}` plus a `{id}.json` sidecar.
    public var pulledModels: URL?
    /// Folders never walked into (the node's own state folder, so its database is never
    /// offered; the pulled-models folder, which is scanned by its sidecars only).
    public var excludedFolders: [URL]

    public init(
        llamaFarmModels: URL? = nil,
        huggingFaceHub: URL? = nil,
        extraFolders: [URL] = [],
        pulledModels: URL? = nil,
        excludedFolders: [URL] = []
    ) {
        self.llamaFarmModels = llamaFarmModels
        self.huggingFaceHub = huggingFaceHub
        self.extraFolders = extraFolders
        self.pulledModels = pulledModels
        self.excludedFolders = excludedFolders
    }

    /// Resolves the default roots from an environment dictionary and home directory (pure: pass
    /// ProcessInfo values in). The hub is `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else
    /// `$XDG_CACHE_HOME/huggingface/hub` (as huggingface_hub does), else
    /// `~/.cache/huggingface/hub`; a leading `~` in those values means `home`. LlamaFarm is
    /// `~/.llamafarm/models`. `pulledModels` is left nil (the caller sets it).
    public static func defaults(environment: [String: String], home: URL) -> ScanRoots {
        func folder(_ name: String) -> URL? {
            guard let value = environment[name], !value.isEmpty else { return nil }
            if value == "~" { return home }
            if value.hasPrefix("~/") {
                return home.appendingPathComponent(String(value.dropFirst(2)), isDirectory: true)
            }
            return URL(fileURLWithPath: value, isDirectory: true)
        }
        let hub =
            folder("HF_HUB_CACHE")
            ?? folder("HF_HOME")?.appendingPathComponent("hub", isDirectory: true)
            ?? folder("XDG_CACHE_HOME")?.appendingPathComponent("huggingface/hub", isDirectory: true)
            ?? home.appendingPathComponent(".cache/huggingface/hub", isDirectory: true)
        return ScanRoots(
            llamaFarmModels: home.appendingPathComponent(".llamafarm/models", isDirectory: true),
            huggingFaceHub: hub
        )
    }
}

/// One model file found by the scanner.
package struct ScannedFile: Sendable, Equatable {
    /// Wire id, unique within one scan (see `ModelIdentifier` for the scheme).
    package var modelID: String
    /// Human readable name, e.g. "Qwen3-1.7B-Q4_K_M" or "yolov8n".
    package var name: String
    /// Absolute path of the real bytes (symlinks resolved).
    package var path: String
    package var sizeBytes: Int64
    package var modificationTimeNanos: Int64
    package var inode: UInt64
    package var device: UInt64
    package var format: String
    package var type: String
    /// "huggingface", "llamafarm_training" or "imported".
    package var source: String
    /// HF repo id "org/name", or "local".
    package var sourceRef: String
    /// See the file header for where versions come from.
    package var version: String
    /// The SHA-256 known without hashing: an HF LFS blob's name (64 lowercase hex), else nil.
    package var knownSHA256: String?
    /// Extra facts, e.g. `hf_repo`, `hf_path`, `hf_revision`, `llamafarm_folder`. Never absolute paths.
    package var metadata: [String: String]
    /// For a file of a Hugging Face snapshot: the repository revision it belongs to
    /// (`ModelScanner+HubRepository.swift`); nil for every other file.
    package var hub: HubFileFacts? = nil
    /// Whether the file is a model on its own, listed in the catalog's `models`. A file that
    /// is not (config, tokenizer, a shard) is still served by its id, as a file of its repository.
    package var isStandalone = true
}

/// Walks the ``ScanRoots`` and lists every model file found, sorted by id.
package struct ModelScanner: Sendable {
    package let roots: ScanRoots

    package init(roots: ScanRoots) {
        self.roots = roots
    }

    /// Walks every root recursively; missing roots are fine (skipped). Never follows symlinks
    /// round a loop; skips hidden files, `.incomplete`/`.lock` files, partial downloads
    /// (`*.partial`, `*.atmo-partial`), zero-byte files and the pulled-models sidecar json files
    /// themselves. Returns files sorted by modelID; when two files produce the same id the one
    /// found later (pulled, then Hugging Face, LlamaFarm, extra folders; then by path) gets
    /// "-" + 8 hex of SHA-256 of its location appended, deterministically.
    package func scan() -> [ScannedFile] {
        scanReport().files
    }

    /// `scan()` with the Hugging Face snapshot entries it refused (ModelScanner+HubContainment.swift).
    package func scanReport() -> ScanReport {
        var candidates: [Candidate] = []
        var refused: [RefusedEntry] = []
        if let pulled = roots.pulledModels {
            candidates += scanPulledModels(root: pulled.standardizedFileURL.path)
        }
        if let hub = roots.huggingFaceHub {
            candidates += scanHuggingFaceHub(root: hub.standardizedFileURL.path, refused: &refused)
        }
        if let llamaFarm = roots.llamaFarmModels {
            candidates += scanLlamaFarm(root: llamaFarm.standardizedFileURL.path)
        }
        for folder in roots.extraFolders {
            candidates += scanExtraFolder(root: folder.standardizedFileURL.path)
        }
        return ScanReport(files: Self.disambiguate(candidates), refused: refused)
    }

    /// A scanned file plus where it was found, for deterministic tie-breaking.
    struct Candidate {
        /// Lower ranks keep their id on a clash: 0 pulled, 1 Hugging Face, 2 LlamaFarm, 3 extra.
        var rank: Int
        /// The (unresolved) path the file was found at.
        var origin: String
        var file: ScannedFile
    }

    /// Makes ids unique: the first of equal ids (by rank, then origin) keeps it, the others get a
    /// suffix derived from their origin. Returns the files sorted by id.
    static func disambiguate(_ candidates: [Candidate]) -> [ScannedFile] {
        let ordered = candidates.sorted {
            ($0.file.modelID, $0.rank, $0.origin) < ($1.file.modelID, $1.rank, $1.origin)
        }
        var taken = Set(ordered.map(\.file.modelID))
        var assigned = Set<String>()
        var result: [ScannedFile] = []
        result.reserveCapacity(ordered.count)
        for candidate in ordered {
            var file = candidate.file
            if !assigned.insert(file.modelID).inserted {
                var seed = "\(candidate.rank):\(candidate.origin)"
                var id = ModelIdentifier.appending(ModelIdentifier.shortHash(seed), to: file.modelID)
                while taken.contains(id) {
                    seed += "+"
                    id = ModelIdentifier.appending(ModelIdentifier.shortHash(seed), to: file.modelID)
                }
                file.modelID = id
                assigned.insert(id)
            }
            taken.insert(file.modelID)
            result.append(file)
        }
        return result.sorted { $0.modelID < $1.modelID }
    }

    // MARK: - Helpers

    /// The file name without its last extension ("Qwen3-1.7B-Q4_K_M.gguf" -> "Qwen3-1.7B-Q4_K_M").
    static func stem(of fileName: String) -> String {
        guard let dot = fileName.lastIndex(of: "."), dot != fileName.startIndex else { return fileName }
        return String(fileName[..<dot])
    }

    /// A relative path without the file's last extension ("onnx/model.onnx" -> "onnx/model").
    static func stem(ofPath relativePath: String) -> String {
        var components = relativePath.split(separator: "/").map(String.init)
        guard let fileName = components.popLast() else { return relativePath }
        return (components + [stem(of: fileName)]).joined(separator: "/")
    }

    /// A modification time as a UTC version string `yyyy.MM.dd.HHmmss`.
    static func version(modificationTimeNanos: Int64) -> String {
        var seconds = time_t(modificationTimeNanos / 1_000_000_000)
        var parts = tm()
        guard gmtime_r(&seconds, &parts) != nil else { return "0" }
        return String(
            format: "%04d.%02d.%02d.%02d%02d%02d",
            Int(parts.tm_year) + 1900,
            Int(parts.tm_mon) + 1,
            Int(parts.tm_mday),
            Int(parts.tm_hour),
            Int(parts.tm_min),
            Int(parts.tm_sec)
        )
    }
}

extension ModelScanner {
    /// What `stat` says about a file (symlinks followed).
    struct FileStatus {
        var size: Int64
        var modificationTimeNanos: Int64
        var inode: UInt64
        var device: UInt64
        var isRegularFile: Bool
        var isDirectory: Bool

        /// nil when the path (or a symlink's target) does not exist or cannot be stat'ed.
        init?(path: String) {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            size = Int64(info.st_size)
            #if canImport(Darwin)
            let time = info.st_mtimespec
            #else
            let time = info.st_mtim
            #endif
            modificationTimeNanos = Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
            inode = UInt64(truncatingIfNeeded: info.st_ino)
            device = UInt64(truncatingIfNeeded: info.st_dev)
            isRegularFile = (info.st_mode & S_IFMT) == S_IFREG
            isDirectory = (info.st_mode & S_IFMT) == S_IFDIR
        }
    }

    /// A non-empty regular file found under a root.
    struct FoundFile {
        /// Where it was found (not resolved).
        var path: String
        /// Relative to the root, "/"-separated.
        var relativePath: String
        /// The real bytes, every symlink resolved.
        var resolvedPath: String
        var status: FileStatus
    }

    /// Recursive directory walking with the scanner's skip rules.
    enum FileWalker {
        /// Folders deeper than this below a root are not entered.
        static let maximumDepth = 32

        /// A hidden name a whole snapshot keeps: one that no other skip rule refuses.
        static func isHiddenKept(_ name: String) -> Bool {
            name.hasPrefix(".") && !isSkipped(String(name.dropFirst()))
        }

        /// Hidden names, lock and incomplete-download markers, partial downloads.
        static func isSkipped(_ name: String) -> Bool {
            name.hasPrefix(".") || name.hasSuffix(".incomplete") || name.hasSuffix(".lock")
                || name.hasSuffix(".partial") || name.hasSuffix(".atmo-partial")
        }

        /// Every non-empty regular file below `root`, in a stable order (names sorted per folder). Symlinks are
        /// followed, but each folder (by device and inode) is entered once, so loops end.
        /// `wholeSnapshot` also keeps names starting with "." and empty files (a Hugging Face
        /// snapshot's `.gitattributes` and an empty `__init__.py` are files of its repository);
        /// the other skip rules hold.
        static func walk(_ root: String, excluding excluded: [URL] = [], wholeSnapshot: Bool = false) -> [FoundFile] {
            guard let status = FileStatus(path: root), status.isDirectory else { return [] }
            // Excluded folders count as visited already, so the walk never enters them.
            var visited: Set<[UInt64]> = [[status.device, status.inode]]
            for folder in excluded {
                if let excludedStatus = FileStatus(path: folder.path), excludedStatus.isDirectory {
                    if [excludedStatus.device, excludedStatus.inode] == [status.device, status.inode] { return [] }
                    visited.insert([excludedStatus.device, excludedStatus.inode])
                }
            }
            var found: [FoundFile] = []
            walk(directory: root, prefix: "", depth: 0, wholeSnapshot: wholeSnapshot, visited: &visited, into: &found)
            return found
        }

        private static func walk(
            directory: String,
            prefix: String,
            depth: Int,
            wholeSnapshot: Bool,
            visited: inout Set<[UInt64]>,
            into found: inout [FoundFile]
        ) {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
            for name in names.sorted() where !isSkipped(name) || (wholeSnapshot && isHiddenKept(name)) {
                let path = directory + "/" + name
                let relative = prefix.isEmpty ? name : prefix + "/" + name
                guard let status = FileStatus(path: path) else { continue }
                if status.isDirectory {
                    guard depth < maximumDepth, visited.insert([status.device, status.inode]).inserted else { continue }
                    walk(
                        directory: path, prefix: relative, depth: depth + 1, wholeSnapshot: wholeSnapshot, visited: &visited,
                        into: &found)
                } else if status.isRegularFile, status.size > 0 || wholeSnapshot, let resolved = realPath(path) {
                    found.append(FoundFile(path: path, relativePath: relative, resolvedPath: resolved, status: status))
                }
            }
        }

        /// The canonical absolute path with every symlink resolved, or nil.
        static func realPath(_ path: String) -> String? {
            guard let resolved = realpath(path, nil) else { return nil }
            defer { free(resolved) }
            return String(cString: resolved)
        }
    }
}
