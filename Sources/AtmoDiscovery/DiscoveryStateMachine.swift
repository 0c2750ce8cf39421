/// The instance we advertise, in wire form.
struct AdvertisedInstance: Hashable, Sendable {
    var instanceLabel: String
    var hostName: DNSName
    var port: UInt16
    var txt: [[UInt8]]
    var addresses: [IPv4Address]
    /// Whether `hostName` was derived from the instance name (it follows a rename).
    var hostNameFollowsInstance = false
}

/// The timings and limits of discovery. The defaults follow RFC 6762.
struct DiscoverySettings: Sendable {
    var serviceType: DNSName
    var advertised: AdvertisedInstance?
    var browse = true
    /// Probe queries for our instance name before announcing it (§8.1: three; 0 announces
    /// at once without probing).
    var probeCount = 3
    /// The gap between probes, and after the last one before the name is ours (§8.1).
    var probeInterval: Duration = .milliseconds(250)
    /// Unsolicited announcements once the name is ours (§8.3: at least two).
    var announcementCount = 3
    /// The gap after the first announcement; each later gap doubles (§8.3).
    var firstAnnouncementInterval: Duration = .seconds(1)
    /// The gap after the first browse query; each later gap doubles (§5.2).
    var firstQueryInterval: Duration = .seconds(1)
    /// The longest gap between browse queries (§5.2: at most 60 minutes).
    var maximumQueryInterval: Duration = .seconds(3600)
    /// The wait before asking for the records an instance seen via PTR is missing.
    var resolveDelay: Duration = .milliseconds(200)
    /// How many times to ask for missing records (gaps 1 s, 2 s, 4 s...).
    var resolveAttempts = 4
    /// TTL of records about the host (SRV, A): 120 s (§10).
    var hostRecordTTL: UInt32 = 120
    /// TTL of the other records (PTR, TXT): 75 minutes (§10).
    var otherRecordTTL: UInt32 = 4500
    var cacheCapacity = 2048
    var maximumKnownAnswers = 32
}

/// What the state machine asks its driver to do.
enum DiscoveryAction: Hashable, Sendable {
    /// Send a message to the mDNS group, or back to the sender of the query being handled
    /// (a "legacy" one-shot query from a port other than 5353, RFC 6762 §6.7).
    case send(DNSMessage, Destination)
    /// Tell the user.
    case report(DiscoveryEvent)
    /// Another responder claims our instance name with a different record: we probe again
    /// (and rename if it still holds it).
    case nameConflict(DNSResourceRecord)
    /// Our instance name was taken (§9): we now probe for and advertise `to`.
    case renamed(from: String, to: String)

    enum Destination: Hashable, Sendable { case multicast, querier }
}

/// The mDNS responder and DNS-SD browser as a pure state machine (RFC 6762, RFC 6763):
/// events in (`start`, `receive`, `tick`, `stop`), actions out; no clock, no sockets.
/// The driver calls `tick` at `nextDeadline`.
///
/// Our instance name is probed before it is announced (§8.1: three queries 250 ms apart,
/// with our SRV and TXT as proposed records); a response that claims it with other data
/// makes us rename (§9: "NAME (2)", "NAME (3)"...) and probe again, and simultaneous
/// probes are settled by comparing the proposed records (§8.2). A conflict found after
/// announcing sends us back to probing. Our own records coming back to us (multicast
/// loopback) are never cached nor reported: an instance with our instance name is ours.
struct DiscoveryStateMachine {
    typealias Instant = ContinuousClock.Instant

    /// The mDNS port: responses from any other port are ignored (§6), queries from any
    /// other port are legacy one-shot queries.
    static let mdnsPort = 5353

    private enum Phase { case idle, running, stopped }

    struct ResolveState: Hashable {
        var nextQuery: Instant?
        var attempts = 0
        var interval: Duration = .seconds(1)
    }

    let settings: DiscoverySettings
    /// The instance we advertise: `settings.advertised`, renamed after conflicts.
    var advertised: AdvertisedInstance?
    /// Probing for the name, or holding it (see DiscoveryStateMachine+Probing.swift).
    var nameState = NameState.probing(sent: 0)
    var nextProbe: Instant?
    /// How many times the name was taken (the next name is "NAME (renames + 2)").
    var renames = 0
    /// When recent conflicts happened (§9: after 15 in 10 s, probe at most every 5 s).
    var recentConflicts: [Instant] = []
    private var phase = Phase.idle
    var announcementsSent = 0
    /// The instance whose records we last sent as ours (announced or answered with), as
    /// sent: what the goodbye on `stop` withdraws, even when a conflict has since sent us
    /// back to probing (peers cache those records for up to 75 minutes).
    var announced: AdvertisedInstance?
    var nextAnnouncement: Instant?
    private(set) var nextBrowseQuery: Instant?
    private(set) var browseInterval: Duration
    var cache: DiscoveryCache
    /// The instances reported as found, by full instance name.
    var reported: [DNSName: DiscoveredService] = [:]
    /// Instances seen via PTR whose SRV, TXT or address is still missing.
    var resolving: [DNSName: ResolveState] = [:]

    init(settings: DiscoverySettings) {
        self.settings = settings
        self.advertised = settings.advertised
        self.browseInterval = settings.firstQueryInterval
        self.cache = DiscoveryCache(capacity: settings.cacheCapacity)
    }

    /// Our full instance name, when advertising.
    var ownInstanceName: DNSName? {
        advertised.map { settings.serviceType.prepending($0.instanceLabel) }
    }

    /// When `tick` must be called next; nil when nothing is scheduled.
    var nextDeadline: Instant? {
        guard phase == .running else { return nil }
        let candidates = [nextProbe, nextAnnouncement, nextBrowseQuery, cache.nextDeadline] + resolving.values.map(\.nextQuery)
        return candidates.compactMap { $0 }.min()
    }

    /// Starts: the first probe (or, without probing, the first announcement) and the first
    /// browse query go out at once.
    mutating func start(now: Instant) -> [DiscoveryAction] {
        guard phase == .idle else { return [] }
        phase = .running
        var actions: [DiscoveryAction] = []
        if advertised != nil {
            startProbing(at: now)
        }
        if settings.browse {
            nextBrowseQuery = now
        }
        actions += tick(now: now)
        return actions
    }

    /// Stops: a goodbye (the records we announced, with TTL 0, §10.1) if anything was
    /// announced, even when a conflict has sent us back to probing since.
    mutating func stop(now: Instant) -> [DiscoveryAction] {
        defer { phase = .stopped }
        guard phase == .running, let goodbye = goodbyeMessage() else { return [] }
        return [.send(goodbye, .multicast)]
    }

    /// Handles one received message. `sourcePort` is the UDP port it came from.
    mutating func receive(_ message: DNSMessage, sourcePort: Int, now: Instant) -> [DiscoveryAction] {
        guard phase == .running, message.opcode == 0 else { return [] }
        if message.isResponse {
            guard sourcePort == Self.mdnsPort, message.responseCode == 0 else { return [] }
            var actions = ingest(message.allRecords, now: now)
            actions += reconcile(now: now)
            return actions
        }
        if case .probing = nameState { return receiveProbe(message, now: now) }
        let legacy = sourcePort != Self.mdnsPort
        guard let response = response(to: message, legacyUnicast: legacy) else { return [] }
        announced = advertised
        return [.send(response, legacy ? .querier : .multicast)]
    }

    /// Does what is due at `now`: announcements, browse and refresh queries, questions for
    /// missing records, expiries (and the `lost` events they cause).
    mutating func tick(now: Instant) -> [DiscoveryAction] {
        guard phase == .running else { return [] }
        var actions = probeIfDue(now: now)
        if let due = nextAnnouncement, due <= now, let announcement = announcementMessage() {
            actions.append(.send(announcement, .multicast))
            announced = advertised
            announcementsSent += 1
            nextAnnouncement =
                announcementsSent < settings.announcementCount
                ? now + settings.firstAnnouncementInterval * (1 << (announcementsSent - 1)) : nil
        }
        cache.removeExpired(now: now)
        var query = DNSMessage()
        if let due = nextBrowseQuery, due <= now {
            query.questions.append(DNSQuestion(name: settings.serviceType, type: .ptr))
            nextBrowseQuery = now + browseInterval
            browseInterval = min(browseInterval * 2, settings.maximumQueryInterval)
        }
        query.questions += cache.takeDueRefreshes(now: now)
        query.questions += takeDueResolveQuestions(now: now)
        query.questions = query.questions.uniqued()
        if query.questions.contains(where: { $0.name == settings.serviceType && $0.type == .ptr }) {
            query.answers = cache.knownAnswers(
                named: settings.serviceType, type: .ptr, now: now, limit: settings.maximumKnownAnswers)
        }
        if !query.questions.isEmpty {
            actions.append(.send(query, .multicast))
        }
        actions += reconcile(now: now)
        return actions
    }
}

extension Array where Element: Hashable {
    /// The elements in order, later duplicates dropped.
    func uniqued() -> [Element] {
        var seen: Set<Element> = []
        return filter { seen.insert($0).inserted }
    }
}
