import AtmoProtocol
import AtmoRelayServer
import AtmoTesting
import Foundation
import Testing

/// RFC 6455 frame rules the relay enforces (issue 9, item 10), with raw frames over a raw socket.
@Suite struct RelayServerFrameTests {
    static let join = #"{"type":"join","node_id":"raw-node","name":"raw","capabilities":["participant"]}"#

    /// §5.1: a server must close the connection at an unmasked client frame (1002).
    @Test func anUnmaskedFirstFrameClosesWithProtocolError() async throws {
        try await withRelay { relay in
            let socket = try await RawWebSocket.connect(port: relay.port, path: "/relay/open-raw-mesh")
            defer { socket.close() }
            try await socket.send(text: Self.join, masked: false)
            let (frames, close) = try await socket.readUntilClosed()
            #expect(frames.isEmpty, "nothing answered to the unmasked frame: \(frames.map(\.text))")
            #expect(close?.closeCode == 1002)
            #expect(try await socket.nextFrame() == nil, "the relay closes the connection after its close frame")
        }
    }

    /// An admitted peer that sends one unmasked frame is closed too; the others hear it left.
    @Test func anUnmaskedFrameAfterJoiningClosesThatPeerOnly() async throws {
        try await withRelay { relay in
            let other = relay.connect("other", meshID: "open-raw-mesh")
            try await other.join(as: "other", token: nil)
            let socket = try await RawWebSocket.connect(port: relay.port, path: "/relay/open-raw-mesh")
            defer { socket.close() }
            try await socket.send(text: Self.join)  // masked: admitted
            let joined = try #require(try await socket.nextFrame())
            #expect(joined.text.contains(#""type":"joined""#))
            _ = try await other.nextMessage { $0.type == "peer_joined" }
            try await socket.send(text: #"{"type":"ping"}"#, masked: false)
            let (frames, close) = try await socket.readUntilClosed()
            #expect(close?.closeCode == 1002)
            #expect(!frames.contains { $0.text.contains(#""type":"pong""#) }, "the unmasked ping was not handled")
            #expect(try await other.nextMessage { $0.type == "peer_left" } == .peerLeft(RelayPeerLeft(nodeID: "raw-node")))
        }
    }

    /// §8.1: a text frame that is not valid UTF-8 fails the connection with 1007.
    @Test func invalidUTF8InATextFrameClosesWith1007() async throws {
        try await withRelay { relay in
            let socket = try await RawWebSocket.connect(port: relay.port, path: "/relay/open-raw-mesh")
            defer { socket.close() }
            try await socket.send(text: Self.join)
            _ = try await socket.nextFrame()  // joined
            let invalid = Array(#"{"type":"broadcast","payload":{"x":""#.utf8) + [0xC3, 0x28, 0xFF] + Array(#""}}"#.utf8)
            try await socket.send(opcode: 0x1, invalid)
            let (frames, close) = try await socket.readUntilClosed()
            #expect(close?.closeCode == 1007, "frames before the close: \(frames.map(\.text))")
            #expect(!frames.contains { $0.text.contains("INVALID_MESSAGE") }, "answered with a message instead of closing")
        }
    }
}
