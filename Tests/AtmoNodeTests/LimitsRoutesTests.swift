import AsyncHTTPClient
import AtmoProtocol
import AtmoTesting
import Foundation
import NIOCore
import Testing

@testable import AtmoNode

/// `GET`/`PUT /v1/limits` on a running node: the limits read, replaced at runtime, bad bodies refused.
struct LimitsRoutesTests {
    /// `GET url`, or `PUT url` with `body`; the status and the answer as text.
    func call(_ url: String, put body: String? = nil) async throws -> (UInt, String) {
        try await HTTPClient.withHTTPClient { http in
            var request = HTTPClientRequest(url: url)
            if let body {
                request.method = .PUT
                request.body = .bytes(ByteBuffer(string: body))
            }
            let response = try await http.execute(request, timeout: .seconds(10))
            let bytes = try await response.body.collect(upTo: 1 << 20)
            return (response.status.code, String(buffer: bytes))
        }
    }

    @Test func limitsAreReadAndReplacedAtRuntime() async throws {
        try await withTemporaryDirectory(prefix: "atmo-limits") { folder in
            try await withMeshNode(
                stateDirectory: folder.path + "/state", folders: [],
                configure: { $0.bandwidth.up = ByteRate(bytesPerSecond: 1_000_000) }
            ) { running in
                let url = running.baseURL + BandwidthLimits.apiPath
                let (status, body) = try await call(url)
                #expect(status == 200)
                let read = try JSONDecoder().decode(BandwidthStatus.self, from: Data(body.utf8))
                #expect(read.limits.up.bytesPerSecond == 1_000_000)

                let (put, answer) = try await call(url, put: #"{"down": "5Mbps", "size_class_policy": "seed"}"#)
                #expect(put == 200, "\(answer)")
                let limits = running.node.shaper.limits
                #expect(limits.down.bytesPerSecond == 625_000)
                #expect(limits.up.isUnlimited, "PUT replaces the whole object")
                #expect(limits.sizeClassPolicy == .seed)
            }
        }
    }

    @Test(arguments: [#"{"up": "fast"}"#, #"{"size_class_policy": "huge"}"#, "not json", #"{"per_peer": {"down": -3}}"#])
    func badBodiesAreRefusedAndChangeNothing(_ body: String) async throws {
        try await withTemporaryDirectory(prefix: "atmo-limits") { folder in
            try await withMeshNode(
                stateDirectory: folder.path + "/state", folders: [],
                configure: { $0.bandwidth.up = ByteRate(bytesPerSecond: 1_000_000) }
            ) { running in
                let (status, answer) = try await call(running.baseURL + BandwidthLimits.apiPath, put: body)
                #expect(status == 400, "\(answer)")
                #expect(answer.contains("\"error\""), "\(answer)")
                #expect(running.node.shaper.limits.up.bytesPerSecond == 1_000_000)
            }
        }
    }
}
