import Foundation
import Testing

@testable import AtmoStore

struct RelayMeshStoreTests {
    let keyA = Data(repeating: 0xA1, count: 32)
    let keyB = Data(repeating: 0xB2, count: 32)

    @Test func registrationsSurviveReopening() throws {
        try withTemporaryDirectorySync { directory in
            let path = directory + "/relay/relay.sqlite"
            do {
                let database = try StateDatabase(path: path)
                try database.saveRelayMesh(RelayMeshRegistration(meshID: "mesh-b", publicKey: keyB, registeredAt: 2))
                try database.saveRelayMesh(RelayMeshRegistration(meshID: "mesh-a", publicKey: keyA, registeredAt: 1))
            }
            let reopened = try StateDatabase(path: path)
            #expect(
                try reopened.relayMeshes() == [
                    RelayMeshRegistration(meshID: "mesh-a", publicKey: keyA, registeredAt: 1),
                    RelayMeshRegistration(meshID: "mesh-b", publicKey: keyB, registeredAt: 2),
                ])
        }
    }

    @Test func aMeshKeepsItsFirstKey() throws {
        let database = try StateDatabase()
        try database.saveRelayMesh(RelayMeshRegistration(meshID: "mesh-a", publicKey: keyA, registeredAt: 1))
        // Saving the same key again is a no-op that succeeds (the registration time stays).
        try database.saveRelayMesh(RelayMeshRegistration(meshID: "mesh-a", publicKey: keyA, registeredAt: 5))
        #expect(try database.relayMeshes().map(\.registeredAt) == [1])
        let error = #expect(throws: StoreError.self) {
            try database.saveRelayMesh(RelayMeshRegistration(meshID: "mesh-a", publicKey: keyB, registeredAt: 6))
        }
        #expect(error?.code == .conflict)
        #expect(try database.relayMeshes().map(\.publicKey) == [keyA])
    }

    @Test func deletingForgetsOnlyThatMesh() throws {
        let database = try StateDatabase()
        try database.saveRelayMesh(RelayMeshRegistration(meshID: "mesh-a", publicKey: keyA, registeredAt: 1))
        try database.saveRelayMesh(RelayMeshRegistration(meshID: "mesh-b", publicKey: keyB, registeredAt: 2))
        #expect(try database.deleteRelayMesh(meshID: "mesh-a"))
        #expect(try !database.deleteRelayMesh(meshID: "mesh-a"))
        #expect(try database.relayMeshes().map(\.meshID) == ["mesh-b"])
    }
}
