import AsyncHTTPClient
import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// A Hub-compatible endpoint this node mirrors from (`--upstream`): huggingface.co or
/// another node. Asks exactly what `huggingface_hub` asks (docs/PROTOCOL.md, "Hub-compatible
/// endpoint"): the revision's commit, the commit's file list, each file's bytes. Every
/// answer is bounded; an upstream's numbers and names are checked like a peer's.
///
/// As huggingface.co answers (`HubUpstreamClient+Requests.swift`): redirects are followed
/// (a renamed repository's relative `307`, a small file's relative `307` to
/// `/api/resolve-cache/...`, an LFS or Xet file's absolute `302` to a CDN host), the token
/// never leaves the upstream's own host, the metadata of a `302` is checked against the
/// listing, a `429` is waited out or answered as the Hub's rate limit, and 401/403 are the
/// Hub's word on access (`HubUpstreamRefusal`).
struct HubUpstreamClient: Sendable {
    let http: HTTPClient
    /// The endpoint's base URL, without a trailing `/`.
    let baseURL: String
    /// Sent as `Authorization: Bearer` to the upstream's own host only (`--upstream-token-file`).
    var token: String?
    var timeout: TimeAmount = .seconds(30)
    /// How long one request may wait out the upstream's `429`s before it is answered as a
    /// rate limit (a client waits on it: `huggingface_hub` reads with a 10 s timeout).
    var patience: Duration = .seconds(4)
    /// When the upstream said its rate limit lets requests through again, per bucket.
    let pace = HubUpstreamPace()
    /// The upstream's JSON answers read at once; the others wait their turn at most
    /// `reads.wait` (30 s, as `timeout`), then throw `HubUpstreamBusy`.
    var reads = HubUpstreamReads()
    /// Bytes of a whole tree listing, over all its pages (`HubUpstreamJSON.maxTreeBytes`).
    var maxTreeBytes = HubUpstreamJSON.maxTreeBytes

    init(http: HTTPClient, baseURL: String, token: String? = nil) {
        self.http = http
        self.baseURL = baseURL
        self.token = token
    }

    /// What the upstream says about a revision.
    enum Lookup: Sendable, Equatable {
        case found(commit: String)
        case miss(HubCatalog.Miss)
    }

    /// A file of the upstream's listing, with the hash it must have.
    struct File: Sendable, Equatable {
        var path: String
        var sizeBytes: Int64
        /// The Hub's etag: the LFS SHA-256 (64 hex) or the git blob id (40 hex).
        var blobID: String
        var isLFS: Bool { blobID.utf8.count == 64 }
    }

    /// `GET /api/models/{repo_id}/revision/{rev}`: the commit `revision` names there. Only
    /// `sha` is decoded, within `HubUpstreamJSON`'s bounds.
    func lookup(repoID: String, revision: String) async throws -> Lookup {
        let path = "/api/models/\(repoID)/revision/\(Self.encodeSegment(revision))"
        return try await reads.run {
            let what = "the info of \(repoID)"
            let (status, headers, body, _) = try await get(url: baseURL + path, limit: HubUpstreamJSON.maxInfoBytes, what: what)
            if let miss = Self.miss(status: status, headers: headers) { return .miss(miss) }
            if let refusal = HubUpstreamRefusal.from(status: status, headers: headers) { throw refusal }
            guard status == .ok else { throw HubUpstreamError("GET \(path) answered \(status.code)") }
            let info = try HubUpstreamJSON.decode(HubUpstreamJSON.Info.self, from: body, what: what)
            guard let sha = info.sha?.lowercased(), Validation.isValidRevision(sha) else {
                throw HubUpstreamError("GET \(path) has no valid sha")
            }
            return .found(commit: sha)
        }
    }

    /// `GET /api/models/{repo_id}/tree/{commit}?recursive=true`, following `Link: rel="next"`
    /// pages (the Hub pages at 1,000 entries; a relative link is taken against the page's
    /// URL) on the upstream's own host, at most 64 pages, `maxTreeBytes` bytes over all of
    /// them, `HubUpstreamJSON.maxTreeItems` items (files and folders) and
    /// `WireLimits.maxFilesPerRepository` files, no path twice or inside another file's path;
    /// each page within `HubUpstreamJSON`'s bounds, its bytes and items counted before it is
    /// decoded. A file with an invalid path, size or hash fails the whole listing (a mirror
    /// is complete or not made).
    func files(repoID: String, commit: String) async throws -> [File] {
        var next: String? = baseURL + "/api/models/\(repoID)/tree/\(commit)?recursive=true&expand=false"
        var files: [File] = []
        var paths = Set<String>()
        var pages = 0
        var items = 0
        var bytes = 0
        while let url = next {
            pages += 1
            guard pages <= 64 else { throw HubUpstreamError("the tree listing of \(repoID) has more than 64 pages") }
            let what = "page \(pages) of the tree listing of \(repoID)"
            // The pages' bytes add up: a page may hold what the listing has left, no more.
            let left = max(0, maxTreeBytes - bytes)
            let overListing =
                left < HubUpstreamJSON.maxTreePageBytes
                ? "the tree listing of \(repoID) is larger than \(Self.mebibytes(maxTreeBytes)) over its pages,"
                    + " the most this node reads of one listing" : nil
            let (page, headers, finalURL, read) = try await reads.run { () -> ([HubUpstreamJSON.TreeItem], HTTPHeaders, URL?, Int) in
                let (status, headers, body, finalURL) = try await get(
                    url: url, limit: min(left, HubUpstreamJSON.maxTreePageBytes), what: what, tooLarge: overListing)
                if let refusal = HubUpstreamRefusal.from(status: status, headers: headers) { throw refusal }
                guard status == .ok else { throw HubUpstreamError("GET tree of \(repoID)@\(commit) answered \(status.code)") }
                // Counted before anything is decoded: the items of every page add up.
                let shape = HubUpstreamJSON.shape(of: body)
                guard items + shape.topLevelValues <= HubUpstreamJSON.maxTreeItems else {
                    throw HubUpstreamError(
                        "the tree listing of \(repoID) has more than \(HubUpstreamJSON.maxTreeItems) items (files and folders),"
                            + " the most this node reads")
                }
                let page = try HubUpstreamJSON.decode([HubUpstreamJSON.TreeItem].self, from: body, what: what, shape: shape)
                return (page, headers, finalURL, body.count)
            }
            bytes += read
            items += page.count
            for item in page where item.type == "file" {
                let file = try Self.file(item)
                guard paths.insert(file.path).inserted else { throw HubUpstreamError("the tree listing of \(repoID) repeats \(file.path)") }
                files.append(file)
                guard files.count <= WireLimits.maxFilesPerRepository else {
                    throw HubUpstreamError("\(repoID) has more than \(WireLimits.maxFilesPerRepository) files")
                }
            }
            next = headers.first(name: "Link").flatMap(Self.nextLink).flatMap { URL(string: $0, relativeTo: finalURL)?.absoluteString }
            // A next page stays on the upstream (never another host a listing points at).
            if let url = next, !isUpstream(URL(string: url)) { throw HubUpstreamError("a tree page points off the upstream: \(url)") }
        }
        guard !files.isEmpty else { throw HubUpstreamError("\(repoID)@\(commit) lists no files") }
        // Files that cannot sit side by side (`a` and `a/b`) make no mirror, as they make no
        // peer's entry.
        if let problem = RepositoryEntry.pathConflict(in: files.map(\.path)) {
            throw HubUpstreamError("the tree listing of \(repoID)@\(commit) cannot be a snapshot: \(problem)")
        }
        return files
    }

    /// Streams `/{repo_id}/resolve/{commit}/{path}` (redirects followed: `send`): `started`
    /// once the upstream answered 200, then every piece of the body, in order, to `consume`.
    /// Before any byte, the redirects' metadata must match the listing (`checkRedirects`).
    /// Fails unless exactly `file.sizeBytes` bytes arrive. The client's read timeout ends a
    /// body that stops coming (an upstream that sends its head, then nothing).
    func download(
        repoID: String, commit: String, file: File, started: @Sendable () -> Void, consume: (ByteBuffer) async throws -> Void
    ) async throws {
        let quoted = file.path.split(separator: "/").map { Self.encodeSegment(String($0)) }.joined(separator: "/")
        let response = try await send(baseURL + "/\(repoID)/resolve/\(commit)/\(quoted)", accept: nil, timeout: .hours(24))
        guard response.status == .ok else {
            let onUpstream = isUpstream(response.url)
            // A small error body, read within its own bound (the request's is a day).
            _ = try? await response.body.collect(upTo: 64 << 10, deadline: .now() + .seconds(15))
            if onUpstream, let refusal = HubUpstreamRefusal.from(status: response.status, headers: response.headers) { throw refusal }
            throw HubUpstreamError(
                "GET \(file.path) answered \(response.status.code)" + (onUpstream ? "" : " from \(response.url?.host ?? "another host")"))
        }
        try checkRedirects(response.history, file: file, commit: commit)
        started()
        var received: Int64 = 0
        for try await buffer in response.body {
            received += Int64(buffer.readableBytes)
            guard received <= file.sizeBytes else { throw HubUpstreamError("\(file.path) is longer than its \(file.sizeBytes) bytes") }
            try await consume(buffer)
        }
        guard received == file.sizeBytes else { throw HubUpstreamError("\(file.path): \(received) of \(file.sizeBytes) bytes arrived") }
    }

    /// A bounded JSON `GET` (`send`): status, headers, body and the URL that answered. An
    /// answer over `limit` bytes fails, named by `what` (or said by `tooLarge`).
    private func get(
        url: String, limit: Int, what: String, tooLarge: String? = nil
    ) async throws -> (HTTPResponseStatus, HTTPHeaders, Data, URL?) {
        let response = try await send(url, accept: "application/json", timeout: timeout)
        // The head's deadline ends at the head: the body gets its own (a trickled listing is an error).
        do {
            let bytes = try await response.body.collect(upTo: limit, deadline: .now() + timeout)
            return (response.status, response.headers, Data(buffer: bytes), response.url)
        } catch is NIOTooManyBytesError {
            throw HubUpstreamError(tooLarge ?? "\(what) is larger than \(Self.mebibytes(limit)), the most this node reads of it")
        }
    }

    /// `bytes` as the bounds are written: whole MiB, else KiB, else bytes.
    static func mebibytes(_ bytes: Int) -> String {
        if bytes >= 1 << 20, bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 10, bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
        return "\(bytes) bytes"
    }

    /// The Hub's not-found answers (`X-Error-Code`; the Hub answers 401 for a repository it
    /// does not show to an anonymous client). `GatedRepo` is no miss (`HubUpstreamRefusal`).
    static func miss(status: HTTPResponseStatus, headers: HTTPHeaders) -> HubCatalog.Miss? {
        switch headers.first(name: "X-Error-Code") {
        case "RepoNotFound": .repository
        case "RevisionNotFound": .revision
        case "GatedRepo": nil
        default:
            // A token the upstream refused is the node's problem, not a missing repository.
            status == .notFound
                || (status == .unauthorized && headers.first(name: "X-Error-Code") == nil
                    && headers.first(name: "X-Error-Message") != "Invalid credentials in Authorization header")
                ? .repository : nil
        }
    }

    /// One listing item, checked: a safe path, a size, a 40-hex `oid`, and for an LFS file a
    /// 64-hex `lfs.oid` of the same size.
    static func file(_ item: HubUpstreamJSON.TreeItem) throws -> File {
        guard let path = item.path, Validation.isValidRepositoryPath(path) else {
            throw HubUpstreamError("a listed file has an unsafe path")
        }
        guard let size = item.size, size >= 0, size <= WireLimits.maxFileSizeBytes else {
            throw HubUpstreamError("\(path) has no valid size")
        }
        if let lfs = item.lfs {
            guard let oid = lfs.oid?.lowercased(), Validation.isValidBlobID(oid), oid.utf8.count == 64, lfs.size == size
            else { throw HubUpstreamError("\(path) has an invalid lfs oid or size") }
            return File(path: path, sizeBytes: size, blobID: oid)
        }
        guard let oid = item.oid?.lowercased(), oid.utf8.count == 40, Validation.isValidBlobID(oid) else {
            throw HubUpstreamError("\(path) has no valid git oid")
        }
        return File(path: path, sizeBytes: size, blobID: oid)
    }

    /// The `rel="next"` URL of a `Link` header.
    static func nextLink(_ header: String) -> String? {
        for part in header.split(separator: ",") {
            let fields = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let target = fields.first, target.hasPrefix("<"), target.hasSuffix(">"),
                fields.dropFirst().contains(where: { $0 == "rel=\"next\"" || $0 == "rel=next" })
            else { continue }
            return String(target.dropFirst().dropLast())
        }
        return nil
    }

    /// Percent-encodes everything but RFC 3986's unreserved characters.
    static func encodeSegment(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            let isUnreserved =
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "~")
            out += isUnreserved ? String(UnicodeScalar(byte)) : String(format: "%%%02X", byte)
        }
        return out
    }
}

/// An upstream that did not give an answer the node can mirror.
struct HubUpstreamError: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}
