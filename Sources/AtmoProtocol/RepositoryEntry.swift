/// **Extension**: one repository revision offered as one model, an entry of a catalog's
/// `repositories` and of `GET /v1/repositories` (docs/PROTOCOL.md, "Repositories").
///
/// A Hugging Face cache snapshot is a set of files (weights, shards, config, tokenizer...)
/// that are a model only together. The entry names every file with its path, size, SHA-256
/// and Hub blob id, and each file's own `model_id`, by which it is downloaded exactly like
/// a single-file model. Older nodes never read this field, so they are only ever offered
/// single-file entries (`models`).
///
/// Decoding is strict where a consumer writes files (`repo_id`, `revision`, `refs`, every
/// file's `path` and hashes; one bad file costs the whole entry) and tolerant where peers
/// may vary (`name`, `type`, `format`, `capabilities`, `version` and unknown fields, kept in
/// `extra`). The files come out sorted by path, with no path twice, no file inside another
/// file's path, and `size_bytes` the sum of theirs.
public struct RepositoryEntry: Sendable, Hashable, Codable {
    /// The only `repo_type` this version knows.
    public static let modelRepoType = "model"

    /// `model_id`: `{org}--{name}` (org-less: `{name}`), checked like any model id.
    public var modelID: String
    /// `repo_id`: the Hub id, `org/name` or `name` (`Validation.isValidRepositoryID`).
    public var repoID: String
    /// `repo_type`: `model`, the only value accepted for now.
    public var repoType: String
    /// `revision`: the snapshot's commit, 40 lowercase hex.
    public var revision: String
    /// `refs`: the branch and tag names whose ref names this commit, e.g. `["main"]`.
    public var refs: [String]
    /// Human-readable name.
    public var name: String
    /// `type` of the main weight files (`llm`, `vision`...; `unknown` when none says).
    public var type: String
    /// `format` of the main weight files (`safetensors`, `gguf`...), lowercased; may be empty.
    public var format: String
    /// e.g. `text_generation`.
    public var capabilities: [String]
    /// Version text (the provider uses the commit's first 12 digits).
    public var version: String
    /// `huggingface`.
    public var source: String
    /// `source_ref`: the repository id.
    public var sourceRef: String
    /// `size_bytes`: the sum of the files' sizes.
    public var sizeBytes: Int64
    /// `files`: 1 to `WireLimits.maxFilesPerRepository`, sorted by path.
    public var files: [RepositoryFile]
    /// Fields this version does not know, kept for re-gossip.
    public var extra: [String: JSONValue]

    /// An entry built in code. `files` are sorted by path and `sizeBytes` is their sum.
    public init(
        modelID: String, repoID: String, revision: String, refs: [String] = [], name: String? = nil,
        type: String = "unknown", format: String = "", capabilities: [String] = [], version: String = "",
        source: String = "huggingface", sourceRef: String? = nil, files: [RepositoryFile],
        repoType: String = RepositoryEntry.modelRepoType, extra: [String: JSONValue] = [:]
    ) {
        self.modelID = modelID
        self.repoID = repoID
        self.repoType = repoType
        self.revision = revision
        self.refs = refs
        self.name = name ?? repoID
        self.type = type
        self.format = format
        self.capabilities = capabilities
        self.version = version
        self.source = source
        self.sourceRef = sourceRef ?? repoID
        self.files = files.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        self.sizeBytes = files.reduce(0) { $0 + $1.sizeBytes }
        self.extra = extra
    }

    /// The file at `path`, if the repository has one.
    public func file(atPath path: String) -> RepositoryFile? {
        files.first { $0.path == path }
    }

    /// The file whose own `model_id` is `id`, if the repository has one.
    public func file(modelID id: String) -> RepositoryFile? {
        files.first { $0.modelID == id }
    }

    /// The model type as a closed set; values this version does not know read as `.unknown`.
    public var kind: ModelKind { ModelKind(rawValue: type) ?? .unknown }

    public init(from decoder: any Decoder) throws {
        var reader = try FieldReader(decoder)
        modelID = try reader.modelID()
        repoID = try reader.string("repo_id")
        guard Validation.isValidRepositoryID(repoID) else {
            throw reader.fail("repo_id", "repo_id must be 'name' or 'org/name' (1-96 of A-Z a-z 0-9 . _ - each, no '--' or '..')")
        }
        repoType = try reader.optionalString("repo_type") ?? Self.modelRepoType
        guard repoType == Self.modelRepoType else { throw reader.fail("repo_type", "repo_type '\(repoType)' is not 'model'") }
        revision = try reader.string("revision").lowercased()
        guard Validation.isValidRevision(revision) else { throw reader.fail("revision", "revision must be 40 hex characters") }
        refs = try Self.readRefs(&reader)
        name = try reader.optionalString("name") ?? repoID
        type = (try reader.optionalString("type") ?? "unknown").lowercased()
        format = try reader.format()
        capabilities = try reader.optionalStringArray("capabilities") ?? []
        version = try reader.optionalString("version") ?? ""
        source = try reader.optionalString("source") ?? "huggingface"
        sourceRef = try reader.optionalString("source_ref") ?? repoID
        let declaredSize = try reader.byteCount("size_bytes")
        files = try Self.readFiles(&reader)
        if let problem = Self.fileIDProblem(repoID: repoID, files: files) { throw reader.fail("files", problem) }
        sizeBytes = files.reduce(0) { $0 + $1.sizeBytes }
        guard declaredSize == sizeBytes else {
            throw reader.fail("size_bytes", "size_bytes \(declaredSize) is not the sum of the files' sizes (\(sizeBytes))")
        }
        extra = try reader.unknownFields()
    }

    public func encode(to encoder: any Encoder) throws {
        var writer = FieldWriter(encoder)
        try writer.write("model_id", modelID)
        try writer.write("repo_id", repoID)
        try writer.write("repo_type", repoType)
        try writer.write("revision", revision)
        try writer.write("refs", refs)
        try writer.write("name", name)
        try writer.write("type", type)
        try writer.write("format", format)
        try writer.write("capabilities", capabilities)
        try writer.write("version", version)
        try writer.write("source", source)
        try writer.write("source_ref", sourceRef)
        try writer.write("size_bytes", sizeBytes)
        try writer.write("files", files)
        try writer.finish(extra: extra)
    }
}

extension RepositoryEntry {
    /// The repository as a model entry for filters such as the mesh's `MeshQuery` (name, id, source, type, format,
    /// capabilities; size the sum of its files). Never sent.
    public var summaryEntry: ModelEntry {
        ModelEntry(
            modelID: modelID, name: name, type: type, format: format, sizeBytes: sizeBytes,
            sha256: String(repeating: "0", count: 64), version: version, capabilities: capabilities, source: source,
            sourceRef: sourceRef)
    }
}
