import Foundation
import Testing

@testable import AtmoProtocol

/// `model_transfer_complete`, `model_transfer_cancel` and `model_transfer_progress`.
struct OutcomeGoldenTests {
    /// Adds `protocol_version: "1.0"` to a JSON object, as re-encoding an older message does.
    static func withLegacyVersion(_ json: String) throws -> JSONValue {
        guard case .object(var fields) = try Fixtures.tree(json) else { return .null }
        fields["protocol_version"] = .string("1.0")
        return .object(fields)
    }

    @Test func completeFromAnOlderNode() throws {
        let json = """
            {"type":"model_transfer_complete","request_id":"\(Fixtures.requestID)","model_id":"yolov8n",
             "total_bytes_received":6534387,"sha256_computed":"\(Fixtures.sha)","sha256_expected":"\(Fixtures.sha)",
             "verification_status":"success","storage_path":"yolov8n.pt","duration_ms":5123}
            """
        let complete = try Fixtures.decode(ModelTransferComplete.self, json)
        #expect(complete.protocolVersion == "1.0")
        #expect(complete.requestID == Fixtures.requestID)
        #expect(complete.modelID == "yolov8n")
        #expect(complete.totalBytesReceived == 6_534_387)
        #expect(complete.sha256Computed == Fixtures.sha)
        #expect(complete.sha256Expected == Fixtures.sha)
        #expect(complete.verificationStatus == "success")
        #expect(complete.storagePath == "yolov8n.pt")
        #expect(complete.extra == ["duration_ms": .number(5123)])
        #expect(try Fixtures.tree(WireCoding.encode(complete)) == Self.withLegacyVersion(json))
    }

    @Test func completeBuiltInSwiftEncodesExactly() throws {
        let complete = ModelTransferComplete(
            requestID: "r1", modelID: "m", totalBytesReceived: 10, sha256Computed: Fixtures.shaABC,
            sha256Expected: Fixtures.sha, verificationStatus: "failed", storagePath: "m.pt")
        let expected = """
            {"model_id":"m","protocol_version":"1.1","request_id":"r1","sha256_computed":"\(Fixtures.shaABC)",\
            "sha256_expected":"\(Fixtures.sha)","storage_path":"m.pt","total_bytes_received":10,\
            "type":"model_transfer_complete","verification_status":"failed"}
            """
        #expect(try Fixtures.encodedText(complete) == expected)
    }

    @Test(arguments: ["hash_mismatch", "timeout", "network_error", "user_cancelled", "storage_full", "disk_on_fire"])
    func cancelWithEveryReason(_ reason: String) throws {
        let json = """
            {"type":"model_transfer_cancel","request_id":"r1","model_id":"yolov8n","reason":"\(reason)",
             "message":"stopped","cancelled_by":"llamafarm-mac-12345","retry_after":30}
            """
        let cancel = try Fixtures.decode(ModelTransferCancel.self, json)
        #expect(cancel.protocolVersion == "1.0")
        #expect(cancel.requestID == "r1")
        #expect(cancel.modelID == "yolov8n")
        #expect(cancel.reason == CancelReason(reason))
        #expect(cancel.reason.description == reason)
        #expect(cancel.message == "stopped")
        #expect(cancel.cancelledBy == "llamafarm-mac-12345")
        #expect(cancel.extra == ["retry_after": .number(30)])
        #expect(try Fixtures.tree(WireCoding.encode(cancel)) == Self.withLegacyVersion(json))
    }

    @Test func cancelReasonConstantsMatchTheWire() {
        #expect(CancelReason.hashMismatch.rawValue == "hash_mismatch")
        #expect(CancelReason.timeout.rawValue == "timeout")
        #expect(CancelReason.networkError.rawValue == "network_error")
        #expect(CancelReason.userCancelled.rawValue == "user_cancelled")
        #expect(CancelReason.storageFull.rawValue == "storage_full")
    }

    @Test func cancelBuiltInSwiftEncodesExactly() throws {
        let cancel = ModelTransferCancel(
            requestID: "r1", modelID: "m", reason: .hashMismatch, message: "sha256 differs", cancelledBy: "n1")
        let expected = """
            {"cancelled_by":"n1","message":"sha256 differs","model_id":"m","protocol_version":"1.1","reason":"hash_mismatch",\
            "request_id":"r1","type":"model_transfer_cancel"}
            """
        #expect(try Fixtures.encodedText(cancel) == expected)
    }

    @Test func progressFromAnOlderNode() throws {
        let json = """
            {"type":"model_transfer_progress","request_id":"r1","model_id":"yolov8n","bytes_downloaded":3267193,
             "total_bytes":6534387,"progress_percent":50.25,"transfer_rate_mbps":12.5,"eta_seconds":2,
             "chunks_received":50,"total_chunks":100,"peer":"llamafarm-mac-12345"}
            """
        let progress = try Fixtures.decode(ModelTransferProgress.self, json)
        #expect(progress.protocolVersion == "1.0")
        #expect(progress.requestID == "r1")
        #expect(progress.modelID == "yolov8n")
        #expect(progress.bytesDownloaded == 3_267_193)
        #expect(progress.totalBytes == 6_534_387)
        #expect(progress.progressPercent == 50.25)
        #expect(progress.transferRateMbps == 12.5)
        #expect(progress.etaSeconds == 2)
        #expect(progress.chunksReceived == 50)
        #expect(progress.totalChunks == 100)
        #expect(progress.extra == ["peer": .string("llamafarm-mac-12345")])
        #expect(try Fixtures.tree(WireCoding.encode(progress)) == Self.withLegacyVersion(json))
    }

    @Test func progressBuiltInSwiftEncodesExactly() throws {
        let progress = ModelTransferProgress(
            requestID: "r1", modelID: "m", bytesDownloaded: 1, totalBytes: 3, transferRateMbps: 1.23456,
            etaSeconds: 7.6, chunksReceived: 1, totalChunks: 3)
        let expected = """
            {"bytes_downloaded":1,"chunks_received":1,"eta_seconds":8,"model_id":"m","progress_percent":33.33,\
            "protocol_version":"1.1","request_id":"r1","total_bytes":3,"total_chunks":3,"transfer_rate_mbps":1.23,\
            "type":"model_transfer_progress"}
            """
        #expect(try Fixtures.encodedText(progress) == expected)
    }

    @Test func progressWithoutEtaOmitsIt() throws {
        let progress = ModelTransferProgress(
            requestID: "r1", modelID: "m", bytesDownloaded: 0, totalBytes: 10, transferRateMbps: 0, etaSeconds: nil,
            chunksReceived: 0, totalChunks: 1)
        #expect(!(try Fixtures.encodedText(progress)).contains("eta_seconds"))
        let decoded = try WireCoding.decode(ModelTransferProgress.self, from: WireCoding.encode(progress))
        #expect(decoded.etaSeconds == nil)
        #expect(decoded.progressPercent == 0)
    }
}

/// `ModelTransferProgress.progressPercent` stays within 0...100 whatever the counts.
struct ProgressTests {
    static func progress(_ done: Int64, of total: Int64) -> ModelTransferProgress {
        ModelTransferProgress(
            requestID: "r", modelID: "m", bytesDownloaded: done, totalBytes: total, transferRateMbps: 0, etaSeconds: nil,
            chunksReceived: 0, totalChunks: 0)
    }

    static let cases: [(Int64, Int64, Double)] = [
        (0, 100, 0), (50, 100, 50), (100, 100, 100), (1, 3, 100.0 / 3), (150, 100, 100), (Int64.max, 1, 100),
        (-5, 100, 0), (0, 0, 100), (10, 0, 100), (5, -1, 100), (Int64.max - 1, Int64.max, 100),
    ]

    @Test(arguments: cases)
    func percentIsBounded(_ done: Int64, _ total: Int64, _ expected: Double) {
        let percent = Self.progress(done, of: total).progressPercent
        #expect(abs(percent - expected) < 1e-9)
        #expect(percent >= 0 && percent <= 100)
        #expect(ModelTransferProgress.percent(bytesDownloaded: done, totalBytes: total) == percent)
    }

    @Test(arguments: ["150", "100.0001", "1e308", "-3", "0", "99.5"])
    func decodedPercentIsClamped(_ value: String) throws {
        let json =
            #"{"type":"model_transfer_progress","request_id":"r","model_id":"m","bytes_downloaded":1,"total_bytes":2,"progress_percent":\#(value)}"#
        let progress = try Fixtures.decode(ModelTransferProgress.self, json)
        #expect(progress.progressPercent >= 0 && progress.progressPercent <= 100)
        let raw = Double(value)!
        if raw >= 0 && raw <= 100 { #expect(progress.progressPercent == raw) }
    }

    @Test func percentOfAnEmptyTransferEncodesAs100() throws {
        let text = try Fixtures.encodedText(Self.progress(0, of: 0))
        #expect(text.contains(#""progress_percent":100"#))
    }

    @Test(arguments: ["-1", "1.5", "\"many\""])
    func countsMustBeNonNegativeIntegers(_ value: String) {
        let json = #"{"type":"model_transfer_progress","request_id":"r","model_id":"m","bytes_downloaded":\#(value),"total_bytes":2}"#
        Fixtures.expectRejected(ModelTransferProgress.self, json, code: .invalidValue, field: "bytes_downloaded")
    }
}
