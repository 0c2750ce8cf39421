// Scanning of plain local folders: LlamaFarm's models folder, extra folders, and this node's
// own store of pulled models.
//
// LlamaFarm: `{root}/{category}/{folder}/...`, e.g. `vision/yolov8n_20240208_101500/model.pt`.
// The category (`vision`, `llm`, `audio`, `embedding(s)`, or anything else) hints the type; a
// folder holding exactly one model file named `model.*` (its stem is "model" and it is not a
// text/config file) gives that file the folder's name as id, every other file gets
// `{folder}--{path inside the folder}` (see `ModelIdentifier`). The name drops the folder's
// trailing `_YYYYMMDD_HHMMSS` (or `_YYYYMMDD`) timestamp, which becomes the version
// `YYYY.MM.DD.HHMMSS` (or `YYYY.MM.DD`); without one the version comes from the mtime.

import AtmoProtocol
import Foundation

extension ModelScanner {
    /// Extensions that are never "the" model file of a LlamaFarm folder, even when named `model.*`.
    static let auxiliaryExtensions: Set<String> = [
        "json", "txt", "yaml", "yml", "md", "csv", "log", "ini", "toml", "xml", "cfg", "png", "jpg", "jpeg",
    ]

    /// Splits a LlamaFarm folder name into the model name and a version from its trailing
    /// timestamp: "yolov8n_20240208_101500" -> ("yolov8n", "2024.02.08.101500").
    static func splitTimestamp(folder: String) -> (name: String, version: String?) {
        let parts = folder.split(separator: "_", omittingEmptySubsequences: false).map(String.init)
        func isDate(_ text: String) -> Bool {
            guard text.count == 8, text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber),
                let month = Int(text.dropFirst(4).prefix(2)), let day = Int(text.suffix(2))
            else { return false }
            return (1...12).contains(month) && (1...31).contains(day)
        }
        func isTime(_ text: String) -> Bool {
            text.count == 6 && text.allSatisfy(\.isASCII) && text.allSatisfy(\.isNumber)
        }
        func dotted(_ date: String) -> String {
            "\(date.prefix(4)).\(date.dropFirst(4).prefix(2)).\(date.suffix(2))"
        }
        if parts.count >= 3, isDate(parts[parts.count - 2]), isTime(parts[parts.count - 1]) {
            let name = parts.dropLast(2).joined(separator: "_")
            if !name.isEmpty {
                return (name, dotted(parts[parts.count - 2]) + "." + parts[parts.count - 1])
            }
        }
        if parts.count >= 2, isDate(parts[parts.count - 1]) {
            let name = parts.dropLast().joined(separator: "_")
            if !name.isEmpty {
                return (name, dotted(parts[parts.count - 1]))
            }
        }
        return (folder, nil)
    }

    /// True for `model.{ext}` where ext is not a text/config extension.
    static func isModelFileName(_ fileName: String) -> Bool {
        stem(of: fileName) == "model" && !auxiliaryExtensions.contains(FormatSniffer.fileExtension(of: fileName))
    }

    func scanLlamaFarm(root: String) -> [Candidate] {
        let files = FileWalker.walk(root, excluding: roots.excludedFolders)
        // Per "category/folder": how many model.* files it holds (at any depth).
        var modelFileCount: [String: Int] = [:]
        for found in files {
            let components = found.relativePath.split(separator: "/").map(String.init)
            if components.count >= 3, Self.isModelFileName(components[components.count - 1]) {
                modelFileCount[components[0] + "/" + components[1], default: 0] += 1
            }
        }
        return files.map { found in
            let components = found.relativePath.split(separator: "/").map(String.init)
            let fileName = components[components.count - 1]
            let category = components.count >= 2 ? components[0] : nil
            let folder: String? = components.count >= 3 ? components[1] : category
            // The path inside the folder (or the category, or the root for loose files).
            let inner = components.dropFirst(min(components.count - 1, 2)).joined(separator: "/")
            let isSole =
                components.count >= 3 && Self.isModelFileName(fileName)
                && modelFileCount[components[0] + "/" + components[1]] == 1
            let (baseName, stampVersion) =
                components.count >= 3 ? Self.splitTimestamp(folder: components[1]) : (Self.stem(of: fileName), nil)
            let name = isSole || components.count < 3 ? baseName : baseName + "/" + Self.stem(ofPath: inner)
            let sniffed = FormatSniffer.sniff(
                header: FormatSniffer.readHeader(path: found.resolvedPath),
                fileName: fileName,
                context: components.dropLast(),
                category: category
            )
            var metadata = ["llamafarm_path": found.relativePath]
            metadata["llamafarm_category"] = category
            metadata["llamafarm_folder"] = components.count >= 3 ? components[1] : nil
            let file = ScannedFile(
                modelID: ModelIdentifier.llamaFarm(folder: folder, relativePath: inner, isSoleModelFile: isSole),
                name: name,
                path: found.resolvedPath,
                sizeBytes: found.status.size,
                modificationTimeNanos: found.status.modificationTimeNanos,
                inode: found.status.inode,
                device: found.status.device,
                format: sniffed.format,
                type: sniffed.type,
                source: "llamafarm_training",
                sourceRef: "local",
                version: stampVersion ?? Self.version(modificationTimeNanos: found.status.modificationTimeNanos),
                knownSHA256: nil,
                metadata: metadata
            )
            return Candidate(rank: 2, origin: found.path, file: file)
        }
    }

    // MARK: - Extra folders

    func scanExtraFolder(root: String) -> [Candidate] {
        FileWalker.walk(root, excluding: roots.excludedFolders).map { found in
            let components = found.relativePath.split(separator: "/").map(String.init)
            let fileName = components.last ?? found.relativePath
            let folders = Array(components.dropLast())
            let sniffed = FormatSniffer.sniff(
                header: FormatSniffer.readHeader(path: found.resolvedPath),
                fileName: fileName,
                context: folders,
                category: folders.first
            )
            let file = ScannedFile(
                modelID: ModelIdentifier.extraFolder(relativePath: found.relativePath),
                name: Self.isGenericStem(fileName) ? Self.stem(ofPath: found.relativePath) : Self.stem(of: fileName),
                path: found.resolvedPath,
                sizeBytes: found.status.size,
                modificationTimeNanos: found.status.modificationTimeNanos,
                inode: found.status.inode,
                device: found.status.device,
                format: sniffed.format,
                type: sniffed.type,
                source: "imported",
                sourceRef: "local",
                version: Self.version(modificationTimeNanos: found.status.modificationTimeNanos),
                knownSHA256: nil,
                metadata: ["relative_path": found.relativePath]
            )
            return Candidate(rank: 3, origin: found.path, file: file)
        }
    }

    // MARK: - Pulled models

    /// This node's store, top level only: every `{model_id}.json` sidecar names its model file
    /// (`file_name`, written by `LocalModelStore.install`; older sidecars: `{model_id}.{format}`,
    /// the id alone when it already ends in `.{format}`). Model files without a readable
    /// sidecar are ignored, and so is a sidecar whose file is missing or is itself a sidecar.
    func scanPulledModels(root: String) -> [Candidate] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: root) else { return [] }
        let present = Set(names)
        return names.sorted().compactMap { sidecarName -> Candidate? in
            guard sidecarName.hasSuffix(".json"), !FileWalker.isSkipped(sidecarName),
                let sidecar = PulledSidecar(path: root + "/" + sidecarName),
                let modelID = sidecar.modelID, Validation.isValidModelID(modelID),
                sidecarName == modelID + ".json"
            else { return nil }
            guard let fileName = sidecar.fileName ?? Self.defaultFileName(modelID: modelID, format: sidecar.format, present: present),
                fileName != sidecarName, !fileName.contains("/"), present.contains(fileName),
                let status = FileStatus(path: root + "/" + fileName), status.isRegularFile, status.size > 0,
                let resolved = FileWalker.realPath(root + "/" + fileName)
            else { return nil }
            let sniffed = FormatSniffer.sniff(header: FormatSniffer.readHeader(path: resolved), fileName: fileName)
            let file = ScannedFile(
                modelID: modelID,
                name: sidecar.name ?? modelID,
                path: resolved,
                sizeBytes: status.size,
                modificationTimeNanos: status.modificationTimeNanos,
                inode: status.inode,
                device: status.device,
                format: sidecar.format ?? sniffed.format,
                type: sidecar.type ?? sniffed.type,
                source: sidecar.source ?? "imported",
                sourceRef: sidecar.sourceRef ?? "local",
                version: sidecar.version ?? Self.version(modificationTimeNanos: status.modificationTimeNanos),
                knownSHA256: nil,
                metadata: sidecar.sha256.map { ["sidecar_sha256": $0] } ?? [:]
            )
            return Candidate(rank: 0, origin: root + "/" + fileName, file: file)
        }
    }

    /// `{model_id}.{format}`, or the id alone when it already ends in `.{format}` (the rule of
    /// `ModelEntry.fileName`); for a sidecar without a format, the one file `{model_id}.*`
    /// that is not json.
    static func defaultFileName(modelID: String, format: String?, present: Set<String>) -> String? {
        guard let format, !format.isEmpty else {
            let candidates = present.filter { $0.hasPrefix(modelID + ".") && !$0.hasSuffix(".json") && stem(of: $0) == modelID }
            return candidates.count == 1 ? candidates.first : nil
        }
        guard !modelID.lowercased().hasSuffix("." + format) else { return modelID }
        return modelID + "." + format
    }

    /// The fields of a pulled model's `{id}.json` sidecar that the scanner uses.
    struct PulledSidecar {
        var modelID, name, type, format, version, source, sourceRef, sha256, fileName: String?

        /// Reads a sidecar of at most 1 MiB; nil when it is missing, too big or not a JSON object.
        init?(path: String) {
            guard let status = FileStatus(path: path), status.isRegularFile, status.size <= 1 << 20,
                let data = FileManager.default.contents(atPath: path),
                let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
            else { return nil }
            func text(_ key: String) -> String? {
                let value: String? =
                    switch object[key] {
                    case let string as String: string
                    case let number as NSNumber: number.stringValue
                    default: nil
                    }
                return value?.isEmpty == false ? value : nil
            }
            modelID = text("model_id")
            name = text("name")
            type = text("type")
            format = text("format").map { $0.lowercased() }.flatMap { Validation.isValidFormat($0) ? $0 : nil }
            fileName = text("file_name")
            version = text("version")
            source = text("source")
            sourceRef = text("source_ref")
            sha256 = text("sha256")?.lowercased()
        }
    }
}
