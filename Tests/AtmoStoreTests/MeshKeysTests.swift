import AtmoProtocol
import AtmoTesting
import Crypto
import Foundation
import Testing

@testable import AtmoStore

/// `MeshKeys`: founder proofs, issued tokens, verification reasons, key files, and
/// compatibility with tokens signed by Python's `cryptography` package.
struct MeshKeysTests {
    static let now: Int64 = 1_767_225_600
    /// The key of seed bytes 0...31, as used by the Python vector below.
    static let vectorKeys = MeshKeys(privateKey: try! Curve25519.Signing.PrivateKey(rawRepresentation: Data(0..<32)))
    /// Signed by Python's `cryptography` with the seed-0...31 key; capabilities hold
    /// non-ASCII text, so it only verifies if the canonical bytes escape like Python's.
    static let pythonToken = """
        eyJtZXNoX2lkIjogIjU2NDc1YWE3NTQ2MzQ3NGMiLCAibm9kZV9pZCI6IG51bGwsICJpc3N1ZWRfYXQiOiAxNzY3MjI1NjAwLCAiZXhwaXJlc19hdCI6IDE3NjczMTIwMDAsICJjYXBhYmlsaXRpZXMiOiBbIlpldGEiLCAicGFydGljaXBhbnQiLCAiclx1MDBlOXN1bVx1MDBlOSIsICJcdWQ4M2RcdWRlODAgXCJxXCJcXC9cdFx1MDA3ZiJdLCAiaXNzdWVyX2lkIjogImExYjJjM2Q0ZTVmNjA3MTgiLCAibm9uY2UiOiAiMDAxMTIyMzM0NDU1NjY3Nzg4OTlhYWJiY2NkZGVlZmYiLCAic2lnbmF0dXJlIjogIkdVOFZETUtvUkRiLzRHL0M3c3lwbTh3YTNHaHhDa1dKc3RUbFEzeWtwMHZDZVFMdHhUY0dNWDVYdk9mNTJINm0wNXc5R2plM2FQbWtKUDdlUENSZ0FnPT0ifQ
        """
    /// Python's `founder_proof` for the vector key's mesh id.
    static let pythonProof = "3SMAbkrYfW9+Ljb8OFI9HgIq9NvOcrEQ3nC3/P0yul7XkVp3WhepjQO92v3SYPftIsPf8wBKCykIqhlmcWbkAQ=="

    @Test func meshIDAndFounderProof() throws {
        let keys = MeshKeys.generate()
        #expect(keys.meshID.count == 16)
        #expect(keys.meshID == NodeIdentity.nodeID(publicKey: keys.publicKey.rawRepresentation))
        let proof = try keys.founderProof(meshID: keys.meshID)
        let raw = keys.publicKey.rawRepresentation
        #expect(MeshKeys.verifyFounderProof(proof, meshID: keys.meshID, publicKey: raw))
        #expect(!MeshKeys.verifyFounderProof(proof, meshID: "other", publicKey: raw))
        #expect(!MeshKeys.verifyFounderProof(proof, meshID: keys.meshID, publicKey: MeshKeys.generate().publicKey.rawRepresentation))
        #expect(!MeshKeys.verifyFounderProof(proof, meshID: keys.meshID, publicKey: Data([1, 2, 3])))
    }

    @Test func pythonVectorVerifies() throws {
        let keys = Self.vectorKeys
        #expect(keys.meshID == "56475aa75463474c")
        #expect(keys.publicKey.rawRepresentation.base64EncodedString() == "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=")
        #expect(
            MeshKeys.verifyFounderProof(
                Data(base64Encoded: Self.pythonProof)!, meshID: keys.meshID, publicKey: keys.publicKey.rawRepresentation))
        let token = try MeshToken(transportString: Self.pythonToken)
        #expect(keys.verify(token: token, nodeID: "anyone", now: Self.now + 60) == .valid)
        var tampered = token
        tampered.capabilities[2] = "resume"
        #expect(keys.verify(token: tampered, now: Self.now).rejection?.reason == .badSignature)
    }

    @Test func issuedTokenRoundTrips() throws {
        let keys = MeshKeys.generate()
        let token = try keys.issueToken(nodeID: "n1", issuerID: "founder01", capabilities: ["relay", "participant"], now: Self.now)
        #expect(token.expiresAt - token.issuedAt == RelayLimits.defaultTokenLifetime)
        #expect(token.meshID == keys.meshID)
        #expect(keys.verify(token: token, nodeID: "n1", now: Self.now) == .valid)
        let received = try MeshToken(inviteLink: try token.inviteLink())
        #expect(received == token)
        #expect(
            MeshKeys.verify(
                token: received, meshID: keys.meshID, meshPublicKey: keys.publicKey.rawRepresentation, nodeID: "n1", now: Self.now)
                == .valid)
        let other = try keys.issueToken(nodeID: nil, issuerID: "founder01", now: Self.now)
        #expect(other.nonce != token.nonce)
        #expect(other.capabilities == ["participant"])
    }

    @Test func tamperedFieldsFail() throws {
        let keys = MeshKeys.generate()
        let token = try keys.issueToken(nodeID: "n1", issuerID: "founder01", now: Self.now)
        let edits: [(String, (inout MeshToken) -> Void)] = [
            ("node_id", { $0.nodeID = nil }), ("issued_at", { $0.issuedAt += 1 }), ("expires_at", { $0.expiresAt += 3600 }),
            ("capabilities", { $0.capabilities = ["admin"] }), ("issuer_id", { $0.issuerID = "mallory" }),
            ("nonce", { $0.nonce = String(repeating: "0", count: 32) }), ("signature", { $0.signature[0] ^= 1 }),
        ]
        for (field, edit) in edits {
            var tampered = token
            edit(&tampered)
            #expect(keys.verify(token: tampered, now: Self.now).rejection?.reason == .badSignature, "\(field)")
        }
        var foreign = token
        foreign.extra = ["note": .string("not signed")]
        #expect(keys.verify(token: foreign, nodeID: "n1", now: Self.now) == .valid)
    }

    @Test func claimsAndExpiry() throws {
        let keys = MeshKeys.generate()
        let token = try keys.issueToken(nodeID: "n1", issuerID: "f", lifetime: 3600, now: Self.now)
        #expect(keys.verify(token: token, now: Self.now + 3600).rejection?.reason == .expired)
        #expect(keys.verify(token: token, now: Self.now - 3600).rejection?.reason == .notYetValid)
        #expect(keys.verify(token: token, nodeID: "n2", now: Self.now).rejection?.reason == .wrongNode)
        let raw = keys.publicKey.rawRepresentation
        #expect(MeshKeys.verify(token: token, meshID: "another", meshPublicKey: raw, now: Self.now).rejection?.reason == .wrongMesh)
        #expect(
            MeshKeys.verify(token: token, meshID: keys.meshID, meshPublicKey: Data(count: 3), now: Self.now).rejection?.reason == .badKey)
        let stranger = MeshKeys.generate()
        #expect(stranger.verify(token: token, now: Self.now).rejection?.reason == .badSignature)

        var long = MeshToken(
            meshID: keys.meshID, nodeID: nil, issuedAt: Self.now, expiresAt: Self.now + 8 * 86_400, issuerID: "f",
            nonce: MeshToken.randomNonce())
        long.signature = try keys.privateKey.signature(for: long.signedBytes)
        #expect(keys.verify(token: long, now: Self.now).rejection?.reason == .lifetimeTooLong)
        #expect(throws: StoreError.self) { try keys.issueToken(nodeID: nil, issuerID: "f", lifetime: 8 * 86_400, now: Self.now) }
        #expect(throws: StoreError.self) { try keys.issueToken(nodeID: nil, issuerID: "f", lifetime: 0, now: Self.now) }
    }

    @Test func keyFile() throws {
        let directory = try TemporaryDirectory(prefix: "atmo-meshkeys")
        defer { directory.remove() }
        let path = directory.sub("mesh/mesh.key")
        #expect(throws: StoreError.self) { try MeshKeys.load(path: path) }
        let created = try MeshKeys.loadOrCreate(path: path)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(try MeshKeys.load(path: path).meshID == created.meshID)
        #expect(try MeshKeys.loadOrCreate(path: path).meshID == created.meshID)
        #expect(throws: StoreError.self) { try MeshKeys.generate().save(path: path) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.sub("mesh")) == ["mesh.key"])
        try Data("short".utf8).write(to: URL(fileURLWithPath: directory.sub("bad.key")))
        #expect(throws: StoreError.self) { try MeshKeys.load(path: directory.sub("bad.key")) }
    }
}

/// Live cross-checks with Python's `cryptography` package: Python verifies a token Swift
/// issued (with non-ASCII capabilities) using its own `json.dumps`, and signs one Swift verifies.
struct MeshKeysPythonTests {
    static let script = #"""
        import base64, json, sys, time
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
        from cryptography.hazmat.primitives import serialization
        pub, text = sys.argv[1], sys.argv[2]
        tok = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        claims = {k: tok[k] for k in ("mesh_id", "node_id", "issued_at", "expires_at", "issuer_id", "nonce")}
        claims["capabilities"] = sorted(tok["capabilities"])
        canon = json.dumps(claims, sort_keys=True, separators=(",", ":")).encode()
        Ed25519PublicKey.from_public_bytes(base64.b64decode(pub)).verify(base64.b64decode(tok["signature"]), canon)
        key = Ed25519PrivateKey.generate()
        raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        mine = dict(claims, node_id="py-node", capabilities=["\u00fcber", "participant"], nonce="ab" * 16)
        canon = json.dumps(dict(mine, capabilities=sorted(mine["capabilities"])), sort_keys=True, separators=(",", ":"))
        mine["signature"] = base64.b64encode(key.sign(canon.encode())).decode()
        print(base64.b64encode(raw).decode())
        print(base64.urlsafe_b64encode(json.dumps(mine).encode()).decode().rstrip("="))
        """#

    /// True when `python3` can import `cryptography`.
    static let available: Bool = (try? run(["-c", "import cryptography"]))?.status == 0

    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    @Test(.enabled(if: available, "skipped: python3 with the cryptography package is not installed"))
    func crossCheckWithPython() throws {
        let keys = MeshKeys.generate()
        let now = Int64(Date().timeIntervalSince1970)
        let token = try keys.issueToken(
            nodeID: nil, issuerID: "founder01", capabilities: ["participant", "\u{e9}t\u{e9} \u{1F680}"], now: now)
        let result = try Self.run(["-c", Self.script, keys.publicKey.rawRepresentation.base64EncodedString(), try token.transportString()])
        #expect(result.status == 0, "Python refused the Swift token")
        let lines = result.output.split(separator: "\n").map(String.init)
        try #require(lines.count == 2)
        let pythonToken = try MeshToken(transportString: lines[1])
        let verdict = MeshKeys.verify(
            token: pythonToken, meshID: keys.meshID, meshPublicKey: Data(base64Encoded: lines[0]) ?? Data(), nodeID: "py-node", now: now)
        #expect(verdict == .valid, "\(verdict)")
    }
}
