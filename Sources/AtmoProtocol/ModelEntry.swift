/// One model file offered by a node: an entry of a `model_catalog` and of `GET /v1/models`.
///
/// Decoding is tolerant where peers vary (JSON null for `classes`, `class_count` <= 0,
/// missing optional fields, unknown `type`/`format` values) and strict where safety needs
/// it (`model_id` charset, `sha256` form, a size from 0 to `WireLimits.maxFileSizeBytes`). Fields this version does not
/// know are kept in `extra` and written back out unchanged.
public struct ModelEntry: Sendable, Hashable, Codable {
    /// `model_id`, checked by `Validation.isValidModelID`.
    public var modelID: String
    /// Human-readable name.
    public var name: String
    /// `vision`, `llm`, `audio`, `embedding`; any other value is kept as sent (see `kind`).
    public var type: String
    /// `pt`, `gguf`, `tflite`, `onnx`, `safetensors`, `bin`, ... lowercased.
    public var format: String
    /// `size_bytes`: the whole file's size (decoded: 0 through `WireLimits.maxFileSizeBytes`).
    public var sizeBytes: Int64
    /// Lowercase hex SHA-256 of the whole file.
    public var sha256: String
    /// Semver or dated version, e.g. `2024.02.08.001`.
    public var version: String
    /// e.g. `object_detection`, `text_generation`, `chat`.
    public var capabilities: [String]
    /// `base_model`, when fine-tuned from one.
    public var baseModel: String?
    /// Class names (vision); nil when absent or JSON null.
    public var classes: [String]?
    /// Nil when unknown (peers send values <= 0 for that).
    public var classCount: Int64?
    /// `context_length` (llm); nil when unknown.
    public var contextLength: Int64?
    /// `huggingface`, `llamafarm_training`, `imported`.
    public var source: String
    /// `source_ref`, e.g. `ultralytics/yolov8n` or `local`.
    public var sourceRef: String
    /// Free-form `metadata` (numbers, strings, nested objects).
    public var metadata: [String: JSONValue]
    /// **Extension** `piece_size`: the piece size of the file's manifest (`PieceManifest`);
    /// nil when the provider serves none. Set together with `piecesSHA256`.
    public var pieceSize: Int64?
    /// **Extension** `pieces_sha256`: SHA-256 of the manifest's bytes (the concatenated
    /// piece digests served at `GET /v1/pieces/{sha256}`).
    public var piecesSHA256: String?
    /// Fields this version does not know, kept for re-gossip.
    public var extra: [String: JSONValue]

    /// An entry built in code; `sha256` should be lowercase hex and `format` a valid extension.
    public init(
        modelID: String, name: String, type: String, format: String, sizeBytes: Int64, sha256: String,
        version: String = "", capabilities: [String] = [], baseModel: String? = nil, classes: [String]? = nil,
        classCount: Int64? = nil, contextLength: Int64? = nil, source: String = "imported", sourceRef: String = "local",
        metadata: [String: JSONValue] = [:], pieceSize: Int64? = nil, piecesSHA256: String? = nil, extra: [String: JSONValue] = [:]
    ) {
        self.modelID = modelID
        self.name = name
        self.type = type
        self.format = format
        self.sizeBytes = sizeBytes
        self.sha256 = sha256
        self.version = version
        self.capabilities = capabilities
        self.baseModel = baseModel
        self.classes = classes
        self.classCount = classCount
        self.contextLength = contextLength
        self.source = source
        self.sourceRef = sourceRef
        self.metadata = metadata
        self.pieceSize = pieceSize
        self.piecesSHA256 = piecesSHA256
        self.extra = extra
    }

    /// The manifest this entry names, when it names a valid one: piece size and digest.
    public var manifestReference: (pieceSize: Int64, sha256: String)? {
        guard let pieceSize, let piecesSHA256 else { return nil }
        return (pieceSize, piecesSHA256)
    }

    /// The model type as a closed set; values this version does not know read as `.unknown`.
    public var kind: ModelKind { ModelKind(rawValue: type) ?? .unknown }

    /// The file name a download of this entry gets: `{model_id}.{format}`, or just the id
    /// when it already ends with that extension or the format is empty. A format that is not
    /// a valid extension (see `Validation.isValidFormat`) is never appended, so the name
    /// stays a single path component whatever an entry built in code holds.
    public var fileName: String {
        let ext = format.lowercased()
        guard !ext.isEmpty, Validation.isValidFormat(ext), !modelID.lowercased().hasSuffix("." + ext) else { return modelID }
        return "\(modelID).\(ext)"
    }

    public init(from decoder: any Decoder) throws {
        var reader = try FieldReader(decoder)
        modelID = try reader.modelID()
        name = try reader.optionalString("name") ?? modelID
        type = (try reader.optionalString("type") ?? "unknown").lowercased()
        format = try reader.format()
        sizeBytes = try reader.byteCount("size_bytes")
        sha256 = try reader.sha256("sha256")
        version = try reader.optionalString("version") ?? ""
        capabilities = try reader.optionalStringArray("capabilities") ?? []
        baseModel = try reader.optionalString("base_model")
        classes = try reader.optionalStringArray("classes")
        classCount = try reader.optionalInt("class_count").flatMap { $0 > 0 ? $0 : nil }
        contextLength = try reader.optionalInt("context_length").flatMap { $0 > 0 ? $0 : nil }
        source = try reader.optionalString("source") ?? "imported"
        sourceRef = try reader.optionalString("source_ref") ?? ""
        metadata = try reader.object("metadata") ?? [:]
        let manifest = reader.optionalManifestReference()
        pieceSize = manifest?.pieceSize
        piecesSHA256 = manifest?.sha256
        extra = try reader.unknownFields()
    }

    public func encode(to encoder: any Encoder) throws {
        var writer = FieldWriter(encoder)
        try writer.write("model_id", modelID)
        try writer.write("name", name)
        try writer.write("type", type)
        try writer.write("format", format)
        try writer.write("size_bytes", sizeBytes)
        try writer.write("sha256", sha256)
        try writer.write("version", version)
        try writer.write("capabilities", capabilities)
        try writer.write("base_model", baseModel)
        try writer.write("classes", classes)
        try writer.write("class_count", classCount)
        try writer.write("context_length", contextLength)
        try writer.write("source", source)
        try writer.write("source_ref", sourceRef)
        try writer.write("metadata", metadata)
        try writer.writeManifestReference(pieceSize: pieceSize, sha256: piecesSHA256)
        try writer.finish(extra: extra)
    }
}

/// The model types the mesh knows.
public enum ModelKind: String, Sendable, Hashable, CaseIterable {
    case vision, llm, audio, embedding, unknown
}
