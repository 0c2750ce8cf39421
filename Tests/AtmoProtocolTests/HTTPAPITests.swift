import Testing

@testable import AtmoProtocol

/// `ByteRangeHeaders`: building and parsing `Content-Range`.
struct ByteRangeHeadersTests {
    @Test func contentRange() {
        #expect(ByteRangeHeaders.contentRange(offset: 0, length: 100, size: 1000) == "bytes 0-99/1000")
        #expect(ByteRangeHeaders.contentRange(offset: 999, length: 1, size: 1000) == "bytes 999-999/1000")
        #expect(ByteRangeHeaders.contentRange(offset: 500, length: 500, size: 1000) == "bytes 500-999/1000")
    }

    @Test func unsatisfiable() {
        #expect(ByteRangeHeaders.unsatisfiable(size: 1000) == "bytes */1000")
        #expect(ByteRangeHeaders.unsatisfiable(size: 0) == "bytes */0")
    }

    /// What `select` chooses and what `contentRange` writes must parse back to the same bytes.
    @Test(arguments: ["bytes=0-99", "bytes=100-", "bytes=-500", "bytes=-5000", "bytes=500-5000", "bytes=999-"])
    func selectionAndHeaderAgree(_ range: String) throws {
        guard case .partial(let offset, let length) = ByteRangeSelection.select(range: range, size: 1000) else {
            Issue.record("expected a partial selection")
            return
        }
        let header = ByteRangeHeaders.contentRange(offset: offset, length: length, size: 1000)
        let parsed = try #require(ByteRangeHeaders.parseContentRange(header))
        #expect(parsed.first == offset)
        #expect(parsed.last == offset + length - 1)
        #expect(parsed.size == 1000)
    }

    struct Parsed: Sendable, Equatable, CustomTestStringConvertible {
        var header: String
        var first: Int64
        var last: Int64
        var size: Int64
        init(_ header: String, _ first: Int64, _ last: Int64, _ size: Int64) {
            self.header = header
            self.first = first
            self.last = last
            self.size = size
        }
        var testDescription: String { header }
    }

    @Test(arguments: [
        Parsed("bytes 0-99/1000", 0, 99, 1000),
        Parsed("bytes 999-999/1000", 999, 999, 1000),
        Parsed("bytes 0-0/1", 0, 0, 1),
        Parsed("Bytes 5-9/10", 5, 9, 10),
        Parsed("  bytes 1-2/3  ", 1, 2, 3),
        Parsed("bytes 0-999999999999999998/999999999999999999", 0, 999_999_999_999_999_998, 999_999_999_999_999_999),
    ])
    func parsesValidContentRange(_ test: Parsed) throws {
        let parsed = try #require(ByteRangeHeaders.parseContentRange(test.header))
        #expect(parsed.first == test.first)
        #expect(parsed.last == test.last)
        #expect(parsed.size == test.size)
    }

    @Test(arguments: [
        // last >= size, last < first
        "bytes 0-1000/1000", "bytes 5-5/5", "bytes 10-5/100", "bytes 0-0/0",
        // unknown size, unsatisfied form, other units, syntax
        "bytes 0-99/*", "bytes */1000", "items 0-99/1000", "bytes=0-99/1000", "bytes0-99/1000", "0-99/1000",
        "bytes 0-99", "bytes 0-/1000", "bytes -99/1000", "bytes 0 - 99/1000", "bytes 0-99 /1000", "bytes  0-99/1000",
        "bytes -1-99/1000", "bytes /0-99/1000", "bytes 0-99//1000", "bytes 0--99/1000", "bytes 0-99/1000/1", "bytes a-b/c",
        "bytes 0-99/99999999999999999999", "", "bytes ",
        "bytes 0x0-0x9/100", "bytes +0-9/100",
    ])
    func rejectsMalformedContentRange(_ header: String) {
        #expect(ByteRangeHeaders.parseContentRange(header) == nil)
    }
}

/// The JSON bodies of the provider's HTTP API.
struct HTTPAPIBodyTests {
    @Test func healthOfAnOlderNode() throws {
        let health = try Fixtures.decode(HTTPAPI.Health.self, #"{"status":"ok","models_available":3,"http_port":14345,"uptime":12.5}"#)
        #expect(health.status == "ok")
        #expect(health.modelsAvailable == 3)
        #expect(health.httpPort == 14345)
        #expect(health.nodeID == "")
        #expect(health.protocolVersion == "1.0")
        #expect(health.activeTransfers == 0)
        #expect(health.modelsHashing == 0)
    }

    @Test func healthEncodesExactly() throws {
        let health = HTTPAPI.Health(
            modelsAvailable: 2, httpPort: HTTPAPI.defaultPort, nodeID: "n1", nodeName: "pi", activeTransfers: 1, modelsHashing: 0)
        let expected = """
            {"active_transfers":1,"http_port":14750,"models_available":2,"models_hashing":0,"node_id":"n1","node_name":"pi",\
            "protocol_version":"1.1","status":"ok"}
            """
        #expect(try Fixtures.encodedText(health) == expected)
        #expect(HTTPAPI.defaultPort != 14345)
    }

    @Test func modelListAndErrorBody() throws {
        let list = try Fixtures.decode(HTTPAPI.ModelList.self, #"{"models":[\#(Fixtures.entryJSON())]}"#)
        #expect(list.models.map(\.modelID) == ["yolov8n"])
        // A refused entry is left out with its reason (CatalogBundleTests has more).
        let lossy = try Fixtures.decode(HTTPAPI.ModelList.self, #"{"models":[{"model_id":"../x"}]}"#)
        #expect(lossy.models.isEmpty)
        #expect(lossy.rejected.first?.code == .invalidModelID)
        #expect(lossy.rejected.first?.message.hasPrefix("models[0].model_id") == true, "\(lossy.rejected)")
        #expect(try Fixtures.encodedText(HTTPAPI.ErrorBody(error: "Model not found")) == #"{"error":"Model not found"}"#)
    }

    @Test func paths() {
        #expect(HTTPAPI.healthPath == "/health")
        #expect(HTTPAPI.modelsPath == "/v1/models")
        #expect(HTTPAPI.downloadPrefix == "/v1/models/download/")
    }
}
