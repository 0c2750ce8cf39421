import Foundation

/// An invitation to a mesh: a signed `MeshToken` plus where to meet the mesh (its relays)
/// and the mesh's display name, carried by one link:
///
/// ```
/// atmosphere://join?invite=TOKEN&relay=ws://relay.example:8765&relay=wss://r2.example&name=home
/// ```
///
/// `invite` is the token's transport form (`MeshToken.transportString()`). `relay` (0 or
/// more) and `name` (0 or 1) are extra query items: a client that only knows
/// `atmosphere://join?invite=...` (`MeshToken(inviteLink:)`) ignores them and still reads
/// the token. Query values are percent-encoded; `+` is never written and read as itself.
public struct MeshInvite: Sendable, Hashable {
    /// The query item naming a relay (repeatable).
    public static let relayQueryItem = "relay"
    /// The query item carrying the mesh's display name.
    public static let nameQueryItem = "name"
    /// Most relays one invite names.
    public static let maxRelays = 8
    /// Longest relay URL, in bytes.
    public static let maxRelayURLBytes = 512
    /// Longest mesh name, in characters (and at most four times as many UTF-8 bytes).
    public static let maxNameLength = 64
    /// Longest invite link accepted, in bytes: the token plus every relay and the name.
    public static let maxLinkBytes = RelayLimits.maxTokenBytes + maxRelays * (maxRelayURLBytes * 3 + 16) + 1024

    /// The admission token.
    public var token: MeshToken
    /// The relays to connect to (`ws://` or `wss://` URLs), in the issuer's order of preference.
    public var relays: [String]
    /// The mesh's display name, when the link carries one.
    public var meshName: String?

    /// An invite with the given parts (checked when the link is built or read).
    public init(token: MeshToken, relays: [String] = [], meshName: String? = nil) {
        self.token = token
        self.relays = relays
        self.meshName = meshName
    }

    /// The invite link `atmosphere://join?invite=...&relay=...&name=...`. Throws when a relay
    /// or the name would not be read back (see `relayProblem` and `nameProblem`).
    public func link() throws -> String {
        try Self.checkParts(relays: relays, meshName: meshName, meshID: token.meshID)
        var query = "\(MeshToken.inviteQueryItem)=\(try token.transportString())"
        for relay in relays {
            query += "&\(Self.relayQueryItem)=\(Self.percentEncoded(relay))"
        }
        if let meshName {
            query += "&\(Self.nameQueryItem)=\(Self.percentEncoded(meshName))"
        }
        return "\(MeshToken.inviteScheme)://\(MeshToken.inviteHost)?\(query)"
    }

    /// Reads an invite from what a person pastes: an `atmosphere://join?...` link (with or
    /// without relays and name), or a bare token in its base64url transport form (no relays,
    /// no name). Surrounding whitespace is ignored. Relays must pass `relayProblem` (and not
    /// name another mesh); the name must pass `nameProblem`.
    public init(parsing text: String) throws(WireError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.utf8.count <= Self.maxLinkBytes else {
            throw WireError(.tooLarge, "invite: longer than \(Self.maxLinkBytes) bytes")
        }
        guard Self.looksLikeLink(trimmed) else {
            self.init(token: try MeshToken(transportString: trimmed))
            return
        }
        guard let components = URLComponents(string: trimmed),
            components.scheme?.lowercased() == MeshToken.inviteScheme,
            components.host?.lowercased() == MeshToken.inviteHost
        else {
            throw WireError(
                .invalidValue, "invite: not an \(MeshToken.inviteScheme)://\(MeshToken.inviteHost)?invite=... link")
        }
        let items = components.queryItems ?? []
        guard let value = items.first(where: { $0.name == MeshToken.inviteQueryItem })?.value, !value.isEmpty else {
            throw WireError(.missingField, "invite: the link has no '\(MeshToken.inviteQueryItem)' parameter")
        }
        let token = try MeshToken(transportString: value)
        var relays: [String] = []
        for item in items where item.name == Self.relayQueryItem {
            guard let relay = item.value, !relay.isEmpty else { continue }
            if !relays.contains(relay) { relays.append(relay) }
        }
        let names = items.filter { $0.name == Self.nameQueryItem }.compactMap(\.value)
        guard names.count <= 1 else { throw WireError(.invalidValue, "invite: the link names the mesh more than once") }
        let meshName = names.first.flatMap { $0.isEmpty ? nil : $0 }
        try Self.checkParts(relays: relays, meshName: meshName, meshID: token.meshID)
        self.init(token: token, relays: relays, meshName: meshName)
    }

    /// True when `text` starts like a URL (`scheme:`) rather than a base64url token, whose
    /// alphabet has no `:`.
    static func looksLikeLink(_ text: String) -> Bool {
        text.contains(":")
    }

    static func checkParts(relays: [String], meshName: String?, meshID: String) throws(WireError) {
        guard relays.count <= maxRelays else {
            throw WireError(.tooLarge, "invite: more than \(maxRelays) relays")
        }
        for relay in relays {
            if let problem = relayProblem(relay, meshID: meshID) { throw WireError(.invalidValue, "invite: \(problem)") }
        }
        if let meshName, let problem = nameProblem(meshName) { throw WireError(.invalidValue, "invite: \(problem)") }
    }
}

extension MeshInvite {
    /// Why `url` cannot be a relay address, or nil when it can: a `ws://` or `wss://` URL
    /// (`http://` and `https://` are accepted too, and mean the same server) with a host,
    /// printable ASCII, at most `maxRelayURLBytes`, no query, fragment or user name. When
    /// `meshID` is given, a URL whose path names a mesh (`.../relay/{id}`) must name that one.
    public static func relayProblem(_ url: String, meshID: String? = nil) -> String? {
        let example = "e.g. ws://relay.example:8765"
        guard url.utf8.count <= maxRelayURLBytes else {
            return "relay URL longer than \(maxRelayURLBytes) bytes"
        }
        guard url.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            return "a relay URL must be printable ASCII without spaces (\(example))"
        }
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            ["ws", "wss", "http", "https"].contains(scheme)
        else {
            return "relay '\(url)' is not a ws:// or wss:// URL (\(example))"
        }
        guard let host = components.host, !host.isEmpty else {
            return "relay '\(url)' has no host (\(example))"
        }
        guard components.query == nil, components.fragment == nil, components.user == nil else {
            return "relay '\(url)' must not have a query, a fragment or a user name (\(example))"
        }
        if let meshID, let named = meshNamed(inRelayPath: components.path), named != meshID {
            return "relay '\(url)' is the address of mesh \(named), not of mesh \(meshID)"
        }
        return nil
    }

    /// The mesh id a relay URL's path names (`/relay/{mesh_id}`, possibly under a prefix),
    /// or nil when the path is a base (empty, `/`, or a prefix without `relay/{id}`).
    public static func meshNamed(inRelayPath path: String) -> String? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        guard parts.count >= 2, parts[parts.count - 2] == "relay" else { return nil }
        return String(parts[parts.count - 1])
    }

    /// Why `name` cannot be a mesh's display name, or nil when it can: 1 to `maxNameLength`
    /// characters, not only spaces, no control characters.
    public static func nameProblem(_ name: String) -> String? {
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty else {
            return "the mesh name is empty"
        }
        guard name.count <= maxNameLength, name.utf8.count <= maxNameLength * 4 else {
            return "the mesh name is longer than \(maxNameLength) characters"
        }
        guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            return "the mesh name must not contain control characters (newlines, tabs...)"
        }
        return nil
    }

    /// Percent-encodes a query value, keeping only unreserved characters and `:` `/` `@`
    /// (so relay URLs stay readable). `+`, `&`, `=`, `#`, `%` and spaces are always encoded.
    static func percentEncoded(_ value: String) -> String {
        var allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        allowed.insert(charactersIn: "-._~:/@")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }
}
