// Where a single-file model goes in LlamaFarm's models folder (`atmo pull ID --into llamafarm`):
// `{root}/{category}/{folder}/{path}`, named so that LlamaFarm and this node's scanner
// (ModelScanner+LlamaFarm.swift) find it as the provider offered it.
//
// A model a LlamaFarm provider scanned carries `llamafarm_path` (`{category}/{folder}/{path}`),
// `llamafarm_category` and `llamafarm_folder` in its metadata: the same place is used on this
// side, so `vision/yolov8n_20240208_101500/model.pt` keeps its id, name and version. Those
// names come from a peer: every segment is checked (no `/`, `.`, `..`, hidden or partial names,
// control characters, at most 255 bytes), and an entry whose names fail falls back, as any
// other source does, to `{type or "other"}/{model id without extension}/model.{format}`.

import AtmoProtocol
import Foundation

/// The place of one model in LlamaFarm's folder, relative to its root. Pure.
public struct LlamaFarmLayout: Sendable, Hashable {
    /// `llm`, `vision`, `audio`, `embedding`, ... (the first folder under the root).
    public var category: String
    /// The model's folder, e.g. `yolov8n_20240208_101500`.
    public var folder: String
    /// The file's path inside the folder, e.g. `model.pt` (segments separated by `/`).
    public var path: String

    /// `{category}/{folder}/{path}`.
    public var relativePath: String { category + "/" + folder + "/" + path }

    public init(category: String, folder: String, path: String) {
        self.category = category
        self.folder = folder
        self.path = path
    }

    /// Where `entry` goes: the provider's LlamaFarm place when it sent a valid one, else the
    /// fallback named after the entry's type, id and format.
    public init(entry: ModelEntry) {
        self = Self.fromProvider(entry) ?? Self.fallback(entry)
    }

    /// The LlamaFarm place a LlamaFarm provider sent (`metadata.llamafarm_path`, checked
    /// against `llamafarm_category`/`llamafarm_folder` when those are present), or nil.
    static func fromProvider(_ entry: ModelEntry) -> LlamaFarmLayout? {
        guard entry.source.lowercased().hasPrefix("llamafarm"), case .string(let path)? = entry.metadata["llamafarm_path"],
            path.utf8.count <= 1024
        else { return nil }
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard segments.count >= 3, segments.allSatisfy(isSafeSegment) else { return nil }
        if case .string(let category)? = entry.metadata["llamafarm_category"], category != segments[0] { return nil }
        if case .string(let folder)? = entry.metadata["llamafarm_folder"], folder != segments[1] { return nil }
        return LlamaFarmLayout(category: segments[0], folder: segments[1], path: segments.dropFirst(2).joined(separator: "/"))
    }

    /// `{type}/{id without .format}/model.{format}` (type `other` when unknown; the file keeps
    /// the entry's file name when its format cannot name a model file).
    static func fallback(_ entry: ModelEntry) -> LlamaFarmLayout {
        let category = entry.kind == .unknown ? "other" : entry.kind.rawValue
        let format = entry.format.lowercased()
        var folder = entry.modelID
        if !format.isEmpty, folder.lowercased().hasSuffix("." + format), folder.count > format.count + 1 {
            folder = String(folder.dropLast(format.count + 1))
        }
        if !isSafeSegment(folder) { folder = "model" }
        let usable = !format.isEmpty && Validation.isValidFormat(format) && !ModelScanner.auxiliaryExtensions.contains(format)
        var file = usable ? "model." + format : entry.fileName
        if !isSafeSegment(file) { file = "model" }
        return LlamaFarmLayout(category: category, folder: folder, path: file)
    }

    /// A name usable as one folder or file name under the root, and one the scanner walks:
    /// 1-255 bytes, not hidden, not a partial/lock name, no `/`, `\`, NUL or control character.
    public static func isSafeSegment(_ name: String) -> Bool {
        guard (1...255).contains(name.utf8.count), !name.hasPrefix("."), name != "..",
            !name.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "\\") })
        else { return false }
        return !(name.hasSuffix(".incomplete") || name.hasSuffix(".lock") || name.hasSuffix(".partial") || name.hasSuffix(".atmo-partial"))
    }
}
