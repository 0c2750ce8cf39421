import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

extension EndToEnd {
    /// `atmo mesh create`, `invite`, `join`, `status` and `leave` as real processes on two
    /// state folders: what lands in `mesh.json` and `mesh.key` (owner-only), and every
    /// refusal's exit status and message.
    @Suite("atmo mesh")
    struct MeshCommands {
        static let relay = "ws://127.0.0.1:8765"

        /// `atmo mesh ARGS --state-dir {sandbox}/{state}`.
        static func mesh(
            _ sandbox: AtmoSandbox, _ state: String, _ arguments: [String], name: String
        ) async throws -> AtmoSandbox.Finished {
            try await sandbox.run(["mesh"] + arguments + ["--state-dir", sandbox.path(state)], name: name, timeout: 60)
        }

        static func json(_ path: String) throws -> [String: Any] {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        }

        static func mode(_ path: String) throws -> Int {
            try #require((try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue)
        }

        /// Founds mesh "home" in `founder` and returns its `invite --json` output.
        static func foundAndInvite(_ sandbox: AtmoSandbox, extra: [String] = []) async throws -> [String: Any] {
            let create = try await mesh(sandbox, "founder", ["create", "home", "--relay", relay], name: "create")
            #expect(create.status == 0, "\(create.stderr)")
            let invite = try await mesh(sandbox, "founder", ["invite", "--json"] + extra, name: "invite")
            #expect(invite.status == 0, "\(invite.stderr)")
            return try #require(try JSONSerialization.jsonObject(with: Data(invite.stdout.utf8)) as? [String: Any])
        }

        @Test("create, invite, join: mesh.json on both nodes, owner-only files, status")
        func createInviteJoin() async throws {
            try await withAtmoSandbox { sandbox in
                let invite = try await Self.foundAndInvite(sandbox, extra: ["--expires", "2h"])
                let founderState = sandbox.path("founder")
                let founder = try Self.json(founderState + "/mesh.json")
                let meshID = try #require(founder["mesh_id"] as? String)
                #expect(meshID.count == 16)
                #expect(founder["founder"] as? Bool == true && founder["name"] as? String == "home")
                #expect(founder["relays"] as? [String] == [Self.relay] && founder["token"] == nil)
                #expect(try Self.mode(founderState + "/mesh.key") == 0o600)
                #expect(try Self.mode(founderState + "/mesh.json") == 0o600)
                #expect(try Data(contentsOf: URL(fileURLWithPath: founderState + "/mesh.key")).count == 32)

                let link = try #require(invite["invite"] as? String)
                #expect(invite["mesh_id"] as? String == meshID)
                #expect(
                    link.hasPrefix("atmosphere://join?invite=") && link.contains("&relay=\(Self.relay)") && link.hasSuffix("&name=home"))
                let expiresAt = try #require(invite["expires_at"] as? Int)
                let issuedAt = try #require(invite["issued_at"] as? Int)
                #expect(expiresAt - issuedAt == 7200)
                let token = try MeshToken(transportString: try #require(invite["token"] as? String))
                #expect(try MeshToken(inviteLink: link) == token, "an older client reads the same token")
                #expect(token.meshID == meshID && token.nodeID == nil && token.capabilities == ["participant"])

                let join = try await Self.mesh(sandbox, "member", ["join", link], name: "join")
                #expect(join.status == 0, "\(join.stderr)")
                #expect(join.stdout.contains("Joined mesh 'home' (\(meshID))"), "\(join.stdout)")
                let memberState = sandbox.path("member")
                let member = try Self.json(memberState + "/mesh.json")
                #expect(member["mesh_id"] as? String == meshID && member["founder"] as? Bool == false)
                #expect(member["name"] as? String == "home" && member["relays"] as? [String] == [Self.relay])
                let saved = try #require(member["token"] as? [String: Any])
                #expect(saved["nonce"] as? String == token.nonce && saved["expires_at"] as? Int == expiresAt)
                #expect(saved["signature"] as? String == token.signature.base64EncodedString())
                #expect(try Self.mode(memberState + "/mesh.json") == 0o600)
                #expect(try Self.mode(memberState + "/node.key") == 0o600)
                #expect(!fileExists(memberState + "/mesh.key"))

                let status = try await Self.mesh(sandbox, "member", ["status", "--json"], name: "status")
                let parsed = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
                #expect(parsed["in_mesh"] as? Bool == true && parsed["founder"] as? Bool == false)
                #expect(parsed["token_expires_at"] as? Int == expiresAt && parsed["token_expired"] as? Bool == false)
                let plain = try await Self.mesh(sandbox, "founder", [], name: "status-plain")
                #expect(plain.status == 0 && plain.stdout.contains("founder") && plain.stdout.contains(meshID), "\(plain.stdout)")
                let nobody = try await Self.mesh(sandbox, "nobody", [], name: "status-none")
                #expect(nobody.status == 0 && nobody.stdout.contains("in no mesh"), "\(nobody.stdout)")
            }
        }

        @Test("refusals: second create, member invites, long lifetime, founder joins, wrong node, expired")
        func refusals() async throws {
            try await withAtmoSandbox { sandbox in
                let invite = try await Self.foundAndInvite(sandbox)
                let link = try #require(invite["invite"] as? String)
                let founderJSON = try String(contentsOfFile: sandbox.path("founder/mesh.json"), encoding: .utf8)
                let key = try Data(contentsOf: URL(fileURLWithPath: sandbox.path("founder/mesh.key")))

                let again = try await Self.mesh(sandbox, "founder", ["create", "other"], name: "create-again")
                #expect(again.status == 64 && again.stderr.contains("already in mesh 'home'"), "\(again.stderr)")
                let joinFounder = try await Self.mesh(sandbox, "founder", ["join", link, "--force"], name: "join-founder")
                #expect(joinFounder.status == 64 && joinFounder.stderr.contains("founded mesh"), "\(joinFounder.stderr)")
                let leaveFounder = try await Self.mesh(sandbox, "founder", ["leave"], name: "leave-founder")
                #expect(leaveFounder.status == 64 && leaveFounder.stderr.contains("--force"), "\(leaveFounder.stderr)")
                #expect(try String(contentsOfFile: sandbox.path("founder/mesh.json"), encoding: .utf8) == founderJSON)
                #expect(try Data(contentsOf: URL(fileURLWithPath: sandbox.path("founder/mesh.key"))) == key)

                let tooLong = try await Self.mesh(sandbox, "founder", ["invite", "--expires", "8d"], name: "invite-8d")
                #expect(tooLong.status == 64 && tooLong.stderr.contains("7d"), "\(tooLong.stderr)")
                let badDuration = try await Self.mesh(sandbox, "founder", ["invite", "--expires", "soon", "--json"], name: "invite-bad")
                #expect(badDuration.status == 64 && badDuration.stdout.contains("\"code\":\"invalid_duration\""), "\(badDuration.stdout)")
                let noMesh = try await Self.mesh(sandbox, "nobody", ["invite"], name: "invite-nobody")
                #expect(noMesh.status == 64 && noMesh.stderr.contains("in no mesh"), "\(noMesh.stderr)")

                let forOther = try await Self.mesh(sandbox, "founder", ["invite", "--node", "someone-else", "--json"], name: "invite-node")
                let otherLink = try #require(
                    (try JSONSerialization.jsonObject(with: Data(forOther.stdout.utf8)) as? [String: Any])?["invite"] as? String)
                let wrongNode = try await Self.mesh(sandbox, "member", ["join", otherLink], name: "join-wrong-node")
                #expect(wrongNode.status == 64 && wrongNode.stderr.contains("is for node someone-else"), "\(wrongNode.stderr)")

                // Join checks expiry from the token's claims (the relay checks the signature).
                let now = Int64(Date().timeIntervalSince1970)
                var expired = try MeshToken(transportString: try #require(invite["token"] as? String))
                expired.issuedAt = now - 7200
                expired.expiresAt = now - 3600
                let expiredLink = try MeshInvite(token: expired, relays: [Self.relay], meshName: "home").link()
                let late = try await Self.mesh(sandbox, "member", ["join", expiredLink], name: "join-expired")
                #expect(late.status == 64 && late.stderr.contains("expired"), "\(late.stderr)")
                let garbage = try await Self.mesh(sandbox, "member", ["join", "atmosphere://join?invite=nonsense"], name: "join-garbage")
                #expect(garbage.status == 64 && garbage.stderr.contains("not a valid invite"), "\(garbage.stderr)")
                let bare = try await Self.mesh(sandbox, "member", ["join", try #require(invite["token"] as? String)], name: "join-bare")
                #expect(bare.status == 64 && bare.stderr.contains("--relay"), "\(bare.stderr)")
                #expect(!fileExists(sandbox.path("member/mesh.json")), "nothing written by a refused join")

                // A member cannot invite; a bare token with --relay joins.
                let joined = try await Self.mesh(
                    sandbox, "member", ["join", try #require(invite["token"] as? String), "--relay", "ws://10.1.2.3:8765"],
                    name: "join-bare-relay")
                #expect(joined.status == 0, "\(joined.stderr)")
                #expect(try Self.json(sandbox.path("member/mesh.json"))["relays"] as? [String] == ["ws://10.1.2.3:8765"])
                let memberInvite = try await Self.mesh(sandbox, "member", ["invite"], name: "invite-member")
                #expect(memberInvite.status == 64 && memberInvite.stderr.contains("only the founder"), "\(memberInvite.stderr)")
            }
        }

        @Test("leave: a member's mesh.json goes; a founder's needs --force and its key stays")
        func leave() async throws {
            try await withAtmoSandbox { sandbox in
                let invite = try await Self.foundAndInvite(sandbox)
                let join = try await Self.mesh(sandbox, "member", ["join", try #require(invite["invite"] as? String)], name: "join")
                #expect(join.status == 0, "\(join.stderr)")
                let memberLeave = try await Self.mesh(sandbox, "member", ["leave"], name: "leave-member")
                #expect(memberLeave.status == 0, "\(memberLeave.stderr)")
                #expect(!fileExists(sandbox.path("member/mesh.json")))
                let nothing = try await Self.mesh(sandbox, "member", ["leave"], name: "leave-nothing")
                #expect(nothing.status == 0 && nothing.stdout.contains("in no mesh"), "\(nothing.stdout)")

                let keyPath = sandbox.path("founder/mesh.key")
                let key = try Data(contentsOf: URL(fileURLWithPath: keyPath))
                let forced = try await Self.mesh(sandbox, "founder", ["leave", "--force"], name: "leave-founder")
                #expect(forced.status == 0 && forced.stdout.contains(keyPath), "\(forced.stdout)")
                #expect(!fileExists(sandbox.path("founder/mesh.json")))
                #expect(try Data(contentsOf: URL(fileURLWithPath: keyPath)) == key)

                // The key is never overwritten: a plain create refuses, --use-key founds the same
                // mesh again, --force keeps the old key aside.
                let create = try await Self.mesh(sandbox, "founder", ["create", "new"], name: "create-over-key")
                #expect(create.status == 64 && create.stderr.contains("--use-key"), "\(create.stderr)")
                let reuse = try await Self.mesh(sandbox, "founder", ["create", "home", "--use-key"], name: "create-use-key")
                #expect(reuse.status == 0, "\(reuse.stderr)")
                #expect(try Self.json(sandbox.path("founder/mesh.json"))["mesh_id"] as? String == invite["mesh_id"] as? String)
                let fresh = try await Self.mesh(sandbox, "founder", ["create", "fresh", "--force"], name: "create-force")
                #expect(fresh.status == 0, "\(fresh.stderr)")
                let archived = sandbox.path("founder/mesh.key.\(try #require(invite["mesh_id"] as? String)).old")
                #expect(try Data(contentsOf: URL(fileURLWithPath: archived)) == key)
                #expect(try Self.mode(archived) == 0o600 && Self.mode(keyPath) == 0o600)
                #expect(try Data(contentsOf: URL(fileURLWithPath: keyPath)) != key)
            }
        }
    }
}
