/// The rule tying each file's `model_id` to its repository and path (docs/PROTOCOL.md,
/// "Repositories"): a consumer fetches a file by its id, and a store installs it under that
/// id, so an id that could name another model (a user's `victim.gguf`) would let a peer
/// replace that model. The decoder refuses an entry any of whose files breaks the rule.
///
/// The provider derives a file's id as `{org}--{name}--{path with "/" as "--"}` (org-less:
/// `{name}--{path}`), the name followed by `-{8 hex}` for a snapshot that is not `main`
/// (`{name}-{hash of the commit}`), every character outside `A-Z a-z 0-9 . _ -` as `_`,
/// runs of dots as one, leading characters that are no letter or digit dropped; when that
/// changed anything or the id is over 200 characters, `-{8 hex}` follows (the id cut to fit),
/// and a second `-{8 hex}` may follow when the provider's scan met the id twice. The 8 hex
/// digits are SHA-256 prefixes this target cannot compute (it has no hashing); they are
/// checked for shape only, so the id always names this repository and this path.
extension RepositoryEntry {
    /// Why a file's `model_id` is not the one derived from `repoID` and its path, or nil.
    public static func fileIDProblem(repoID: String, file: RepositoryFile) -> String? {
        if RepositoryFileID.isDerived(file.modelID, repoID: repoID, path: file.path) { return nil }
        return "model_id \(file.modelID) of \(file.path) is not derived from repo_id \(repoID) and the file's path"
    }

    /// The first file whose `model_id` breaks the rule, as a message; nil when every file
    /// keeps it. For entries built in code (the decoder already refuses these).
    public var fileIDProblem: String? { Self.fileIDProblem(repoID: repoID, files: files) }

    static func fileIDProblem(repoID: String, files: [RepositoryFile]) -> String? {
        for file in files {
            if let problem = fileIDProblem(repoID: repoID, file: file) { return problem }
        }
        return nil
    }
}

/// The shape checks of `RepositoryEntry.fileIDProblem` (no hashing: see there).
enum RepositoryFileID {
    static let maxLength = WireLimits.maxModelIDLength
    static let hashDigits = 8

    /// Whether `id` is one the provider derives for `path` of `repoID` (main or not).
    static func isDerived(_ id: String, repoID: String, path: String) -> Bool {
        let repoPart = repoID.split(separator: "/").joined(separator: "--")
        let pathPart = path.split(separator: "/").joined(separator: "--")
        var tags = [""]
        if let tag = revisionTag(in: id, after: shape(repoPart).text) { tags.append(tag) }
        for tag in tags {
            let (full, changed) = shape(repoPart + tag + "--" + pathPart)
            if !changed, full.utf8.count <= maxLength, id == full { return true }
            var stem = Substring(id)
            for _ in 0..<2 {
                guard let shorter = droppingHashSuffix(stem) else { break }
                stem = shorter
                if stem == full { return true }
                if id.utf8.count == maxLength, isCut(stem, of: full) { return true }
            }
        }
        return false
    }

    /// `-{8 hex}` right after the repository part and before `--`: a snapshot not `main`.
    static func revisionTag(in id: String, after repoPart: String) -> String? {
        guard id.hasPrefix(repoPart + "-") else { return nil }
        let rest = id.utf8.dropFirst(repoPart.utf8.count + 1)
        let digits = rest.prefix(hashDigits)
        guard digits.count == hashDigits, digits.allSatisfy(isHexDigit), rest.dropFirst(hashDigits).starts(with: "--".utf8) else {
            return nil
        }
        return "-" + String(decoding: digits, as: UTF8.self)
    }

    /// `stem` without a trailing `-{8 hex}`, nil when it has none.
    static func droppingHashSuffix(_ stem: Substring) -> Substring? {
        let bytes = stem.utf8
        guard bytes.count > hashDigits + 1 else { return nil }
        let digits = bytes.suffix(hashDigits)
        guard digits.allSatisfy(isHexDigit), bytes.dropLast(hashDigits).last == UInt8(ascii: "-") else { return nil }
        return Substring(stem.utf8.dropLast(hashDigits + 1))
    }

    /// Whether `stem` is `full` (or `full-{hash}`) cut short to make room for a suffix.
    static func isCut(_ stem: Substring, of full: String) -> Bool {
        if full.hasPrefix(stem) { return !stem.isEmpty }
        guard stem.hasPrefix(full + "-") else { return false }
        let digits = stem.utf8.dropFirst(full.utf8.count + 1)
        return digits.count <= hashDigits && digits.allSatisfy(isHexDigit)
    }

    /// The id text sanitizing makes of `raw` before any hash is appended, and whether it
    /// differs from `raw` (then a hash suffix must follow).
    static func shape(_ raw: String) -> (text: String, changed: Bool) {
        var scalars = String.UnicodeScalarView()
        for scalar in raw.unicodeScalars {
            let mapped: Unicode.Scalar = isAllowed(scalar) ? scalar : "_"
            if mapped == ".", scalars.last == "." { continue }
            scalars.append(mapped)
        }
        while let first = scalars.first, !isAlphanumeric(first) { scalars.removeFirst() }
        let text = String(scalars)
        return (text, text != raw)
    }

    static func isHexDigit(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
    }

    static func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") || (scalar >= "0" && scalar <= "9")
    }

    static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        isAlphanumeric(scalar) || scalar == "." || scalar == "_" || scalar == "-"
    }
}
