import AtmoProtocol

/// Realistic catalogs for the gossip simulation: each node offers a few models drawn from
/// the kinds a LlamaFarm/Atmosphere mesh carries (a YOLO detector with its classes, GGUF
/// LLMs, an embedding model, a Whisper model, fine-tuned vision models), so the bytes the
/// simulation counts are those of real `model_catalog` messages.
package enum SimulatedCatalogs {
    /// A 64-hex-digit SHA-256 drawn from `random`.
    package static func randomSHA256(using random: inout SplitMix64) -> String {
        (0..<4).map { _ in
            let hex = String(random.next(), radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }

    /// A 16-hex-digit node id, like sha256(public key) prefixes in the wild.
    package static func nodeID(index: Int, using random: inout SplitMix64) -> String {
        let hex = String(random.next() ^ UInt64(index), radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// The shared models most nodes carry (same id and hash on every node offering them).
    package static func sharedModels(using random: inout SplitMix64) -> [ModelEntry] {
        let coco = ["person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
                    "traffic light", "fire hydrant", "stop sign", "bench", "bird", "cat", "dog", "horse", "sheep",
                    "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "bottle"]
        return [
            ModelEntry(
                modelID: "yolov8n", name: "YOLOv8 nano", type: "vision", format: "pt", sizeBytes: 6_534_387,
                sha256: randomSHA256(using: &random), version: "8.1.0", capabilities: ["object_detection"],
                classes: coco, classCount: Int64(coco.count), source: "huggingface", sourceRef: "ultralytics/yolov8n",
                metadata: ["input_size": .number(640), "task": .string("detect")]),
            ModelEntry(
                modelID: "unsloth--Qwen3-1.7B-GGUF--Qwen3-1.7B-Q4_K_M", name: "Qwen3 1.7B Q4_K_M", type: "llm",
                format: "gguf", sizeBytes: 1_107_409_472, sha256: randomSHA256(using: &random), version: "2025.04.29",
                capabilities: ["text_generation", "chat"], contextLength: 32_768, source: "huggingface",
                sourceRef: "unsloth/Qwen3-1.7B-GGUF", metadata: ["quantization": .string("Q4_K_M")]),
            ModelEntry(
                modelID: "sentence-transformers--all-MiniLM-L6-v2", name: "all-MiniLM-L6-v2", type: "embedding",
                format: "safetensors", sizeBytes: 90_868_376, sha256: randomSHA256(using: &random), version: "1.0",
                capabilities: ["embedding"], source: "huggingface", sourceRef: "sentence-transformers/all-MiniLM-L6-v2",
                metadata: ["dimensions": .number(384)]),
            ModelEntry(
                modelID: "openai--whisper-small", name: "Whisper small", type: "audio", format: "safetensors",
                sizeBytes: 967_102_601, sha256: randomSHA256(using: &random), version: "1.0",
                capabilities: ["speech_recognition"], source: "huggingface", sourceRef: "openai/whisper-small"),
        ]
    }

    /// A model fine-tuned on one node (unique id and hash).
    package static func trainedModel(node: Int, serial: Int, using random: inout SplitMix64) -> ModelEntry {
        let classes = ["helmet", "no_helmet", "vest", "no_vest", "forklift"]
        let stamp = "202503\(10 + serial % 18)_\(100_000 + (node * 7 + serial) % 900_000)"
        return ModelEntry(
            modelID: "ppe_detector_\(stamp)", name: "PPE detector (node \(node))", type: "vision", format: "pt",
            sizeBytes: 22_000_000 + Int64(random.index(below: 5_000_000)), sha256: randomSHA256(using: &random),
            version: "2025.03.\(10 + serial % 18).00\(serial % 10)", capabilities: ["object_detection"],
            baseModel: "yolov8s", classes: classes, classCount: Int64(classes.count), source: "llamafarm_training",
            sourceRef: "local", metadata: ["epochs": .number(50), "map50": .number(0.874)])
    }

    /// The 1 to 4 models of node `index`: some shared ones, sometimes one of its own.
    package static func models(
        node index: Int, shared: [ModelEntry], using random: inout SplitMix64
    ) -> [ModelEntry] {
        var models = shared.filter { _ in random.chance(0.4) }
        if models.isEmpty || random.chance(0.3) {
            models.append(trainedModel(node: index, serial: 0, using: &random))
        }
        return Array(models.prefix(4))
    }
}
