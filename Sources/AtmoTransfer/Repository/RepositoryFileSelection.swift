import AtmoProtocol

/// Which files of a repository a pull takes, as `hf download` chooses them: `--include`
/// and `--exclude` glob patterns (Python's `fnmatch`: `*` matches any run of characters,
/// `/` included; `?` one character; `[abc]`, `[a-z]`, `[!abc]` one of a set; a pattern
/// ending with `/` gets `*` appended, so `onnx/` means everything under `onnx`), or named
/// files. A file is taken when it matches some include pattern (or there are none), no
/// exclude pattern, and is among `paths` (when set). Pure.
public struct RepositoryFileSelection: Sendable, Hashable {
    public var include: [String]
    public var exclude: [String]
    /// Exactly these files (paths in the repository); nil: no such restriction.
    public var paths: [String]?

    /// Every file.
    public static let all = RepositoryFileSelection()

    public init(include: [String] = [], exclude: [String] = [], paths: [String]? = nil) {
        self.include = include
        self.exclude = exclude
        self.paths = paths
    }

    /// One file of the repository.
    public static func file(_ path: String) -> RepositoryFileSelection { RepositoryFileSelection(paths: [path]) }

    /// Whether the file at `path` is taken.
    public func selects(_ path: String) -> Bool {
        if let paths, !paths.contains(path) { return false }
        if !include.isEmpty, !include.contains(where: { Self.matches(path, pattern: $0) }) { return false }
        return !exclude.contains { Self.matches(path, pattern: $0) }
    }

    /// The files of `entry` this selection takes, in the entry's order. Throws `notOffered`
    /// when a named file is not in the repository, or when nothing is selected.
    public func files(of entry: RepositoryEntry) throws(TransferError) -> [RepositoryFile] {
        for path in paths ?? [] where entry.file(atPath: path) == nil {
            throw TransferError(
                .notOffered, "\(entry.repoID) has no file \(path) at revision \(entry.revision.prefix(12)) (see `atmo models`)")
        }
        let chosen = entry.files.filter { selects($0.path) }
        guard !chosen.isEmpty else {
            throw TransferError(.notOffered, "no file of \(entry.repoID) matches the --include/--exclude patterns")
        }
        return chosen
    }

    /// `fnmatch.fnmatchcase(path, pattern)`, with `hf download`'s trailing-`/` rule.
    public static func matches(_ path: String, pattern: String) -> Bool {
        let pattern = pattern.hasSuffix("/") ? pattern + "*" : pattern
        return match(Array(path.unicodeScalars), Array(pattern.unicodeScalars))
    }

    /// Glob matching with backtracking to the last `*` (linear in practice, no recursion).
    private static func match(_ text: [Unicode.Scalar], _ pattern: [Unicode.Scalar]) -> Bool {
        var (t, p) = (0, 0)
        var star: (pattern: Int, text: Int)? = nil
        while t < text.count {
            if p < pattern.count {
                switch pattern[p] {
                case "*":
                    star = (p, t)
                    p += 1
                    continue
                case "?":
                    t += 1
                    p += 1
                    continue
                case "[":
                    if let (matched, next) = matchClass(text[t], pattern, from: p) {
                        if matched {
                            t += 1
                            p = next
                            continue
                        }
                    } else if text[t] == "[" {
                        // An unclosed `[` is a literal, as in fnmatch.
                        t += 1
                        p += 1
                        continue
                    }
                default:
                    if pattern[p] == text[t] {
                        t += 1
                        p += 1
                        continue
                    }
                }
            }
            guard let last = star else { return false }
            star = (last.pattern, last.text + 1)
            (p, t) = (last.pattern + 1, last.text + 1)
        }
        while p < pattern.count, pattern[p] == "*" { p += 1 }
        return p == pattern.count
    }

    /// A `[...]` set at `pattern[start]`: whether `scalar` is in it and the index after it;
    /// nil when the set is not closed (then `[` is a literal).
    private static func matchClass(_ scalar: Unicode.Scalar, _ pattern: [Unicode.Scalar], from start: Int) -> (Bool, Int)? {
        var i = start + 1
        var negated = false
        if i < pattern.count, pattern[i] == "!" {
            negated = true
            i += 1
        }
        // A `]` right after the opening (or `[!`) is a member, not the end.
        var first = true
        var found = false
        while i < pattern.count {
            let c = pattern[i]
            if c == "]" && !first { return (found != negated, i + 1) }
            first = false
            if i + 2 < pattern.count, pattern[i + 1] == "-", pattern[i + 2] != "]" {
                if c.value <= scalar.value && scalar.value <= pattern[i + 2].value { found = true }
                i += 3
            } else {
                if c == scalar { found = true }
                i += 1
            }
        }
        return nil
    }
}
