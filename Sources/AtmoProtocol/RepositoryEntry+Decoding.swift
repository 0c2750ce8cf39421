/// The checks a repository entry's `refs` and `files` pass as a whole, and its size.
extension RepositoryEntry {
    /// `refs`: at most `WireLimits.maxRefsPerRepository` safe names (`Validation.isValidRefName`),
    /// duplicates dropped, order kept, none inside another's folder (`main` and `main/x`
    /// cannot both be files under `refs/`, as git refuses them too). Absent or null reads
    /// as none.
    static func readRefs(_ reader: inout FieldReader) throws -> [String] {
        guard let names = try reader.optionalStringArray("refs") else { return [] }
        guard names.count <= WireLimits.maxRefsPerRepository else {
            throw reader.fail("refs", .tooLarge, "more than \(WireLimits.maxRefsPerRepository) refs")
        }
        var seen: Set<String> = []
        var refs: [String] = []
        for name in names {
            guard Validation.isValidRefName(name) else { throw reader.fail("refs", "invalid ref name") }
            if seen.insert(name).inserted { refs.append(name) }
        }
        for name in refs {
            var folder = Substring(name)
            while let slash = folder.lastIndex(of: "/") {
                folder = folder[..<slash]
                if seen.contains(String(folder)) {
                    throw reader.fail("refs", "ref \(name) lies inside ref \(folder)")
                }
            }
        }
        return refs
    }

    /// `files`: 1 to `WireLimits.maxFilesPerRepository` valid files (any invalid one fails the
    /// entry), returned sorted by path. Refused: a path twice, a path inside another file's
    /// path (`a` and `a/b` cannot both be files), a `model_id` twice.
    static func readFiles(_ reader: inout FieldReader) throws -> [RepositoryFile] {
        let limit = WireLimits.maxFilesPerRepository
        guard let files = try reader.array(RepositoryFile.self, "files", limit: limit) else {
            throw reader.fail("files", .missingField, "missing required field")
        }
        guard !files.isEmpty else { throw reader.fail("files", "a repository has at least one file") }
        if let problem = conflict(in: files) { throw reader.fail("files", problem) }
        return files.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
    }

    /// Why these files cannot all be installed side by side, or nil when they can.
    ///
    /// Ordered segment by segment (the bytes with `/` below every other byte), a file `d`
    /// that is also a folder of another file `d/x` comes right before the first `d/...`
    /// path, so one pass over neighbours finds every such pair: linear after the sort,
    /// whatever paths a peer sends.
    static func conflict(in files: [RepositoryFile]) -> String? {
        var modelIDs: Set<String> = []
        for file in files {
            guard modelIDs.insert(file.modelID).inserted else { return "model_id \(file.modelID) names two files" }
        }
        return pathConflict(in: files.map(\.path))
    }

    /// Why files at these paths cannot all sit side by side in a snapshot (a path twice, a
    /// path inside another file's path), or nil when they can. Linear after one sort.
    public static func pathConflict(in paths: [String]) -> String? {
        let paths = paths.sorted { segmentKey($0).lexicographicallyPrecedes(segmentKey($1)) }
        for (previous, path) in zip(paths, paths.dropFirst()) {
            if previous == path { return "path \(path) appears twice" }
            if path.hasPrefix(previous + "/") { return "path \(path) is inside the file \(previous)" }
        }
        return nil
    }

    /// A path's bytes with `/` as the lowest value (NUL never occurs in a valid path).
    private static func segmentKey(_ path: String) -> LazyMapSequence<String.UTF8View, UInt8> {
        path.utf8.lazy.map { $0 == UInt8(ascii: "/") ? 0 : $0 }
    }

    /// The entry as the conflict check would accept it: nil when fine, else why not.
    /// For entries built in code (the decoder already refuses these).
    public var filesConflict: String? { Self.conflict(in: files) }

    /// About the bytes of this entry's compact JSON.
    public var wireSize: Int { size(held: false) }

    /// At least the bytes of memory this entry holds (see `ModelCatalog.heldSize`).
    public var heldSize: Int { size(held: true) }

    func size(held: Bool) -> Int {
        var size = 240  // field names, punctuation and size_bytes
        for text in [modelID, repoID, repoType, revision, name, type, format, version, source, sourceRef] {
            size += HeldSizeCharge.text(text, held)
        }
        for text in refs + capabilities { size += HeldSizeCharge.text(text, held) + 1 }
        size += ModelCatalog.size(of: extra, held: held)
        for file in files { size += file.size(held: held) + 1 }
        if held {
            size += HeldSizeCharge.array(refs.count) + HeldSizeCharge.array(capabilities.count)
            size += HeldSizeCharge.array(files.count)
        }
        return size
    }
}

extension RepositoryFile {
    func size(held: Bool) -> Int {
        var size = 90  // field names, punctuation and size_bytes
        for text in [path, sha256, blobID, modelID] { size += HeldSizeCharge.text(text, held) }
        if let piecesSHA256 { size += 32 + 20 + HeldSizeCharge.text(piecesSHA256, held) }
        return size + ModelCatalog.size(of: extra, held: held)
    }
}
