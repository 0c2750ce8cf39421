/// One file of a repository entry (`RepositoryEntry.files`): where it sits in the snapshot,
/// its size, its two hashes and the per-file `model_id` it is downloaded by.
///
/// Decoding is strict: a file that fails any check fails its whole repository entry (a
/// consumer installing a repository must get every file it names, or none). The `path` can
/// never leave the snapshot folder (`Validation.isValidRepositoryPath`), the `sha256` is
/// 64 hex, the `blob_id` 40 or 64 hex, and a 64-hex `blob_id` is the `sha256` itself.
public struct RepositoryFile: Sendable, Hashable, Codable {
    /// `path`: relative POSIX path inside the snapshot, e.g. `onnx/model.onnx`.
    public var path: String
    /// `size_bytes`: the file's size (0 through `WireLimits.maxFileSizeBytes`).
    public var sizeBytes: Int64
    /// `sha256`: lowercase hex SHA-256 of the file's bytes.
    public var sha256: String
    /// `blob_id`: the Hub's etag of the file and the name of its blob in a Hugging Face cache:
    /// the SHA-256 (64 hex) for an LFS file, the git blob id (40 hex, SHA-1 of
    /// `blob {size}\0` and the bytes) for the others. Lowercase.
    public var blobID: String
    /// `model_id`: the file's own id, by which it is downloaded (`/v1/models/download/{id}`,
    /// relay `model_request`) whether or not it is also listed in the catalog's `models`.
    public var modelID: String
    /// `piece_size` of the file's piece manifest, as on `ModelEntry`; nil when none is served.
    public var pieceSize: Int64?
    /// `pieces_sha256`, as on `ModelEntry`; set together with `pieceSize`.
    public var piecesSHA256: String?
    /// Fields this version does not know, kept for re-gossip.
    public var extra: [String: JSONValue]

    /// A file built in code; `sha256` and `blobID` should be lowercase hex.
    public init(
        path: String, sizeBytes: Int64, sha256: String, blobID: String, modelID: String, pieceSize: Int64? = nil,
        piecesSHA256: String? = nil, extra: [String: JSONValue] = [:]
    ) {
        self.path = path
        self.sizeBytes = sizeBytes
        self.sha256 = sha256
        self.blobID = blobID
        self.modelID = modelID
        self.pieceSize = pieceSize
        self.piecesSHA256 = piecesSHA256
        self.extra = extra
    }

    /// Whether `blob_id` is a git blob id (40 hex) rather than an LFS SHA-256.
    public var isGitBlob: Bool { blobID.utf8.count == 40 }

    /// The manifest this file names, when it names a valid one: piece size and digest.
    public var manifestReference: (pieceSize: Int64, sha256: String)? {
        guard let pieceSize, let piecesSHA256 else { return nil }
        return (pieceSize, piecesSHA256)
    }

    /// The file as a single-file model entry of its repository (what a download of its
    /// `model_id` delivers): format from its extension, the repository's source.
    public func modelEntry(in repository: RepositoryEntry) -> ModelEntry {
        let fileName = path.split(separator: "/").last ?? Substring(path)
        let parts = fileName.split(separator: ".", omittingEmptySubsequences: false)
        let ext = parts.count > 1 ? (parts.last ?? "").lowercased() : ""
        return ModelEntry(
            modelID: modelID, name: repository.repoID + "/" + path, type: "unknown",
            format: Validation.isValidFormat(ext) ? ext : "", sizeBytes: sizeBytes, sha256: sha256,
            version: repository.version, source: repository.source, sourceRef: repository.sourceRef,
            pieceSize: pieceSize, piecesSHA256: piecesSHA256)
    }

    public init(from decoder: any Decoder) throws {
        var reader = try FieldReader(decoder)
        path = try reader.string("path")
        guard Validation.isValidRepositoryPath(path) else {
            throw reader.fail(
                "path",
                "path must be a relative POSIX path of at most \(WireLimits.maxRepositoryPathBytes) bytes, "
                    + "without '.', '..' or empty segments, NUL, control characters or '\\'"
            )
        }
        sizeBytes = try reader.byteCount("size_bytes")
        sha256 = try reader.sha256("sha256")
        let blob = try reader.string("blob_id").lowercased()
        guard Validation.isValidBlobID(blob) else {
            throw reader.fail("blob_id", .invalidSHA256, "blob_id must be 40 (git blob) or 64 (SHA-256) hex characters")
        }
        guard blob.utf8.count == 40 || blob == sha256 else {
            throw reader.fail("blob_id", .invalidSHA256, "a 64-hex blob_id is the file's SHA-256 and must equal sha256")
        }
        blobID = blob
        modelID = try reader.modelID()
        let manifest = reader.optionalManifestReference()
        pieceSize = manifest?.pieceSize
        piecesSHA256 = manifest?.sha256
        extra = try reader.unknownFields()
    }

    public func encode(to encoder: any Encoder) throws {
        var writer = FieldWriter(encoder)
        try writer.write("path", path)
        try writer.write("size_bytes", sizeBytes)
        try writer.write("sha256", sha256)
        try writer.write("blob_id", blobID)
        try writer.write("model_id", modelID)
        try writer.writeManifestReference(pieceSize: pieceSize, sha256: piecesSHA256)
        try writer.finish(extra: extra)
    }
}
