import AtmoProtocol

/// One request of the Hugging Face Hub's download API (docs/PROTOCOL.md, "Hub-compatible
/// endpoint"), as `HubPath.parse` reads it from a request's path and query.
package enum HubRequest: Sendable, Equatable {
    /// `GET /api/models/{repo_id}` (`revision` nil: `main`) or
    /// `GET /api/models/{repo_id}/revision/{revision}`: the repository's info.
    case info(repoID: String, revision: String?)
    /// `GET /api/models/{repo_id}/tree/{revision}[/{path}]?recursive=true`: its files.
    case tree(repoID: String, revision: String, path: String?, recursive: Bool)
    /// `GET`/`HEAD /{repo_id}/resolve/{revision}/{path}`: one file.
    case resolve(repoID: String, revision: String, path: String)

    /// The repository the request names.
    package var repoID: String {
        switch self {
        case .info(let repoID, _), .tree(let repoID, _, _, _), .resolve(let repoID, _, _): repoID
        }
    }
}

/// What a request path is to the Hub endpoint.
package enum HubPathMatch: Sendable, Equatable {
    /// Not a Hub path: another route's (or nobody's) business.
    case notHub
    /// A Hub request, every part checked.
    case request(HubRequest)
    /// A Hub path with a repository id the Hub would never accept, or a repository type
    /// other than models (datasets, spaces): answered as `RepoNotFound`.
    case repositoryNotFound
    /// A revision that is no ref name and no commit: `RevisionNotFound`. `revision` is what
    /// the client sent, fit to be shown (`HubPath.shown`).
    case revisionNotFound(repoID: String, revision: String)
    /// A file path that could name something outside a snapshot: `EntryNotFound`.
    case entryNotFound(repoID: String, revision: String)
}

/// The pure parser of Hub paths: raw (percent-encoded) path and query in, a checked request
/// out. Every segment is percent-decoded once and checked after decoding, so `%2E%2E`,
/// `%00` or `%2F` inside a repository name are refused like their plain forms.
///
/// Repository ids are `name` or `org/name`, so the keyword (`revision`, `tree`, `resolve`)
/// is looked for as the third segment first (`org/name`), then as the second (`name`). As in
/// the Hub's own URLs (`/api/models/{repo_id}/revision/{revision}`,
/// `/api/models/{repo_id}/tree/{revision}[/{path}]`), a revision follows a keyword, so a last
/// segment is a keyword only where no other reading exists: `/api/models/org/tree` is the
/// info of the repository `org/tree`, `/org/name/resolve` a request without a revision.
/// Where both readings exist (`/api/models/a/tree/tree/main`: `a/tree` at `main`, or `a` at
/// `tree` with path `main`), the `org/name` one is taken, as `huggingface_hub` builds its
/// URLs from an `org/name` id.
package enum HubPath {
    /// The Hub's API prefix of repository types this endpoint answers (`/api/models/`), and
    /// the others it answers "not found" for.
    static let modelsAPI = "models"
    static let otherAPIs: Set<Substring> = ["datasets", "spaces", "kernels"]

    package static func parse(path: String, query: String?) -> HubPathMatch {
        guard path.hasPrefix("/") else { return .notHub }
        let segments = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        if segments.first == "api", segments.count >= 3 {
            if segments[1] == modelsAPI { return parseAPI(Array(segments.dropFirst(2)), query: query) }
            if otherAPIs.contains(segments[1]) { return .repositoryNotFound }
            return .notHub
        }
        return parseResolve(Array(segments))
    }

    /// `/api/models/` + `{repo}`, `{repo}/revision/{rev}`, `{repo}/tree/{rev}[/{path}]`.
    private static func parseAPI(_ parts: [Substring], query: String?) -> HubPathMatch {
        // `org/name/tree` names no revision; `name/tree` is the repository `name/tree`.
        let keywords: Set<Substring> = ["revision", "tree"]
        let split = keywordIndex(parts, keywords: keywords) ?? (parts.count > 2 ? trailingKeywordIndex(parts, keywords: keywords) : nil)
        guard let split else {
            // No keyword: the whole rest is the repository id (`name` or `org/name`).
            guard parts.count <= 2, let repoID = repositoryID(parts[...]) else { return .repositoryNotFound }
            return .request(.info(repoID: repoID, revision: nil))
        }
        guard let repoID = repositoryID(parts[..<split]) else { return .repositoryNotFound }
        let rest = parts[(split + 1)...]
        guard let first = rest.first, let revision = revision(first) else {
            return .revisionNotFound(repoID: repoID, revision: shown(rest.first ?? ""))
        }
        if parts[split] == "revision" {
            guard rest.count == 1 else { return .repositoryNotFound }
            return .request(.info(repoID: repoID, revision: revision))
        }
        var path: String?
        if rest.count > 1 {
            guard let decoded = filePath(rest.dropFirst()) else { return .entryNotFound(repoID: repoID, revision: revision) }
            path = decoded
        }
        return .request(.tree(repoID: repoID, revision: revision, path: path, recursive: isRecursive(query)))
    }

    /// `/{repo}/resolve/{rev}/{path}`; anything else is not a Hub path.
    private static func parseResolve(_ parts: [Substring]) -> HubPathMatch {
        let keywords: Set<Substring> = ["resolve"]
        guard let split = keywordIndex(parts, keywords: keywords) ?? trailingKeywordIndex(parts, keywords: keywords) else {
            return .notHub
        }
        guard let repoID = repositoryID(parts[..<split]) else { return .repositoryNotFound }
        let rest = parts[(split + 1)...]
        guard let first = rest.first, let revision = revision(first) else {
            return .revisionNotFound(repoID: repoID, revision: shown(rest.first ?? ""))
        }
        guard rest.count > 1, let path = filePath(rest.dropFirst()) else {
            return .entryNotFound(repoID: repoID, revision: revision)
        }
        return .request(.resolve(repoID: repoID, revision: revision, path: path))
    }

    /// Where the keyword sits, a segment after it: index 2 (`org/name/keyword/...`) before
    /// index 1 (`name/keyword/...`).
    private static func keywordIndex(_ parts: [Substring], keywords: Set<Substring>) -> Int? {
        if parts.count > 3, keywords.contains(parts[2]) { return 2 }
        if parts.count > 2, keywords.contains(parts[1]) { return 1 }
        return nil
    }

    /// A keyword that ends the path (`org/name/keyword`, `name/keyword`): a request that
    /// names no revision.
    private static func trailingKeywordIndex(_ parts: [Substring], keywords: Set<Substring>) -> Int? {
        guard parts.count == 2 || parts.count == 3, keywords.contains(parts[parts.count - 1]) else { return nil }
        return parts.count - 1
    }

    /// The longest revision text an error message shows.
    static let maxShownRevision = 100
    private static let hexDigits = Array("0123456789ABCDEF")

    /// A refused revision segment as an error message may show it: percent-decoded when it
    /// decodes, every character outside printable ASCII percent-encoded (the message is also
    /// a header), at most `maxShownRevision` characters; `(empty)` for nothing.
    package static func shown(_ segment: Substring) -> String {
        guard !segment.isEmpty else { return "(empty)" }
        let text = percentDecoded(segment) ?? String(segment)
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar.value >= 0x20 && scalar.value < 0x7F {
                out.unicodeScalars.append(scalar)
            } else {
                for byte in String(scalar).utf8 {
                    out += "%" + String(hexDigits[Int(byte >> 4)]) + String(hexDigits[Int(byte & 0xF)])
                }
            }
            if out.utf8.count >= maxShownRevision { return String(out.prefix(maxShownRevision)) + "..." }
        }
        return out
    }

    private static func repositoryID(_ parts: ArraySlice<Substring>) -> String? {
        var names: [String] = []
        for part in parts {
            guard let name = percentDecoded(part), !name.contains("/") else { return nil }
            names.append(name)
        }
        let id = names.joined(separator: "/")
        return Validation.isValidRepositoryID(id) ? id : nil
    }

    /// A revision segment: a commit (40 hex, any case: lowercased) or a ref name such as
    /// `main`, `v1.0` or `refs/pr/1` (sent as one segment, `/` encoded as `%2F`).
    private static func revision(_ segment: Substring) -> String? {
        guard let text = percentDecoded(segment) else { return nil }
        let lowered = text.lowercased()
        if Validation.isValidRevision(lowered) { return lowered }
        return Validation.isValidRefName(text) ? text : nil
    }

    private static func filePath(_ parts: ArraySlice<Substring>) -> String? {
        var names: [String] = []
        for part in parts {
            guard let name = percentDecoded(part) else { return nil }
            names.append(name)
        }
        let path = names.joined(separator: "/")
        return Validation.isValidRepositoryPath(path) ? path : nil
    }

    /// `recursive=true` (also `True`, `1`); anything else lists one level.
    private static func isRecursive(_ query: String?) -> Bool {
        guard let query else { return false }
        for pair in query.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard kv.count == 2, kv[0] == "recursive" else { continue }
            return ["true", "1"].contains(kv[1].lowercased())
        }
        return false
    }

    /// RFC 3986 percent-decoding into UTF-8; nil for a bad escape or bytes that are not UTF-8.
    /// `+` stays `+` (this is a path, not a form).
    package static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
