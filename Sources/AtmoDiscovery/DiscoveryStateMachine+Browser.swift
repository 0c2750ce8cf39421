/// The browser half: caching what others send, resolving instances, reporting changes.
extension DiscoveryStateMachine {
    /// Caches the records of a response that concern the service type: PTRs of the type,
    /// SRV and TXT of its instances, and A/AAAA records of the hosts those SRVs name.
    /// Records about our own instance are skipped (an SRV that differs is a conflict).
    mutating func ingest(_ records: [DNSResourceRecord], now: Instant) -> [DiscoveryAction] {
        var actions: [DiscoveryAction] = []
        var addressRecords: [DNSResourceRecord] = []
        let own = ownInstanceName
        for record in records where record.recordClass == DNSClass.internet {
            switch record.type {
            case .ptr where record.name == settings.serviceType:
                guard case .ptr(let instance) = record.data, instance.parent == settings.serviceType,
                    instance != own
                else { continue }
                cache.insert(record, now: now)
            case .srv, .txt:
                guard record.name.parent == settings.serviceType, record.name.labels.count > 0 else { continue }
                if record.name == own {
                    if record.ttl > 0, conflicts(record) {
                        actions += nameTaken(by: record, now: now)
                        return actions
                    }
                    continue
                }
                cache.insert(record, now: now)
            case .a, .aaaa:
                addressRecords.append(record)
            default:
                continue
            }
        }
        if !addressRecords.isEmpty {
            // Retired SRVs count: a goodbye lists the SRV before the host's addresses.
            let targets = Set(cache.entries.values.compactMap(\.record.serviceLocation?.target))
            for record in addressRecords where targets.contains(record.name) || cache.contains(record) {
                cache.insert(record, now: now)
            }
        }
        return actions
    }

    /// Compares the complete instances in the cache with those reported, and returns the
    /// `found` and `lost` events of the difference (lost first, then found, by name).
    /// Instances seen via PTR but incomplete are queued for resolving.
    mutating func reconcile(now: Instant) -> [DiscoveryAction] {
        var current: [DNSName: DiscoveredService] = [:]
        var seen: Set<DNSName> = []
        for pointer in cache.records(named: settings.serviceType, type: .ptr) {
            guard case .ptr(let instance) = pointer.data, seen.insert(instance).inserted else { continue }
            if let service = resolvedService(instance) {
                current[instance] = service
            } else if resolving[instance] == nil {
                resolving[instance] = ResolveState(nextQuery: now + settings.resolveDelay)
            }
        }
        resolving = resolving.filter { seen.contains($0.key) && current[$0.key] == nil }
        let lost = reported.keys.filter { current[$0] == nil }.sorted { $0.description < $1.description }
        let found = current.filter { reported[$0.key] != $0.value }.sorted { $0.key.description < $1.key.description }
        reported = current
        return lost.map { .report(.lost(instanceName: $0.firstLabel ?? "")) } + found.map { .report(.found($0.value)) }
    }

    /// The instance's description if its SRV, TXT and at least one address are cached.
    func resolvedService(_ instance: DNSName) -> DiscoveredService? {
        guard let location = cache.records(named: instance, type: .srv).first?.serviceLocation,
            case .txt(let strings) = cache.records(named: instance, type: .txt).first?.data
        else { return nil }
        let v4 = cache.records(named: location.target, type: .a).compactMap { record -> IPv4Address? in
            if case .a(let address) = record.data { return address }
            return nil
        }
        let v6 = cache.records(named: location.target, type: .aaaa).compactMap { record -> IPv6Address? in
            if case .aaaa(let address) = record.data { return address }
            return nil
        }
        let addresses = v4.sorted { $0.value < $1.value }.map(\.description) + v6.map(\.description).sorted()
        guard !addresses.isEmpty else { return nil }
        return DiscoveredService(
            instanceName: instance.firstLabel ?? "", hostName: location.target.description, port: Int(location.port),
            addresses: addresses, txt: TXTCoding.decode(strings))
    }

    /// The questions for the missing records of the instances due to be resolved: SRV
    /// and TXT of the instance, or A and AAAA of its host once the SRV is known. Each
    /// instance is asked `resolveAttempts` times, 1 s, 2 s, 4 s... apart.
    mutating func takeDueResolveQuestions(now: Instant) -> [DNSQuestion] {
        var questions: [DNSQuestion] = []
        for (instance, state) in resolving {
            guard let due = state.nextQuery, due <= now else { continue }
            if cache.records(named: instance, type: .srv).isEmpty {
                questions.append(DNSQuestion(name: instance, type: .srv))
            }
            if cache.records(named: instance, type: .txt).isEmpty {
                questions.append(DNSQuestion(name: instance, type: .txt))
            }
            if let target = cache.records(named: instance, type: .srv).first?.serviceLocation?.target,
                cache.records(named: target, type: .a).isEmpty, cache.records(named: target, type: .aaaa).isEmpty
            {
                questions.append(DNSQuestion(name: target, type: .a))
                questions.append(DNSQuestion(name: target, type: .aaaa))
            }
            var next = state
            next.attempts += 1
            next.nextQuery = next.attempts < settings.resolveAttempts ? now + next.interval : nil
            next.interval = next.interval * 2
            resolving[instance] = next
        }
        return questions.sorted { ($0.name.description, $0.type.rawValue) < ($1.name.description, $1.type.rawValue) }
    }
}

extension DNSResourceRecord {
    /// The SRV data, if this is an SRV record.
    var serviceLocation: DNSServiceLocation? {
        if case .srv(let location) = data { return location }
        return nil
    }
}
