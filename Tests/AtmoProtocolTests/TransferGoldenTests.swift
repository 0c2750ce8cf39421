import Foundation
import Testing

@testable import AtmoProtocol

/// `model_request`, `model_transfer_start`, `model_transfer_chunk` and `_chunk_ack`.
struct TransferGoldenTests {
    @Test func requestFromAnOlderNode() throws {
        let json = """
            {"type":"model_request","request_id":"\(Fixtures.requestID)","requester_node_id":"a1b2c3d4e5f60718",
             "target_node_id":"llamafarm-mac-12345","model_id":"yolov8n_20240208_143000","resume_from_byte":1048576,
             "transport":"websocket","priority":"high"}
            """
        let request = try Fixtures.decode(ModelRequest.self, json)
        #expect(request.protocolVersion == "1.0")
        #expect(request.requestID == Fixtures.requestID)
        #expect(request.requesterNodeID == "a1b2c3d4e5f60718")
        #expect(request.targetNodeID == "llamafarm-mac-12345")
        #expect(request.modelID == "yolov8n_20240208_143000")
        #expect(request.resumeFromByte == 1_048_576)
        #expect(request.transport == "websocket")
        #expect(request.extra == ["priority": .string("high")])

        var expected = try Fixtures.tree(json)
        if case .object(var fields) = expected {
            fields["protocol_version"] = .string("1.0")
            expected = .object(fields)
        }
        #expect(try Fixtures.tree(WireCoding.encode(request)) == expected)
    }

    @Test func requestBuiltInSwiftEncodesExactly() throws {
        let request = ModelRequest(
            requestID: Fixtures.requestID, requesterNodeID: "a1b2c3d4e5f60718", targetNodeID: "llamafarm-mac-12345",
            modelID: "yolov8n")
        let expected = """
            {"model_id":"yolov8n","protocol_version":"1.1","request_id":"\(Fixtures.requestID)",\
            "requester_node_id":"a1b2c3d4e5f60718","resume_from_byte":0,"target_node_id":"llamafarm-mac-12345",\
            "transport":"http","type":"model_request"}
            """
        #expect(try Fixtures.encodedText(request) == expected)
    }

    @Test func requestDefaults() throws {
        let request = try Fixtures.decode(ModelRequest.self, #"{"type":"model_request","request_id":"r","model_id":"m"}"#)
        #expect(request.resumeFromByte == 0)
        #expect(request.transport == "http")
        #expect(request.requesterNodeID == "")
    }

    @Test func transferStartFromAnOlderNode() throws {
        let json = """
            {"type":"model_transfer_start","request_id":"\(Fixtures.requestID)","model_id":"yolov8n",
             "total_bytes":6534387,"total_chunks":100,"chunk_size":65536,"sha256":"\(Fixtures.sha.uppercased())",
             "metadata":{"name":"YOLOv8n","type":"vision","format":"pt","classes":null,"input_size":640},
             "transfer_method":"websocket_chunked","compression":"none"}
            """
        let start = try Fixtures.decode(ModelTransferStart.self, json)
        #expect(start.protocolVersion == "1.0")
        #expect(start.requestID == Fixtures.requestID)
        #expect(start.modelID == "yolov8n")
        #expect(start.totalBytes == 6_534_387)
        #expect(start.totalChunks == 100)
        #expect(start.chunkSize == 65_536)
        #expect(start.sha256 == Fixtures.sha)
        #expect(start.metadata.name == "YOLOv8n")
        #expect(start.metadata.type == "vision")
        #expect(start.metadata.format == "pt")
        #expect(start.metadata.classes == nil)
        #expect(start.metadata.extra == ["input_size": .number(640)])
        #expect(start.transferMethod == "websocket_chunked")
        #expect(start.extra == ["compression": .string("none")])

        guard case .object(var fields) = try Fixtures.tree(json), case .object(var metadata) = fields["metadata"] else {
            Issue.record("fixture is not an object")
            return
        }
        fields["protocol_version"] = .string("1.0")
        fields["sha256"] = .string(Fixtures.sha)
        metadata["classes"] = nil
        fields["metadata"] = .object(metadata)
        #expect(try Fixtures.tree(WireCoding.encode(start)) == .object(fields))
    }

    @Test func transferStartBuiltInSwiftEncodesExactly() throws {
        let start = ModelTransferStart(
            requestID: "r1", modelID: "yolov8n", totalBytes: 131_073, sha256: Fixtures.sha,
            metadata: .init(name: "YOLOv8n", type: "vision", format: "pt", classes: ["cat"]))
        #expect(start.totalChunks == 3)
        let expected = """
            {"chunk_size":65536,"metadata":{"classes":["cat"],"format":"pt","name":"YOLOv8n","type":"vision"},\
            "model_id":"yolov8n","protocol_version":"1.1","request_id":"r1","sha256":"\(Fixtures.sha)",\
            "total_bytes":131073,"total_chunks":3,"transfer_method":"http_range","type":"model_transfer_start"}
            """
        #expect(try Fixtures.encodedText(start) == expected)
    }

    @Test func transferStartDerivesChunkCountAndDefaults() throws {
        let json = #"{"type":"model_transfer_start","request_id":"r","model_id":"m","total_bytes":65537,"sha256":"\#(Fixtures.sha)"}"#
        let start = try Fixtures.decode(ModelTransferStart.self, json)
        #expect(start.chunkSize == ModelTransferStart.defaultChunkSize)
        #expect(start.totalChunks == 2)
        #expect(start.transferMethod == "http_range")
        #expect(start.metadata == .init(name: "m", type: "unknown", format: "", classes: nil))
    }

    static let chunkCounts: [(Int64, Int64, Int64)] = [
        (0, 65_536, 0), (1, 65_536, 1), (65_536, 65_536, 1), (65_537, 65_536, 2), (10, 3, 4),
        (Int64.max, 65_536, Int64.max / 65_536 + 1), (Int64.max, 1, Int64.max), (100, 0, 0), (100, -5, 0), (-1, 10, 0),
    ]

    @Test(arguments: chunkCounts)
    func chunkCountIsCeilingWithoutOverflow(_ total: Int64, _ chunk: Int64, _ expected: Int64) {
        #expect(ModelTransferStart.chunkCount(totalBytes: total, chunkSize: chunk) == expected)
    }

    @Test func chunkFromAnOlderNode() throws {
        let bytes = Data((0..<200).map { UInt8($0) })
        let json = """
            {"type":"model_transfer_chunk","request_id":"\(Fixtures.requestID)","model_id":"yolov8n","chunk_index":7,
             "total_chunks":100,"chunk_bytes":"\(bytes.base64EncodedString())","chunk_sha256":"\(Fixtures.shaABC.uppercased())",
             "sent_at":1707400000999}
            """
        let chunk = try Fixtures.decode(ModelTransferChunk.self, json)
        #expect(chunk.protocolVersion == "1.0")
        #expect(chunk.requestID == Fixtures.requestID)
        #expect(chunk.modelID == "yolov8n")
        #expect(chunk.chunkIndex == 7)
        #expect(chunk.totalChunks == 100)
        #expect(chunk.chunkBytes == bytes)
        #expect(chunk.chunkSHA256 == Fixtures.shaABC)
        #expect(chunk.extra == ["sent_at": .number(1_707_400_000_999)])

        guard case .object(var fields) = try Fixtures.tree(json) else { return }
        fields["protocol_version"] = .string("1.0")
        fields["chunk_sha256"] = .string(Fixtures.shaABC)
        #expect(try Fixtures.tree(WireCoding.encode(chunk)) == .object(fields))
    }

    @Test func chunkOfExactly64KiBIsAccepted() throws {
        let bytes = Data(repeating: 0xAB, count: WireLimits.maxChunkBytes)
        let json = """
            {"type":"model_transfer_chunk","request_id":"r","model_id":"m","chunk_index":0,"total_chunks":1,
             "chunk_bytes":"\(bytes.base64EncodedString())"}
            """
        let chunk = try Fixtures.decode(ModelTransferChunk.self, json)
        #expect(chunk.chunkBytes == bytes)
        #expect(chunk.chunkSHA256 == nil)
    }

    @Test func chunkBuiltInSwiftEncodesExactly() throws {
        let chunk = ModelTransferChunk(
            requestID: "r1", modelID: "m", chunkIndex: 0, totalChunks: 1, chunkBytes: Data("hello".utf8), chunkSHA256: nil)
        let expected = """
            {"chunk_bytes":"aGVsbG8=","chunk_index":0,"model_id":"m","protocol_version":"1.1","request_id":"r1",\
            "total_chunks":1,"type":"model_transfer_chunk"}
            """
        #expect(try Fixtures.encodedText(chunk) == expected)
    }

    @Test func chunkAckRoundTrips() throws {
        let json = #"{"type":"model_transfer_chunk_ack","request_id":"r1","chunk_index":12,"status":"received","rtt_ms":4.5}"#
        let ack = try Fixtures.decode(ModelTransferChunkAck.self, json)
        #expect(ack.protocolVersion == "1.0")
        #expect(ack.requestID == "r1")
        #expect(ack.chunkIndex == 12)
        #expect(ack.status == "received")
        #expect(ack.extra == ["rtt_ms": .number(4.5)])
        guard case .object(var fields) = try Fixtures.tree(json) else { return }
        fields["protocol_version"] = .string("1.0")
        #expect(try Fixtures.tree(WireCoding.encode(ack)) == .object(fields))

        let built = ModelTransferChunkAck(requestID: "r1", chunkIndex: 3)
        let expected =
            #"{"chunk_index":3,"protocol_version":"1.1","request_id":"r1","status":"received","type":"model_transfer_chunk_ack"}"#
        #expect(try Fixtures.encodedText(built) == expected)
    }
}
