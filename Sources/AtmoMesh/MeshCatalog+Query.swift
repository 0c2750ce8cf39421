import AtmoProtocol

/// A filter over the mesh's models. Every criterion set must hold; text terms match
/// case-insensitively as substrings of the name, the id or the `source_ref`, and all
/// whitespace-separated terms must match.
public struct MeshQuery: Sendable, Hashable {
    /// Free text, such as `qwen gguf` or `ultralytics/yolov8`; nil or blank for any.
    public var text: String?
    /// Model type (`vision`, `llm`, ...; compared case-insensitively); nil for any.
    public var type: String?
    /// File format (`gguf`, `pt`, ...; compared case-insensitively); nil for any.
    public var format: String?
    /// A capability the model must list (`chat`, `object_detection`, ...); nil for any.
    public var capability: String?

    /// A query; every criterion is optional.
    public init(text: String? = nil, type: String? = nil, format: String? = nil, capability: String? = nil) {
        self.text = text
        self.type = type
        self.format = format
        self.capability = capability
    }

    /// Whether `entry` satisfies every criterion.
    public func matches(_ entry: ModelEntry) -> Bool {
        if let type, entry.type.lowercased() != type.lowercased() { return false }
        if let format, entry.format.lowercased() != format.lowercased() { return false }
        if let capability {
            let wanted = capability.lowercased()
            guard entry.capabilities.contains(where: { $0.lowercased() == wanted }) else { return false }
        }
        let terms = (text ?? "").lowercased().split(whereSeparator: \.isWhitespace)
        guard !terms.isEmpty else { return true }
        let haystacks = [entry.name.lowercased(), entry.modelID.lowercased(), entry.sourceRef.lowercased()]
        return terms.allSatisfy { term in haystacks.contains { $0.contains(term) } }
    }
}

extension MeshCatalog {
    /// Every version of `modelID` in the mesh (one per `sha256`), sorted by hash.
    public func versions(of modelID: String) -> [MeshModel] {
        merged { $0.modelID == modelID }
    }

    /// The artefact `key` and its providers, if some node offers it.
    public func model(_ key: MeshModel.Key) -> MeshModel? {
        merged { $0.modelID == key.modelID && $0.sha256 == key.sha256 }.first
    }

    /// The models matching `query`, sorted by id then hash. A version matches when the
    /// entry of at least one of its providers matches; all of its providers are listed.
    public func search(_ query: MeshQuery) -> [MeshModel] {
        let keys = Set(merged(where: query.matches).map(\.key))
        guard !keys.isEmpty else { return [] }
        return merged { keys.contains(MeshModel.Key(modelID: $0.modelID, sha256: $0.sha256)) }
    }

    /// The models `nodeID` offers whole, sorted by id then hash (each with all its
    /// providers); what it is still pulling is not counted.
    public func models(offeredBy nodeID: String) -> [MeshModel] {
        guard let offer = offers[nodeID] else { return [] }
        let keys = Set(offer.entries.map { MeshModel.Key(modelID: $0.modelID, sha256: $0.sha256) })
        return merged { keys.contains(MeshModel.Key(modelID: $0.modelID, sha256: $0.sha256)) }
    }
}
