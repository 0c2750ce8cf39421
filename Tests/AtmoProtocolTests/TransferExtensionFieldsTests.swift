import Foundation
import Testing

@testable import AtmoProtocol

/// The extension fields of `model_request`, `model_transfer_start` and
/// `model_transfer_chunk_ack` (docs/TRANSFERS.md): sent only when set, read tolerantly.
struct TransferExtensionFieldsTests {
    @Test func olderRequestHasNoExtensionFields() throws {
        let json = """
            {"type":"model_request","request_id":"\(Fixtures.requestID)","requester_node_id":"a","target_node_id":"b",
             "model_id":"yolov8n","resume_from_byte":0,"transport":"websocket"}
            """
        let request = try Fixtures.decode(ModelRequest.self, json)
        #expect(request.sha256 == nil)
        #expect(request.endByte == nil)
        #expect(request.transferModes == nil)
        #expect(request.maxChunkBytes == nil)
        #expect(request.knownTransferModes.isEmpty)
        let text = try Fixtures.encodedText(request)
        for field in ["sha256", "end_byte", "transfer_modes", "max_chunk_bytes"] { #expect(!text.contains(field)) }
    }

    @Test func requestWithExtensionsEncodesExactly() throws {
        let request = ModelRequest(
            requestID: Fixtures.requestID, requesterNodeID: "a1b2c3d4e5f60718", targetNodeID: "llamafarm-mac-12345", modelID: "yolov8n",
            resumeFromByte: 1_000_000, transport: .websocket, sha256: Fixtures.sha, endByte: 4_000_000,
            transferModes: [.fastBinary, .fastText, .compat], maxChunkBytes: 1_048_576)
        let expected = """
            {"end_byte":4000000,"max_chunk_bytes":1048576,"model_id":"yolov8n","protocol_version":"1.1",\
            "request_id":"\(Fixtures.requestID)","requester_node_id":"a1b2c3d4e5f60718","resume_from_byte":1000000,\
            "sha256":"\(Fixtures.sha)","target_node_id":"llamafarm-mac-12345","transfer_modes":["fast_binary","fast_text","compat"],\
            "transport":"websocket","type":"model_request"}
            """
        #expect(try Fixtures.encodedText(request) == expected)
        #expect(try Fixtures.decode(ModelRequest.self, expected) == request)
    }

    @Test func requestKeepsUnknownModesAndLowercasesTheHash() throws {
        let json = """
            {"type":"model_request","request_id":"r","model_id":"m","sha256":"\(Fixtures.sha.uppercased())",
             "transfer_modes":["quic_magic","fast_text",null,"compat"],"end_byte":null,"max_chunk_bytes":65536.0}
            """
        let request = try Fixtures.decode(ModelRequest.self, json)
        #expect(request.sha256 == Fixtures.sha)
        #expect(request.transferModes == ["quic_magic", "fast_text", "compat"])
        #expect(request.knownTransferModes == [.fastText, .compat])
        #expect(request.endByte == nil)
        #expect(request.maxChunkBytes == 65_536)
    }

    @Test(arguments: [
        (#""end_byte":-1"#, "end_byte"), (#""max_chunk_bytes":0"#, "max_chunk_bytes"), (#""transfer_modes":"fast_text""#, "transfer_modes"),
        (#""sha256":"abc""#, "sha256"), (#""end_byte":"10""#, "end_byte"),
    ])
    func requestRejectsInvalidExtensionFields(_ member: String, _ field: String) {
        let json = #"{"type":"model_request","request_id":"r","model_id":"m",\#(member)}"#
        let error = Fixtures.wireError(ModelRequest.self, json)
        #expect(error?.message.contains(field) == true, "\(String(describing: error))")
    }

    @Test func requestRejectsTooManyModes() {
        let modes = Array(repeating: "\"compat\"", count: TransferMode.maxListedModes + 1).joined(separator: ",")
        let json = #"{"type":"model_request","request_id":"r","model_id":"m","transfer_modes":[\#(modes)]}"#
        Fixtures.expectRejected(ModelRequest.self, json, code: .tooLarge, field: "transfer_modes")
    }

    @Test func olderStartMeansCompatFromTheResumePoint() throws {
        let json = """
            {"type":"model_transfer_start","request_id":"r","model_id":"m","total_bytes":131073,"chunk_size":65536,
             "sha256":"\(Fixtures.sha)","transfer_method":"websocket_chunked"}
            """
        let start = try Fixtures.decode(ModelTransferStart.self, json)
        #expect(start.transferMode == nil)
        #expect(start.mode == .compat)
        #expect(start.startByte == nil)
        #expect(start.endByte == nil)
        let text = try Fixtures.encodedText(start)
        for field in ["transfer_mode\"", "start_byte", "end_byte"] { #expect(!text.contains(field)) }
    }

    @Test func startWithExtensionsEncodesExactly() throws {
        let start = ModelTransferStart(
            requestID: "r1", modelID: "yolov8n", totalBytes: 5_000_000, chunkSize: 1_048_576, sha256: Fixtures.sha,
            metadata: .init(name: "YOLOv8n", type: "vision", format: "pt", classes: nil), transferMethod: "websocket_chunked",
            transferMode: .fastBinary, startByte: 1_048_576, endByte: 4_194_304)
        let expected = """
            {"chunk_size":1048576,"end_byte":4194304,"metadata":{"format":"pt","name":"YOLOv8n","type":"vision"},\
            "model_id":"yolov8n","protocol_version":"1.1","request_id":"r1","sha256":"\(Fixtures.sha)","start_byte":1048576,\
            "total_bytes":5000000,"total_chunks":5,"transfer_method":"websocket_chunked","transfer_mode":"fast_binary",\
            "type":"model_transfer_start"}
            """
        #expect(try Fixtures.encodedText(start) == expected)
        let decoded = try Fixtures.decode(ModelTransferStart.self, expected)
        #expect(decoded == start)
        #expect(decoded.mode == .fastBinary)
    }

    @Test func startWithAnUnknownModeDecodesButHasNoMode() throws {
        let json = """
            {"type":"model_transfer_start","request_id":"r","model_id":"m","total_bytes":10,"sha256":"\(Fixtures.sha)",
             "transfer_mode":"fast_quantum"}
            """
        let start = try Fixtures.decode(ModelTransferStart.self, json)
        #expect(start.transferMode == "fast_quantum")
        #expect(start.mode == nil)
    }

    @Test(arguments: [
        (#""start_byte":-1"#, "start_byte"), (#""end_byte":11"#, "end_byte"), (#""start_byte":11"#, "start_byte"),
        (#""start_byte":8,"end_byte":4"#, "end_byte"),
    ])
    func startRejectsRangesOutsideTheFile(_ members: String, _ field: String) {
        let json =
            #"{"type":"model_transfer_start","request_id":"r","model_id":"m","total_bytes":10,"sha256":"\#(Fixtures.sha)",\#(members)}"#
        Fixtures.expectRejected(ModelTransferStart.self, json, code: .invalidValue, field: field)
    }

    @Test func olderAckHasNoExtensionFields() throws {
        let json = #"{"type":"model_transfer_chunk_ack","request_id":"r","chunk_index":3,"status":"received"}"#
        let ack = try Fixtures.decode(ModelTransferChunkAck.self, json)
        #expect(ack.cumulative == nil)
        #expect(ack.receivedBytes == nil)
        let expected = #"{"chunk_index":3,"protocol_version":"1.0","request_id":"r","status":"received","type":"model_transfer_chunk_ack"}"#
        #expect(try Fixtures.encodedText(ack) == expected)
    }

    @Test func cumulativeAckEncodesExactly() throws {
        let ack = ModelTransferChunkAck(requestID: "r", chunkIndex: 7, cumulative: true, receivedBytes: 2_097_152)
        let expected = """
            {"chunk_index":7,"cumulative":true,"protocol_version":"1.1","received_bytes":2097152,"request_id":"r",\
            "status":"received","type":"model_transfer_chunk_ack"}
            """
        #expect(try Fixtures.encodedText(ack) == expected)
        #expect(try Fixtures.decode(ModelTransferChunkAck.self, expected) == ack)
        guard case .chunkAck(let dispatched) = try WireCoding.decodeMessage(Fixtures.data(expected)) else {
            Issue.record("not dispatched as a chunk ack")
            return
        }
        #expect(dispatched.cumulative == true)
    }

    @Test(arguments: [(#""cumulative":"yes""#, "cumulative"), (#""received_bytes":-5"#, "received_bytes")])
    func ackRejectsInvalidExtensionFields(_ member: String, _ field: String) {
        let json = #"{"type":"model_transfer_chunk_ack","request_id":"r","chunk_index":0,\#(member)}"#
        Fixtures.expectRejected(ModelTransferChunkAck.self, json, code: .invalidValue, field: field)
    }

    @Test func fastTextChunkOf256KiBIsAcceptedAndOneMoreByteIsNot() throws {
        let full = Data(repeating: 0x5A, count: WireLimits.maxTextChunkBytes)
        let chunk = try Fixtures.decode(ModelTransferChunk.self, StrictnessTests.chunkJSON(full.base64EncodedString()))
        #expect(chunk.chunkBytes == full)
        let over = Data(repeating: 0x5A, count: WireLimits.maxTextChunkBytes + 1)
        Fixtures.expectRejected(
            ModelTransferChunk.self, StrictnessTests.chunkJSON(over.base64EncodedString()), code: .tooLarge, field: "chunk_bytes")
    }

    @Test func protocolErrorIsANewCancelReason() throws {
        let cancel = ModelTransferCancel(
            requestID: "r", modelID: "m", reason: .protocolError, message: "chunk 9 is outside", cancelledBy: "n")
        #expect(try Fixtures.encodedText(cancel).contains(#""reason":"protocol_error""#))
    }
}
