/// Claiming our instance name (RFC 6762 §8.1, §8.2, §9): probe before announcing, rename
/// when it is taken, settle simultaneous probes.
extension DiscoveryStateMachine {
    /// Whether our instance name is still being probed for, or is ours.
    enum NameState: Hashable {
        /// `sent` probes went out; the name is not announced nor defended yet.
        case probing(sent: Int)
        /// Probing found no other claim: announced, answered, defended.
        case owned
    }

    /// After this many conflicts within `conflictWindow`, probe at most every `conflictBackoff` (§9).
    static let conflictLimit = 15
    static let conflictWindow: Duration = .seconds(10)
    static let conflictBackoff: Duration = .seconds(5)
    /// How long the loser of a simultaneous probe waits before probing again (§8.2).
    static let probeTieDelay: Duration = .seconds(1)

    /// The instance label to use after `renames` conflicts: "NAME (2)", "NAME (3)"..., the
    /// name cut (by whole characters) so the label stays within 63 bytes.
    static func alternativeName(for base: String, attempt: Int) -> String {
        let suffix = " (\(attempt))"
        var base = base
        while !base.isEmpty, base.utf8.count + suffix.utf8.count > DNSName.maximumLabelLength { base.removeLast() }
        return base + suffix
    }

    /// Begins (again) to probe for the current name at `now`; nothing is announced meanwhile.
    mutating func startProbing(at now: Instant, after delay: Duration = .zero) {
        nextAnnouncement = nil
        announcementsSent = 0
        guard settings.probeCount > 0 else {
            nameState = .owned
            nextProbe = nil
            nextAnnouncement = now
            return
        }
        nameState = .probing(sent: 0)
        nextProbe = now + delay
    }

    /// Sends the probe that is due, or, once the last one went unanswered for a probe
    /// interval, takes the name and schedules the announcements.
    mutating func probeIfDue(now: Instant) -> [DiscoveryAction] {
        guard case .probing(let sent) = nameState, let due = nextProbe, due <= now else { return [] }
        guard sent < settings.probeCount else {
            nameState = .owned
            nextProbe = nil
            nextAnnouncement = now
            return []
        }
        nameState = .probing(sent: sent + 1)
        nextProbe = now + settings.probeInterval
        return probeMessage().map { [.send($0, .multicast)] } ?? []
    }

    /// A probe (§8.1): a query for our instance name, type ANY, with the records we propose
    /// in the authority section. (The QU bit is left clear: several responders on one host
    /// share port 5353, and a unicast answer would reach only one of them.)
    func probeMessage() -> DNSMessage? {
        guard let own = ownRecords, let instance = ownInstanceName else { return nil }
        return DNSMessage(questions: [DNSQuestion(name: instance, type: .any)], authorities: [own.service, own.text])
    }

    /// Whether `record`, named as our instance, claims the name with other data: while
    /// probing, a record of any type that is not one of ours (§8.1); once the name is ours,
    /// an SRV or TXT record with other data than ours (§9).
    func conflicts(_ record: DNSResourceRecord) -> Bool {
        guard let own = ownRecords else { return false }
        let ours = [own.service, own.text]
        switch nameState {
        case .probing:
            return !ours.contains { $0.hasSameData(as: record) }
        case .owned:
            guard let mine = ours.first(where: { $0.type == record.type && $0.recordClass == record.recordClass }) else {
                return false
            }
            return mine.data != record.data
        }
    }

    /// Another responder holds our name with `record`. Probing: the name is taken, so take
    /// the next one and probe for it. Owned: probe again (the other may be gone, or may
    /// be the one to rename).
    mutating func nameTaken(by record: DNSResourceRecord, now: Instant) -> [DiscoveryAction] {
        recentConflicts = recentConflicts.filter { now - $0 < Self.conflictWindow } + [now]
        let delay = recentConflicts.count >= Self.conflictLimit ? Self.conflictBackoff : .zero
        guard case .probing = nameState, var instance = advertised, let base = settings.advertised?.instanceLabel else {
            startProbing(at: now, after: delay)
            return [.nameConflict(record)]
        }
        let old = instance.instanceLabel
        renames += 1
        instance.instanceLabel = Self.alternativeName(for: base, attempt: renames + 1)
        if instance.hostNameFollowsInstance {
            instance.hostName = DNSName(LANDiscovery.Advertisement.defaultHostName(for: instance.instanceLabel))
        }
        advertised = instance
        startProbing(at: now, after: delay)
        return [.renamed(from: old, to: instance.instanceLabel)]
    }

    /// A query received while probing: when it is another host's probe for the same name,
    /// the lexicographically later set of proposed records wins (§8.2); the loser waits a
    /// second and probes again (by then the winner answers, and the loser renames). Our
    /// own probe coming back (identical records) changes nothing.
    mutating func receiveProbe(_ query: DNSMessage, now: Instant) -> [DiscoveryAction] {
        guard let instance = ownInstanceName, let own = ownRecords, query.questions.contains(where: { $0.name == instance })
        else { return [] }
        let theirs = query.authorities.filter { $0.name == instance }
        guard !theirs.isEmpty, Self.compare([own.service, own.text], theirs) < 0 else { return [] }
        startProbing(at: now, after: Self.probeTieDelay)
        return []
    }

    /// -1, 0 or 1 as the record set `lhs` sorts before, equal to or after `rhs` (§8.2:
    /// records sorted by class, type, then raw rdata bytes; compared in turn; a set that
    /// runs out first is the lesser).
    static func compare(_ lhs: [DNSResourceRecord], _ rhs: [DNSResourceRecord]) -> Int {
        func key(_ record: DNSResourceRecord) -> [UInt8] {
            [UInt8(record.recordClass >> 8), UInt8(truncatingIfNeeded: record.recordClass)]
                + [UInt8(record.type.rawValue >> 8), UInt8(truncatingIfNeeded: record.type.rawValue)] + rdata(record.data)
        }
        let left = lhs.map(key).sorted { $0.lexicographicallyPrecedes($1) }
        let right = rhs.map(key).sorted { $0.lexicographicallyPrecedes($1) }
        for (a, b) in zip(left, right) where a != b {
            return a.lexicographicallyPrecedes(b) ? -1 : 1
        }
        return left.count == right.count ? 0 : (left.count < right.count ? -1 : 1)
    }

    /// The raw uncompressed rdata of `data`.
    static func rdata(_ data: DNSRecordData) -> [UInt8] {
        func name(_ name: DNSName) -> [UInt8] {
            name.labels.flatMap { label in [UInt8(min(label.utf8.count, 255))] + Array(label.utf8) } + [0]
        }
        func uint16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(truncatingIfNeeded: value)] }
        switch data {
        case .a(let address): return address.bytes
        case .aaaa(let address): return address.bytes
        case .ptr(let target): return name(target)
        case .srv(let location):
            return uint16(location.priority) + uint16(location.weight) + uint16(location.port) + name(location.target)
        case .txt(let strings):
            return (strings.isEmpty ? [[]] : strings).flatMap { [UInt8(min($0.count, 255))] + $0 }
        case .opaque(let raw): return raw
        }
    }
}
