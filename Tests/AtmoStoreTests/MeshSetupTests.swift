import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

@testable import AtmoStore

/// The rules of `atmo mesh` on a state folder: `MeshMembership.create`, `issueInvite`,
/// `join` and `leave`. A founder's key is never overwritten or deleted; a join never
/// replaces a founder membership; each refusal has its code.
struct MeshSetupTests {
    static let now: Int64 = 1_767_225_600
    static let relay = "ws://127.0.0.1:8765"

    static func mode(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    static func expectRefusal(
        _ code: MeshSetupError.Code, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
    ) {
        do {
            try body()
            Issue.record("expected a \(code) refusal", sourceLocation: sourceLocation)
        } catch let error as MeshSetupError {
            #expect(error.code == code, "\(error.message)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected a \(code) refusal, not \(error)", sourceLocation: sourceLocation)
        }
    }

    /// A founder in `{dir}/founder` and an invite for any node.
    static func founderAndInvite(_ dir: TemporaryDirectory, nodeID: String? = nil, lifetime: Int64 = 3600) throws
        -> (MeshFounding, MeshInvite)
    {
        let founding = try MeshMembership.create(
            name: "home", relays: [relay], stateDirectory: dir.sub("founder"), force: false, now: now)
        let invite = try MeshMembership.issueInvite(
            stateDirectory: dir.sub("founder"), nodeID: nodeID, issuerID: "founder-node", lifetime: lifetime, relays: nil,
            now: now)
        return (founding, invite)
    }

    @Test func createWritesOwnerOnlyKeyAndMembership() async throws {
        try await withTemporaryDirectory { dir in
            let state = dir.sub("state")
            let founding = try MeshMembership.create(name: "home", relays: [Self.relay], stateDirectory: state, force: false, now: Self.now)
            let keyPath = MeshMembership.keyPath(stateDirectory: state)
            #expect(try Self.mode(keyPath) == 0o600)
            #expect(try Self.mode(MeshMembership.path(stateDirectory: state)) == 0o600)
            #expect(try MeshKeys.load(path: keyPath).meshID == founding.membership.meshID)
            let saved = try #require(try MeshMembership.load(stateDirectory: state))
            #expect(saved == founding.membership)
            #expect(saved.isFounder && saved.token == nil && saved.relays == [Self.relay] && saved.name == "home")
            Self.expectRefusal(.alreadyInMesh) {
                _ = try MeshMembership.create(name: "again", relays: [], stateDirectory: state, force: false, now: Self.now)
            }
            #expect(try MeshKeys.load(path: keyPath).meshID == founding.membership.meshID, "the key must be untouched")
        }
    }

    @Test func forceKeepsTheOldKey() async throws {
        try await withTemporaryDirectory { dir in
            let state = dir.sub("state")
            let first = try MeshMembership.create(name: "one", relays: [], stateDirectory: state, force: false, now: Self.now)
            let oldKey = try #require(FileManager.default.contents(atPath: MeshMembership.keyPath(stateDirectory: state)))
            let second = try MeshMembership.create(name: "two", relays: [], stateDirectory: state, force: true, now: Self.now)
            #expect(second.membership.meshID != first.membership.meshID)
            #expect(second.replaced?.meshID == first.membership.meshID)
            let archived = try #require(second.archivedKeyPath)
            #expect(archived == MeshMembership.keyPath(stateDirectory: state) + ".\(first.membership.meshID).old")
            #expect(FileManager.default.contents(atPath: archived) == oldKey)
            #expect(try Self.mode(archived) == 0o600)
            // A second archive of a key of the same mesh does not overwrite the first.
            let copy = try MeshMembership.archiveKey(at: MeshMembership.keyPath(stateDirectory: state), meshID: first.membership.meshID)
            #expect(copy == archived + ".2")
            #expect(FileManager.default.contents(atPath: archived) == oldKey)
        }
    }

    @Test func leaveAndFoundAgainWithTheKey() async throws {
        try await withTemporaryDirectory { dir in
            let state = dir.sub("state")
            let founding = try MeshMembership.create(name: "home", relays: [], stateDirectory: state, force: false, now: Self.now)
            Self.expectRefusal(.founderMembership) { try MeshMembership.leave(stateDirectory: state, force: false) }
            #expect(try MeshMembership.leave(stateDirectory: state, force: true)?.meshID == founding.membership.meshID)
            #expect(try MeshMembership.load(stateDirectory: state) == nil)
            #expect(FileManager.default.fileExists(atPath: MeshMembership.keyPath(stateDirectory: state)))
            #expect(try MeshMembership.leave(stateDirectory: state, force: false) == nil)
            Self.expectRefusal(.alreadyInMesh) {
                _ = try MeshMembership.create(name: "new", relays: [], stateDirectory: state, force: false, now: Self.now)
            }
            let again = try MeshMembership.create(
                name: "home again", relays: [Self.relay], stateDirectory: state, force: false, useExistingKey: true, now: Self.now)
            #expect(again.membership.meshID == founding.membership.meshID && again.archivedKeyPath == nil)
            Self.expectRefusal(.keyMissing) {
                _ = try MeshMembership.create(
                    name: "x", relays: [], stateDirectory: dir.sub("empty"), force: false, useExistingKey: true, now: Self.now)
            }
        }
    }

    @Test func inviteRules() async throws {
        try await withTemporaryDirectory { dir in
            let (founding, invite) = try Self.founderAndInvite(dir, nodeID: "member-1")
            #expect(invite.relays == [Self.relay] && invite.meshName == "home")
            #expect(invite.token.issuerID == "founder-node" && invite.token.nodeID == "member-1")
            #expect(invite.token.expiresAt == Self.now + 3600)
            #expect(founding.keys.verify(token: invite.token, nodeID: "member-1", now: Self.now + 60) == .valid)
            let founder = dir.sub("founder")
            let override = try MeshMembership.issueInvite(
                stateDirectory: founder, nodeID: nil, issuerID: "f", lifetime: 60, relays: ["wss://other.example"], now: Self.now)
            #expect(override.relays == ["wss://other.example"] && override.token.nodeID == nil)
            Self.expectRefusal(.invalidInput) {
                _ = try MeshMembership.issueInvite(
                    stateDirectory: founder, nodeID: nil, issuerID: "f", lifetime: 8 * 86_400, relays: nil, now: Self.now)
            }
            Self.expectRefusal(.invalidInput) {
                _ = try MeshMembership.issueInvite(
                    stateDirectory: founder, nodeID: "has space", issuerID: "f", lifetime: 60, relays: nil, now: Self.now)
            }
            Self.expectRefusal(.notInMesh) {
                _ = try MeshMembership.issueInvite(
                    stateDirectory: dir.sub("nobody"), nodeID: nil, issuerID: "f", lifetime: 60, relays: nil, now: Self.now)
            }
            _ = try MeshMembership.create(name: "bare", relays: [], stateDirectory: dir.sub("bare"), force: false, now: Self.now)
            Self.expectRefusal(.noRelay) {
                _ = try MeshMembership.issueInvite(
                    stateDirectory: dir.sub("bare"), nodeID: nil, issuerID: "f", lifetime: 60, relays: nil, now: Self.now)
            }
            // A member cannot invite.
            _ = try MeshMembership.join(invite, nodeID: "member-1", stateDirectory: dir.sub("member"), force: false, now: Self.now)
            Self.expectRefusal(.notFounder) {
                _ = try MeshMembership.issueInvite(
                    stateDirectory: dir.sub("member"), nodeID: nil, issuerID: "m", lifetime: 60, relays: nil, now: Self.now)
            }
        }
    }

    @Test func inviteNeedsTheRightKey() async throws {
        try await withTemporaryDirectory { dir in
            _ = try Self.founderAndInvite(dir)
            let founder = dir.sub("founder")
            let keyPath = MeshMembership.keyPath(stateDirectory: founder)
            try FileManager.default.removeItem(atPath: keyPath)
            Self.expectRefusal(.keyMissing) {
                _ = try MeshMembership.issueInvite(
                    stateDirectory: founder, nodeID: nil, issuerID: "f", lifetime: 60, relays: nil, now: Self.now)
            }
            try MeshKeys.generate().save(path: keyPath)
            Self.expectRefusal(.keyMismatch) {
                _ = try MeshMembership.issueInvite(
                    stateDirectory: founder, nodeID: nil, issuerID: "f", lifetime: 60, relays: nil, now: Self.now)
            }
        }
    }

    @Test func joinSavesTheMembership() async throws {
        try await withTemporaryDirectory { dir in
            let (founding, invite) = try Self.founderAndInvite(dir)
            let member = dir.sub("member")
            let joined = try MeshMembership.join(invite, nodeID: "member-1", stateDirectory: member, force: false, now: Self.now + 10)
            #expect(joined.replaced == nil)
            let saved = try #require(try MeshMembership.load(stateDirectory: member))
            #expect(saved.meshID == founding.membership.meshID && !saved.isFounder && saved.name == "home")
            #expect(saved.relays == [Self.relay] && saved.token == invite.token && saved.joinedAt == Self.now + 10)
            #expect(try Self.mode(MeshMembership.path(stateDirectory: member)) == 0o600)
            // A renewed invite of the same mesh replaces the token; --relay replaces the link's relays.
            let renewed = try MeshMembership.issueInvite(
                stateDirectory: dir.sub("founder"), nodeID: nil, issuerID: "f", lifetime: 7200, relays: nil, now: Self.now)
            let again = try MeshMembership.join(
                MeshInvite(token: renewed.token), nodeID: "member-1", relays: ["ws://10.0.0.9:8765"], stateDirectory: member,
                force: false, now: Self.now)
            #expect(again.replaced?.meshID == saved.meshID)
            #expect(again.membership.token == renewed.token && again.membership.relays == ["ws://10.0.0.9:8765"])
            #expect(again.membership.name == "home", "the name is kept when the invite has none")
        }
    }

    @Test func joinRefusals() async throws {
        try await withTemporaryDirectory { dir in
            let (_, named) = try Self.founderAndInvite(dir, nodeID: "member-1")
            let member = dir.sub("member")
            Self.expectRefusal(.inviteForAnotherNode) {
                _ = try MeshMembership.join(named, nodeID: "intruder", stateDirectory: member, force: false, now: Self.now)
            }
            Self.expectRefusal(.inviteExpired) {
                _ = try MeshMembership.join(named, nodeID: "member-1", stateDirectory: member, force: false, now: Self.now + 3600)
            }
            Self.expectRefusal(.inviteInvalid) {
                _ = try MeshMembership.join(named, nodeID: "member-1", stateDirectory: member, force: false, now: Self.now - 3600)
            }
            Self.expectRefusal(.noRelay) {
                _ = try MeshMembership.join(
                    MeshInvite(token: named.token), nodeID: "member-1", stateDirectory: member, force: false, now: Self.now)
            }
            Self.expectRefusal(.invalidInput) {
                _ = try MeshMembership.join(
                    named, nodeID: "member-1", relays: ["ws://h:1/relay/othermesh"], stateDirectory: member, force: false,
                    now: Self.now)
            }
            #expect(try MeshMembership.load(stateDirectory: member) == nil, "nothing written on a refusal")
            // Never over a founder membership, even with force.
            Self.expectRefusal(.founderMembership) {
                _ = try MeshMembership.join(
                    named, nodeID: "member-1", stateDirectory: dir.sub("founder"), force: true, now: Self.now)
            }
            #expect(try MeshMembership.load(stateDirectory: dir.sub("founder"))?.isFounder == true)
        }
    }

    @Test func switchingMeshesNeedsForce() async throws {
        try await withTemporaryDirectory { dir in
            let (_, first) = try Self.founderAndInvite(dir)
            let other = try MeshMembership.create(
                name: "other", relays: [Self.relay], stateDirectory: dir.sub("other"), force: false, now: Self.now)
            let second = try MeshMembership.issueInvite(
                stateDirectory: dir.sub("other"), nodeID: nil, issuerID: "o", lifetime: 60, relays: nil, now: Self.now)
            let member = dir.sub("member")
            _ = try MeshMembership.join(first, nodeID: "m", stateDirectory: member, force: false, now: Self.now)
            Self.expectRefusal(.alreadyInMesh) {
                _ = try MeshMembership.join(second, nodeID: "m", stateDirectory: member, force: false, now: Self.now)
            }
            let switched = try MeshMembership.join(second, nodeID: "m", stateDirectory: member, force: true, now: Self.now)
            #expect(switched.membership.meshID == other.membership.meshID && switched.replaced?.meshID == first.token.meshID)
            #expect(try MeshMembership.leave(stateDirectory: member, force: false)?.meshID == other.membership.meshID)
            #expect(!FileManager.default.fileExists(atPath: MeshMembership.path(stateDirectory: member)))
        }
    }

    @Test func unreadableMembership() async throws {
        try await withTemporaryDirectory { dir in
            let state = dir.sub("state")
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
            try Data("{not json".utf8).write(to: URL(fileURLWithPath: MeshMembership.path(stateDirectory: state)))
            Self.expectRefusal(.storage) { try MeshMembership.leave(stateDirectory: state, force: false) }
            Self.expectRefusal(.storage) {
                _ = try MeshMembership.create(name: "x", relays: [], stateDirectory: state, force: false, now: Self.now)
            }
            #expect(try MeshMembership.leave(stateDirectory: state, force: true) == nil)
            #expect(!FileManager.default.fileExists(atPath: MeshMembership.path(stateDirectory: state)))
        }
    }
}
