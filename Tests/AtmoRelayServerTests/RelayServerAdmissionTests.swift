import AtmoProtocol
import AtmoRelayServer
import AtmoStore
import Foundation
import Testing

/// Registration and admission over real sockets, with real Ed25519 keys.
@Suite struct RelayServerAdmissionTests {
    @Test func founderRegistersAndIsAdmitted() async throws {
        let keys = MeshKeys.generate()
        try await withRelay { relay in
            let founder = relay.connect("founder", meshID: keys.meshID)
            try founder.send(Wire.register(keys))
            #expect(try await founder.nextMessage() == .meshRegistered(RelayMeshRegistered(success: true)))
            guard case .joined(let joined) = try await founder.nextMessage() else {
                Issue.record("no joined")
                return
            }
            #expect(joined.meshID == keys.meshID)
            #expect(joined.nodeCount == 1)
            #expect(joined.features == ["binary_direct"])
            #expect(try await founder.nextMessage() == .peers(RelayPeers(peers: [])))
            #expect(relay.server.statistics.registeredMeshes == 1)
        }
    }

    @Test func memberJoinsWithAnIssuedToken() async throws {
        let keys = MeshKeys.generate()
        try await withRelay { relay in
            let founder = relay.connect("founder", meshID: keys.meshID)
            try await founder.registerAsFounder(keys)
            let alice = relay.connect("alice", meshID: keys.meshID)
            try alice.send(Wire.join("alice", token: try Wire.token(keys, for: "alice")))
            guard case .joined(let joined) = try await alice.nextMessage(), case .peers(let peers) = try await alice.nextMessage()
            else {
                Issue.record("alice was not admitted")
                return
            }
            #expect(joined.nodeCount == 2)
            #expect(peers.peers.map(\.nodeID) == ["founder"])
            #expect(peers.peers.first?.isFounder == true)
            #expect(peers.peers.first?.joinedAtSeconds != nil)
            guard case .peerJoined(let announcement) = try await founder.nextMessage() else {
                Issue.record("the founder was not told")
                return
            }
            #expect(announcement.peer.nodeID == "alice")
            #expect(announcement.peer.isFounder == false)
        }
    }

    @Test func joinWithoutATokenIsRefusedAndClosed() async throws {
        let keys = MeshKeys.generate()
        try await withRelay { relay in
            try await relay.connect("founder", meshID: keys.meshID).registerAsFounder(keys)
            let stranger = relay.connect("stranger", meshID: keys.meshID)
            try stranger.send(Wire.join("stranger"))
            #expect(try await stranger.nextError().code == "TOKEN_REQUIRED")
            #expect(try await stranger.closeCode() == 1008)
        }
    }

    @Test func expiredTokenIsInvalid() async throws {
        let keys = MeshKeys.generate()
        try await withRelay { relay in
            try await relay.connect("founder", meshID: keys.meshID).registerAsFounder(keys)
            let late = relay.connect("late", meshID: keys.meshID)
            try late.send(Wire.join("late", token: try Wire.token(keys, for: "late", issuedSecondsAgo: 7_200, lifetime: 3_600)))
            let error = try await late.nextError()
            #expect(error.code == "TOKEN_INVALID")
            #expect(error.message.contains("expired"))
            #expect(try await late.closeCode() == 1008)
        }
    }

    /// Defect of the older relay: a token's mesh was not compared with the URL's.
    @Test func tokenOfAnotherMeshIsInvalid() async throws {
        let keys = MeshKeys.generate()
        let otherMesh = MeshKeys.generate()
        try await withRelay { relay in
            try await relay.connect("founder", meshID: keys.meshID).registerAsFounder(keys)
            try await relay.connect("other founder", meshID: otherMesh.meshID).registerAsFounder(otherMesh)
            let intruder = relay.connect("intruder", meshID: keys.meshID)
            try intruder.send(Wire.join("intruder", token: try Wire.token(otherMesh, for: "intruder")))
            #expect(try await intruder.nextError().code == "TOKEN_INVALID")
            #expect(try await intruder.closeCode() == 1008)
        }
    }

    /// Defect of the older relay: a founder could come back with no proof.
    @Test func reRegisteringWithoutAValidProofIsRefused() async throws {
        let keys = MeshKeys.generate()
        let stranger = MeshKeys.generate()
        try await withRelay { relay in
            try await relay.connect("founder", meshID: keys.meshID).registerAsFounder(keys)
            // The mesh's own key with a proof made by another key.
            let forger = relay.connect("forger", meshID: keys.meshID)
            try forger.send(
                .registerMesh(
                    RelayRegisterMesh(
                        meshID: keys.meshID, meshPublicKey: keys.publicKey.rawRepresentation,
                        founderProof: try stranger.founderProof(meshID: keys.meshID), nodeID: "founder", name: "founder",
                        displayName: "")))
            #expect(try await forger.nextError().code == "REGISTRATION_FAILED")
            #expect(try await forger.closeCode() == 1008)
            // Another key with a valid proof of its own.
            let usurper = relay.connect("usurper", meshID: keys.meshID)
            try usurper.send(Wire.register(stranger, meshID: keys.meshID))
            #expect(try await usurper.nextError().code == "REGISTRATION_FAILED")
            #expect(try await usurper.closeCode() == 1008)
        }
    }

    @Test func registrationSurvivesARestart() async throws {
        let keys = MeshKeys.generate()
        let stranger = MeshKeys.generate()
        let directory = try TestDirectory()
        defer { directory.remove() }
        try await withRelay(stateDirectory: directory.path) { relay in
            try await relay.connect("founder", meshID: keys.meshID).registerAsFounder(keys)
            // Stored before the founder heard it succeeded.
            let stored = try StateDatabase(path: relay.server.configuration.databasePath).relayMeshes()
            #expect(stored.map(\.meshID) == [keys.meshID])
            #expect(stored.map(\.publicKey) == [keys.publicKey.rawRepresentation])
        }
        try await withRelay(stateDirectory: directory.path) { relay in
            #expect(try await relay.stats().meshesRegistered == 1)
            let usurper = relay.connect("usurper", meshID: keys.meshID)
            try usurper.send(Wire.register(stranger, meshID: keys.meshID))
            #expect(try await usurper.nextError().code == "REGISTRATION_FAILED")
            let open = relay.connect("open", meshID: keys.meshID)
            try open.send(Wire.join("open"))
            #expect(try await open.nextError().code == "TOKEN_REQUIRED")
            let member = relay.connect("member", meshID: keys.meshID)
            #expect(try await member.join(as: "member", token: try Wire.token(keys, for: "member")).nodeCount == 1)
            try await relay.connect("founder", meshID: keys.meshID).registerAsFounder(keys)
        }
    }
}
