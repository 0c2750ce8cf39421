import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

/// The node's own transfer socket (`/v1/transfers/ws`) keeps RFC 6455's frame rules as the
/// relay does: an unmasked client frame closes it with 1002, a text frame that is not UTF-8
/// with 1007.
struct TransferSocketFrameTests {
    static let request = #"{"type":"model_request","request_id":"r1","requester_node_id":"raw","target_node_id":"","model_id":"nothing","resume_from_byte":0,"transport":"websocket"}"#

    @Test func anUnmaskedFrameClosesWithProtocolError() async throws {
        try await withFixtureNode { node, _ in
            let socket = try await RawWebSocket.connect(port: node.port, path: HTTPAPI.transferSocketPath)
            defer { socket.close() }
            try await socket.send(text: Self.request, masked: false)
            let (frames, close) = try await socket.readUntilClosed()
            #expect(frames.isEmpty, "nothing answered to the unmasked frame: \(frames.map(\.text))")
            #expect(close?.closeCode == 1002)
        }
    }

    @Test func invalidUTF8InATextFrameClosesWith1007() async throws {
        try await withFixtureNode { node, _ in
            let socket = try await RawWebSocket.connect(port: node.port, path: HTTPAPI.transferSocketPath)
            defer { socket.close() }
            try await socket.send(opcode: 0x1, [0x7b, 0xff, 0xfe, 0x7d])
            let (_, close) = try await socket.readUntilClosed()
            #expect(close?.closeCode == 1007)
        }
    }
}
