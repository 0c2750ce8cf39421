/// The records other responders sent, each until its TTL runs out (RFC 6762 §10).
///
/// A goodbye (TTL 0) or a cache-flush record replacing an older one marks the old entry
/// `retired`: it is no longer used, and removed one second later (§10.1, §10.2). The cache
/// also tells when to re-query a record before it expires: at 80, 85, 90 and 95 % of its
/// TTL (§5.2).
struct DiscoveryCache {
    typealias Instant = ContinuousClock.Instant

    /// What makes two records the same record: name, type and data.
    struct Key: Hashable {
        var name: DNSName
        var type: DNSRecordType
        var data: DNSRecordData

        init(_ record: DNSResourceRecord) {
            self.name = record.name
            self.type = record.type
            self.data = record.data
        }
    }

    struct Entry {
        var record: DNSResourceRecord
        var received: Instant
        var expires: Instant
        var refreshQueriesSent = 0
        var retired = false
    }

    /// The fractions of the TTL at which a record is queried again.
    static let refreshFractions = [0.80, 0.85, 0.90, 0.95]

    private(set) var entries: [Key: Entry] = [:]
    /// New records beyond this many are dropped: a busy or hostile link cannot grow memory.
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Adds or refreshes `record`, or applies its goodbye (TTL 0) or cache-flush bit.
    /// Returns false when it was dropped because the cache is full.
    @discardableResult
    mutating func insert(_ record: DNSResourceRecord, now: Instant) -> Bool {
        let key = Key(record)
        if record.ttl == 0 {
            if var entry = entries[key], !entry.retired {
                entry.retired = true
                entry.expires = min(entry.expires, now + .seconds(1))
                entries[key] = entry
            }
            return true
        }
        if record.cacheFlush {
            let oneSecondAgo = now - .seconds(1)
            for (otherKey, other) in entries
            where otherKey.name == key.name && otherKey.type == key.type && otherKey.data != key.data
                && other.received < oneSecondAgo && !other.retired
            {
                entries[otherKey]?.retired = true
                entries[otherKey]?.expires = min(other.expires, now + .seconds(1))
            }
        }
        guard entries[key] != nil || entries.count < capacity else { return false }
        entries[key] = Entry(record: record, received: now, expires: now + .seconds(Int64(record.ttl)))
        return true
    }

    /// The records in use with this name and type, most recently received first.
    func records(named name: DNSName, type: DNSRecordType) -> [DNSResourceRecord] {
        entries.values
            .filter { !$0.retired && $0.record.type == type && $0.record.name == name }
            .sorted { $0.received > $1.received }
            .map(\.record)
    }

    /// Whether this record (name, type and data) is cached, retired or not.
    func contains(_ record: DNSResourceRecord) -> Bool {
        entries[Key(record)] != nil
    }

    /// Records of `type` named `name` with more than half their TTL left: the known
    /// answers to put in a query (RFC 6762 §7.1), with their remaining TTL.
    func knownAnswers(named name: DNSName, type: DNSRecordType, now: Instant, limit: Int) -> [DNSResourceRecord] {
        var result: [DNSResourceRecord] = []
        for entry in entries.values where !entry.retired && entry.record.type == type && entry.record.name == name {
            let remaining = entry.expires - now
            guard remaining > .seconds(Double(entry.record.ttl) / 2) else { continue }
            var record = entry.record
            record.ttl = UInt32(remaining.components.seconds)
            record.cacheFlush = false
            result.append(record)
        }
        return Array(result.sorted { "\($0.data)" < "\($1.data)" }.prefix(limit))
    }

    /// Removes the entries whose time is up.
    mutating func removeExpired(now: Instant) {
        entries = entries.filter { $0.value.expires > now }
    }

    /// The questions for the records due to be queried again, marking them as queried.
    mutating func takeDueRefreshes(now: Instant) -> [DNSQuestion] {
        var questions: [DNSQuestion] = []
        for (key, entry) in entries {
            guard let due = Self.nextRefresh(entry), due <= now else { continue }
            var updated = entry
            // Skip thresholds already passed (after a long sleep, one query is enough).
            while let next = Self.nextRefresh(updated), next <= now { updated.refreshQueriesSent += 1 }
            entries[key] = updated
            questions.append(DNSQuestion(name: key.name, type: key.type))
        }
        return questions
    }

    /// The earliest time something in the cache needs attention: an expiry or a refresh.
    var nextDeadline: Instant? {
        entries.values.flatMap { [Optional($0.expires), Self.nextRefresh($0)].compactMap { $0 } }.min()
    }

    private static func nextRefresh(_ entry: Entry) -> Instant? {
        guard !entry.retired, entry.refreshQueriesSent < refreshFractions.count else { return nil }
        return entry.received + .seconds(Double(entry.record.ttl) * refreshFractions[entry.refreshQueriesSent])
    }
}
