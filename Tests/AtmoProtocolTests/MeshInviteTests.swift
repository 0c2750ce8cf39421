import Foundation
import Testing

@testable import AtmoProtocol

/// `MeshInvite`: invite links with relays and a name, bare tokens, what older clients read,
/// hostile links, and the token lifetime syntax.
struct MeshInviteTests {
    static let token = MeshTokenTests.sample(nodeID: nil)

    @Test func linkRoundTripsWithRelaysAndName() throws {
        let invite = MeshInvite(
            token: Self.token, relays: ["ws://127.0.0.1:8765", "wss://relay.example/atmo"], meshName: "home lab & co")
        let link = try invite.link()
        #expect(link.hasPrefix("atmosphere://join?invite=\(try Self.token.transportString())&relay=ws://127.0.0.1:8765"))
        #expect(link.contains("&relay=wss://relay.example/atmo"))
        #expect(link.hasSuffix("&name=home%20lab%20%26%20co"))
        #expect(try MeshInvite(parsing: link) == invite)
        #expect(try MeshInvite(parsing: "  \(link)\n") == invite)
    }

    @Test func olderClientsStillReadTheToken() throws {
        let link = try MeshInvite(token: Self.token, relays: ["ws://10.0.0.2:8765"], meshName: "home").link()
        #expect(try MeshToken(inviteLink: link) == Self.token)
    }

    @Test func plainLinkAndBareToken() throws {
        let plain = try MeshInvite(parsing: try Self.token.inviteLink())
        #expect(plain == MeshInvite(token: Self.token))
        let bare = try MeshInvite(parsing: try Self.token.transportString())
        #expect(bare.token == Self.token && bare.relays.isEmpty && bare.meshName == nil)
        let python = try MeshInvite(parsing: MeshTokenTests.pythonTransport)
        #expect(python.token.meshID == "56475aa75463474c")
    }

    @Test func nameWithUnicodeAndPlusSigns() throws {
        let invite = MeshInvite(token: Self.token, relays: ["ws://h:1"], meshName: "Café + friends = 🚀")
        let link = try invite.link()
        #expect(!link.contains("+") && !link.contains(" "))
        #expect(try MeshInvite(parsing: link).meshName == "Café + friends = 🚀")
    }

    @Test func duplicateRelaysAreReadOnce() throws {
        let transport = try Self.token.transportString()
        let link = "atmosphere://join?invite=\(transport)&relay=ws://a:1&relay=ws%3A%2F%2Fa%3A1&relay=&relay=ws://b:2&extra=1"
        #expect(try MeshInvite(parsing: link).relays == ["ws://a:1", "ws://b:2"])
    }

    @Test func hostileLinksAreRefused() throws {
        let transport = try Self.token.transportString()
        let bad = [
            "https://join?invite=\(transport)",
            "atmosphere://leave?invite=\(transport)",
            "atmosphere://join?relay=ws://a:1",
            "atmosphere://join?invite=not-a-token",
            "atmosphere://join?invite=\(transport)&relay=ftp://a:1",
            "atmosphere://join?invite=\(transport)&relay=ws://",
            "atmosphere://join?invite=\(transport)&relay=ws://a:1/relay/othermesh",
            "atmosphere://join?invite=\(transport)&relay=ws%3A%2F%2Fa%3A1%3Fx%3Dy",
            "atmosphere://join?invite=\(transport)&name=a&name=b",
            "atmosphere://join?invite=\(transport)&name=line%0Abreak",
            "atmosphere://join?invite=\(transport)&name=\(String(repeating: "x", count: 65))",
            "atmosphere://join?invite=\(transport)" + (1...9).map { "&relay=ws://h\($0):1" }.joined(),
            "atmosphere://join?invite=\(transport)&relay=" + String(repeating: "x", count: MeshInvite.maxLinkBytes),
            "",
        ]
        for link in bad {
            #expect(throws: WireError.self, "\(link.prefix(120))") { try MeshInvite(parsing: link) }
        }
    }

    @Test func relayURLs() {
        for good in ["ws://127.0.0.1:8765", "wss://relay.example", "ws://[::1]:8765/", "http://h:1", "https://h/p/relay/56475aa75463474c"] {
            #expect(MeshInvite.relayProblem(good, meshID: "56475aa75463474c") == nil, "\(good)")
        }
        for bad in ["relay.example:8765", "ws://", "ws://h:1?x=1", "ws://h:1#f", "ws://u@h:1", "ws://h 1", "ws://hé"] {
            #expect(MeshInvite.relayProblem(bad) != nil, "\(bad)")
        }
        #expect(MeshInvite.relayProblem("ws://h/relay/other", meshID: "56475aa75463474c")?.contains("mesh other") == true)
        #expect(MeshInvite.meshNamed(inRelayPath: "/relay/abc") == "abc")
        #expect(MeshInvite.meshNamed(inRelayPath: "/prefix/relay/abc/") == "abc")
        #expect(MeshInvite.meshNamed(inRelayPath: "/") == nil)
    }

    @Test func meshNames() {
        #expect(MeshInvite.nameProblem("home") == nil)
        #expect(MeshInvite.nameProblem("Ünïcode 🚀 mesh") == nil)
        #expect(MeshInvite.nameProblem("") != nil)
        #expect(MeshInvite.nameProblem("   ") != nil)
        #expect(MeshInvite.nameProblem("a\tb") != nil)
        #expect(MeshInvite.nameProblem(String(repeating: "n", count: 64)) == nil)
        #expect(MeshInvite.nameProblem(String(repeating: "n", count: 65)) != nil)
    }

    @Test func lifetimes() throws {
        #expect(try MeshInvite.parseLifetime("30m") == 1800)
        #expect(try MeshInvite.parseLifetime("24h") == 86_400)
        #expect(try MeshInvite.parseLifetime("7d") == 604_800)
        #expect(try MeshInvite.parseLifetime(" 1D12H ") == 129_600)
        #expect(try MeshInvite.parseLifetime("2h30m15s") == 9015)
        #expect(try MeshInvite.parseLifetime("90s") == 90)
        for bad in ["", "24", "h", "0h", "8d", "7d1s", "-1h", "1.5h", "1w", "24 h", "１h", "9999999999s"] {
            #expect(throws: WireError.self, "\(bad)") { try MeshInvite.parseLifetime(bad) }
        }
        do {
            _ = try MeshInvite.parseLifetime("8d")
        } catch {
            #expect(error.message.contains("maximum token lifetime of 7d"), "\(error.message)")
        }
    }

    @Test func formattedLifetimes() {
        #expect(MeshInvite.formatLifetime(86_400) == "24h")
        #expect(MeshInvite.formatLifetime(604_800) == "7d")
        #expect(MeshInvite.formatLifetime(129_600) == "1d12h")
        #expect(MeshInvite.formatLifetime(5400) == "1h30m")
        #expect(MeshInvite.formatLifetime(45) == "45s")
        #expect(MeshInvite.formatLifetime(0) == "0s")
    }
}
