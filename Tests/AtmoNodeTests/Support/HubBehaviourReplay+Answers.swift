import AtmoStore
import Foundation

/// The answers of `HubBehaviourReplay` (see its comment for what each replays).
extension HubBehaviourReplay {
    typealias Reply = ReplayHTTPServer.Reply

    static func answerHub(_ request: ReplayHTTPServer.Request, options: Options, hubBase: String, cdnBase: String, count: Int) -> Reply {
        let path = request.path
        let (repo, commit) = (options.repoID, options.commit)
        if let old = options.renamedFrom {
            for prefix in ["/api/models/", "/"] where path.hasPrefix(prefix + old + "/") || path == prefix + old {
                let target = prefix + repo + request.target.dropFirst((prefix + old).utf8.count)
                return Reply(
                    status: 307, headers: [("Location", target), ("Content-Type", "text/plain; charset=utf-8")],
                    body: Array("Temporary Redirect. Redirecting to \(target)".utf8))
            }
        }
        if path.hasPrefix("/api/resolve-cache/models/\(repo)/\(commit)/") {
            let filePath = String(path.dropFirst("/api/resolve-cache/models/\(repo)/\(commit)/".count))
            guard let file = options.files.first(where: { $0.path == filePath }) else { return entryNotFound(commit) }
            if let refused = gate(request, options) { return refused }
            return Reply(
                status: 200,
                headers: [
                    ("ETag", "\"\(file.etag)\""), ("X-Repo-Commit", commit), ("Content-Type", "text/plain; charset=utf-8"),
                    ("Accept-Ranges", "bytes"), rateLimitRemaining("resolvers"),
                ], body: file.bytes)
        }
        if path.hasPrefix("/api/models/") {
            let rest = path.dropFirst("/api/models/".count)
            guard rest == repo || rest.hasPrefix(repo + "/") else {
                return .json(["error": "Repository not found"], status: 401, headers: notFoundRepo)
            }
            let tail = String(rest.dropFirst(repo.count))
            if tail.isEmpty || tail.hasPrefix("/revision/") {
                if count <= options.lookupRateLimited { return tooManyRequests("api", options) }
                let revision = tail.isEmpty ? "main" : String(tail.dropFirst("/revision/".count))
                guard revision == "main" || revision == commit else { return revisionNotFound(revision) }
                return .json([
                    "_id": "65c0e0a24913fc50b7ba14d2", "id": repo, "modelId": repo, "sha": commit, "private": false,
                    "gated": options.gatedToken == nil ? false as Any : "manual" as Any, "disabled": false, "tags": [String](),
                    "siblings": options.files.map { ["rfilename": $0.path] },
                ])
            }
            if tail.hasPrefix("/tree/") {
                let revision = String(tail.dropFirst("/tree/".count))
                guard revision == "main" || revision == commit else { return revisionNotFound(revision) }
                return treePage(request, options: options, revision: revision, hubBase: hubBase)
            }
        }
        if path.hasPrefix("/\(repo)/resolve/") {
            let rest = path.dropFirst("/\(repo)/resolve/".count)
            guard let slash = rest.firstIndex(of: "/") else { return entryNotFound(commit) }
            let revision = String(rest[..<slash])
            let filePath = String(rest[rest.index(after: slash)...])
            guard revision == "main" || revision == commit else { return revisionNotFound(revision) }
            guard let file = options.files.first(where: { $0.path == filePath }) else { return entryNotFound(commit) }
            if let refused = gate(request, options) { return refused }
            if let limited = options.rateLimited[filePath], count <= limited { return tooManyRequests("resolvers", options) }
            return file.lfs ? lfsRedirect(file, options: options, hubBase: hubBase, cdnBase: cdnBase) : resolveCache(file, options)
        }
        return .json(["error": "Sorry, we can't find the page you are looking for."], status: 404)
    }

    /// An LFS (or Xet) file: `302` to the CDN, the file's metadata on the 302 itself.
    static func lfsRedirect(_ file: File, options: Options, hubBase: String, cdnBase: String) -> Reply {
        let name = file.path.split(separator: "/").last.map(String.init) ?? file.path
        let disposition = "response-content-disposition=inline%3B+filename*%3DUTF-8%27%27\(name)%3B+filename%3D%22\(name)%22%3B"
        let location =
            file.xet
            ? cdnBase + "/xet-bridge-us/65c0e0a24913fc50b7ba14d2/\(xetHash(file))?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                + "&X-Amz-Content-Sha256=UNSIGNED-PAYLOAD&X-Amz-Credential=cas%2F20261207%2Fus-east-1%2Fs3%2Faws4_request"
                + "&X-Amz-Date=20261207T091500Z&X-Amz-Expires=3600&X-Amz-Signature=7c159e04051cd274&X-Amz-SignedHeaders=host"
                + "&X-Xet-Cas-Uid=public&\(disposition)&x-id=GetObject&Expires=1796000000&Policy=eyJTdGF0ZW1lbnQiOltdfQ__"
                + "&Signature=PdBVaG4-GjkRKDEarHJz~8MJdeg5oLKW&Key-Pair-Id=K2L8F4GPSG1IFC"
            : cdnBase + "/repos/7f/3a/7f3a9c/\(file.sha256)?\(disposition)&Expires=1796000000"
                + "&Policy=eyJTdGF0ZW1lbnQiOltdfQ__&Signature=Wj3kq~0dQz-9a&Key-Pair-Id=KVTP0A1DKRTAX"
        let linked = options.wrongLinkedETag.contains(file.path) ? String(repeating: "e", count: 64) : file.etag
        var headers: [(String, String)] = [
            ("Location", location), ("Content-Type", "text/plain; charset=utf-8"), ("X-Repo-Commit", options.commit),
            ("X-Linked-Etag", "\"\(linked)\""), ("X-Linked-Size", String(file.bytes.count)), ("Vary", "Origin, Accept"),
            rateLimitRemaining("resolvers"), ("RateLimit-Policy", "\"fixed window\";\"resolvers\";q=3000;w=300"),
        ]
        if file.xet {
            headers.append(("X-Xet-Hash", xetHash(file)))
            headers.append(("Link", "<\(hubBase)/api/models/\(options.repoID)/xet-read-token/\(options.commit)>; rel=\"xet-auth\""))
        }
        return Reply(status: 302, headers: headers, body: Array("Found. Redirecting to \(location)".utf8))
    }

    /// A file kept in git: a relative `307` to `/api/resolve-cache/...`, without the metadata.
    static func resolveCache(_ file: File, _ options: Options) -> Reply {
        let quoted = file.path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? file.path
        let original = "/\(options.repoID)/resolve/main/\(file.path)".addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        let location = "/api/resolve-cache/models/\(options.repoID)/\(options.commit)/\(quoted)?\(original)=&etag=%22\(file.etag)%22"
        return Reply(
            status: 307, headers: [("Location", location), ("Content-Type", "text/plain; charset=utf-8"), rateLimitRemaining("resolvers")],
            body: Array("Temporary Redirect. Redirecting to \(location)".utf8))
    }

    static func treePage(_ request: ReplayHTTPServer.Request, options: Options, revision: String, hubBase: String) -> Reply {
        var folders = Set<String>()
        for file in options.files {
            var parts = file.path.split(separator: "/").dropLast()
            while !parts.isEmpty {
                folders.insert(parts.joined(separator: "/"))
                parts = parts.dropLast()
            }
        }
        var items: [(path: String, item: [String: Any])] = folders.map {
            ($0, ["type": "directory", "oid": GitLFSPointer.gitBlobID(of: Array($0.utf8)), "size": 0, "path": $0])
        }
        for file in options.files {
            var item: [String: Any] = ["type": "file", "size": file.bytes.count, "path": file.path]
            if file.lfs {
                let size = Int64(file.bytes.count)
                item["oid"] = GitLFSPointer.gitBlobID(sha256: file.sha256, size: size)
                item["lfs"] = ["oid": file.sha256, "size": size, "pointerSize": GitLFSPointer.size(sha256: file.sha256, size: size)]
                if file.xet { item["xetHash"] = xetHash(file) }
            } else {
                item["oid"] = file.etag
            }
            items.append((file.path, item))
        }
        items.sort { $0.path < $1.path }
        let start = request.query["cursor"].flatMap { Data(base64Encoded: $0) }.flatMap { Int(String(decoding: $0, as: UTF8.self)) } ?? 0
        let end = min(items.count, start + options.pageSize)
        var headers: [(String, String)] = [rateLimitRemaining("api")]
        if end < items.count {
            let cursor = Data(String(end).utf8).base64EncodedString()
            let next = "\(hubBase)/api/models/\(options.repoID)/tree/\(revision)?recursive=True&expand=False&cursor=\(cursor)"
            headers.append(("Link", "<\(next)>; rel=\"next\""))
        }
        return .json(Array(items[min(start, end)..<end].map(\.item)), headers: headers)
    }

    /// A gated repository's file without the right token: 401 (none) or 403 (another).
    static func gate(_ request: ReplayHTTPServer.Request, _ options: Options) -> Reply? {
        guard let token = options.gatedToken, request.headers["authorization"] != "Bearer \(token)" else { return nil }
        let repo = options.repoID
        if request.headers["authorization"] == nil {
            let message =
                "Access to model \(repo) is restricted. You must have access to it and be authenticated to access it. Please log in."
            return .json(["error": message], status: 401, headers: [("X-Error-Code", "GatedRepo"), ("X-Error-Message", message)])
        }
        let message =
            "Access to model \(repo) is restricted and you are not in the authorized list. Visit https://huggingface.co/\(repo) to ask for access."
        return .json(["error": message], status: 403, headers: [("X-Error-Code", "GatedRepo"), ("X-Error-Message", message)])
    }

    static func tooManyRequests(_ bucket: String, _ options: Options) -> Reply {
        var headers: [(String, String)] = [
            ("RateLimit", "\"\(bucket)\";r=0;t=\(options.rateLimitReset)"),
            ("RateLimit-Policy", "\"fixed window\";\"\(bucket)\";q=3000;w=300"),
        ]
        if options.retryAfterHeader { headers.append(("Retry-After", String(options.rateLimitReset))) }
        return .json(["error": "Too many requests"], status: 429, headers: headers)
    }

    static func rateLimitRemaining(_ bucket: String) -> (String, String) {
        ("RateLimit", "\"\(bucket)\";r=2998;t=172")
    }

    static func revisionNotFound(_ revision: String) -> Reply {
        let message = "Invalid rev id: \(revision)"
        return .json(["error": message], status: 404, headers: [("X-Error-Code", "RevisionNotFound"), ("X-Error-Message", message)])
    }

    static func entryNotFound(_ commit: String) -> Reply {
        .json(
            ["error": "Entry not found"], status: 404,
            headers: [("X-Error-Code", "EntryNotFound"), ("X-Error-Message", "Entry not found"), ("X-Repo-Commit", commit)])
    }

    /// A Xet file id: 64 hex, not the file's SHA-256.
    static func xetHash(_ file: File) -> String {
        sha256(Array("xet:".utf8) + file.bytes)
    }

    /// The CDN: the bytes for a signed URL, an `ETag` that is not the file's hash; 403 for
    /// an unsigned request, 400 for one that also carries `Authorization`.
    static func answerCDN(_ request: ReplayHTTPServer.Request, options: Options) -> Reply {
        let query = request.query
        guard query["Signature"] != nil || query["X-Amz-Signature"] != nil else {
            return Reply(
                status: 403, headers: [("Content-Type", "application/xml")], body: Array("<Error><Code>AccessDenied</Code></Error>".utf8))
        }
        guard request.headers["authorization"] == nil else {
            return Reply(
                status: 400, headers: [("Content-Type", "application/xml")],
                body: Array("<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>".utf8))
        }
        let name = request.path.split(separator: "/").last.map(String.init) ?? ""
        guard let file = options.files.first(where: { $0.lfs && ($0.xet ? xetHash($0) : $0.sha256) == name }) else {
            return Reply(
                status: 404, headers: [("Content-Type", "application/xml")], body: Array("<Error><Code>NoSuchKey</Code></Error>".utf8))
        }
        return Reply(
            status: 200,
            headers: [
                ("Content-Type", "application/octet-stream"), ("ETag", "\"\(sha256(Array("cdn:".utf8) + file.bytes))\""),
                ("Accept-Ranges", "bytes"), ("X-Cache", "Miss from cloudfront"),
            ], body: file.bytes)
    }
}
