/// Bounds on everything read from the network. A peer that exceeds one is refused, never
/// trusted to allocate on our behalf.
public enum WireLimits {
    /// Longest accepted `model_id`.
    public static let maxModelIDLength = 200
    /// Largest JSON control message (a `model_catalog` is the largest kind).
    public static let maxMessageBytes = 8 * 1024 * 1024
    /// Most model entries in one catalog.
    public static let maxModelsPerCatalog = 10_000
    /// Most entries in one catalog's `partial_models` (the files a node is pulling at once);
    /// beyond it the extension is dropped, not the catalog.
    public static let maxPartialModelsPerCatalog = 256
    /// Most elements in a string array such as `classes` or `capabilities`.
    public static let maxArrayElements = 10_000
    /// Catalogs in one `GET`/`POST /v1/catalogs` body (the mesh view of one node).
    public static let maxCatalogsPerBundle = 4096
    /// Bytes of one `/v1/catalogs` body: a whole mesh's catalogs, so larger than one message.
    public static let maxCatalogBundleBytes = 64 * 1024 * 1024
    /// Largest byte count or offset read from the network (`size_bytes`, `total_bytes`,
    /// `resume_from_byte`...): 2^50 bytes, 1 PiB, more than any disk a node runs on holds.
    /// A larger value is refused when it is decoded (a lying or broken peer), so arithmetic
    /// on sizes (piece counts, `size + piece - 1`) cannot overflow an Int64.
    public static let maxFileSizeBytes: Int64 = 1 << 50
    /// Deepest nesting of arrays and objects in a message, counted from its top (a
    /// catalog's entry sits at level 3, or 5 inside a `/v1/catalogs` bundle). A value
    /// nested deeper is refused with the entry or catalog holding it, never the whole
    /// message (`JSONDepthGuard`).
    public static let maxJSONDepth = 64
    /// Longest model file `format` (a file extension such as `safetensors`).
    public static let maxFormatLength = 16
    /// Longest free-text string field (names, versions, refs).
    public static let maxStringLength = 4096
    /// Largest decoded `chunk_bytes` of a compatibility-mode (`compat`) WebSocket chunk.
    public static let maxChunkBytes = 64 * 1024
    /// Largest decoded `chunk_bytes` of any JSON chunk: the `fast_text` chunk size.
    public static let maxTextChunkBytes = 256 * 1024
    /// Largest data of a `fast_binary` chunk frame (`FastChunkFrame`).
    public static let maxBinaryChunkBytes = 4 * 1024 * 1024
    /// The protocol version this implementation speaks.
    public static let protocolVersion = "1.1"
    /// The version assumed for peers that send none.
    public static let legacyProtocolVersion = "1.0"
}
