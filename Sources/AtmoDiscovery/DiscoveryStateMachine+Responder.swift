/// The responder half: our records, announcements, answers and goodbyes.
extension DiscoveryStateMachine {
    /// Our records, with the TTLs of RFC 6762 §10 and the cache-flush bit on the unique ones.
    struct OwnRecords {
        var pointer: DNSResourceRecord
        var service: DNSResourceRecord
        var text: DNSResourceRecord
        var addresses: [DNSResourceRecord]
        var serviceTypeEnumeration: DNSResourceRecord
    }

    var ownRecords: OwnRecords? { advertised.map(records(of:)) }

    /// The records of `advertised` (ours now, or as we last announced it).
    func records(of advertised: AdvertisedInstance) -> OwnRecords {
        let instance = settings.serviceType.prepending(advertised.instanceLabel)
        let hostTTL = settings.hostRecordTTL
        let otherTTL = settings.otherRecordTTL
        let location = DNSServiceLocation(priority: 0, weight: 0, port: advertised.port, target: advertised.hostName)
        return OwnRecords(
            pointer: DNSResourceRecord(name: settings.serviceType, type: .ptr, ttl: otherTTL, data: .ptr(instance)),
            service: DNSResourceRecord(name: instance, type: .srv, cacheFlush: true, ttl: hostTTL, data: .srv(location)),
            text: DNSResourceRecord(name: instance, type: .txt, cacheFlush: true, ttl: otherTTL, data: .txt(advertised.txt)),
            addresses: advertised.addresses.map {
                DNSResourceRecord(name: advertised.hostName, type: .a, cacheFlush: true, ttl: hostTTL, data: .a($0))
            },
            serviceTypeEnumeration: DNSResourceRecord(
                name: .serviceTypeEnumeration, type: .ptr, ttl: otherTTL, data: .ptr(settings.serviceType))
        )
    }

    /// The unsolicited response sent on start (§8.3): every record of ours.
    func announcementMessage() -> DNSMessage? {
        guard let own = ownRecords else { return nil }
        return DNSMessage(
            flags: DNSMessage.responseFlags,
            answers: [own.pointer, own.service, own.text] + own.addresses + [own.serviceTypeEnumeration])
    }

    /// The goodbye sent on stop (§10.1): the records we last put on the wire (`announced`)
    /// with TTL 0, whether the name is still ours or being probed for again after a
    /// conflict. When that name has since gone to another host (we renamed), its PTR is
    /// left out: the PTR to that name is now the other host's too, and its goodbye would
    /// remove it from every cache. The service type enumeration record is left alone:
    /// another instance on this host may share it.
    func goodbyeMessage() -> DNSMessage? {
        guard let announced else { return nil }
        let own = records(of: announced)
        let nameStillOurs = announced.instanceLabel == advertised?.instanceLabel
        let records = ((nameStillOurs ? [own.pointer] : []) + [own.service, own.text] + own.addresses).map { record in
            var record = record
            record.ttl = 0
            return record
        }
        return DNSMessage(flags: DNSMessage.responseFlags, answers: records)
    }

    /// The answer to a query, or nil when it asks nothing of ours. Answers the query
    /// already lists with at least half our TTL are left out (known-answer suppression,
    /// §7.1). A PTR answer carries our SRV, TXT and A records as additional records
    /// (RFC 6763 §12). A legacy query gets its id and questions back, TTLs of at most
    /// 10 s and no cache-flush bits (§6.7).
    func response(to query: DNSMessage, legacyUnicast: Bool) -> DNSMessage? {
        guard nameState == .owned, let own = ownRecords, let instance = ownInstanceName, let hostName = advertised?.hostName else {
            return nil
        }
        var answers: [DNSResourceRecord] = []
        var additionals: [DNSResourceRecord] = []
        for question in query.questions
        where question.questionClass == DNSClass.internet || question.questionClass == DNSClass.any {
            func asks(_ type: DNSRecordType) -> Bool { question.type == type || question.type == .any }
            if question.name == settings.serviceType, asks(.ptr) {
                answers.append(own.pointer)
                additionals += [own.service, own.text] + own.addresses
            }
            if question.name == .serviceTypeEnumeration, asks(.ptr) {
                answers.append(own.serviceTypeEnumeration)
            }
            if question.name == instance {
                if asks(.srv) {
                    answers.append(own.service)
                    additionals += own.addresses
                }
                if asks(.txt) { answers.append(own.text) }
            }
            if question.name == hostName, asks(.a) {
                answers += own.addresses
            }
        }
        answers = answers.uniqued().filter { ours in
            !query.answers.contains { $0.hasSameData(as: ours) && $0.ttl >= ours.ttl / 2 }
        }
        guard !answers.isEmpty else { return nil }
        additionals = additionals.uniqued().filter { !answers.contains($0) }
        var response = DNSMessage(flags: DNSMessage.responseFlags, answers: answers, additionals: additionals)
        if legacyUnicast {
            response.id = query.id
            response.questions = query.questions.map { question in
                var question = question
                question.unicastResponse = false
                return question
            }
            response.answers = response.answers.map(Self.legacyForm)
            response.additionals = response.additionals.map(Self.legacyForm)
        }
        return response
    }

    private static func legacyForm(_ record: DNSResourceRecord) -> DNSResourceRecord {
        var record = record
        record.ttl = min(record.ttl, 10)
        record.cacheFlush = false
        return record
    }
}
