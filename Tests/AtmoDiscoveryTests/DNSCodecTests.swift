import Testing

@testable import AtmoDiscovery

@Suite("DNS message codec")
struct DNSCodecTests {
    static let serviceType = DNSName("_atmosphere._tcp.local.")
    static let instance = serviceType.prepending("node-a")
    static let host = DNSName("atmo-node-a.local.")

    static func label(_ text: String) -> [UInt8] { [UInt8(text.utf8.count)] + Array(text.utf8) }

    @Test func encodesAQueryToGoldenBytes() throws {
        let query = DNSMessage(questions: [DNSQuestion(name: Self.serviceType, type: .ptr)])
        let expected: [UInt8] =
            [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
            + Self.label("_atmosphere") + Self.label("_tcp") + Self.label("local") + [0]
            + [0x00, 0x0C, 0x00, 0x01]
        #expect(try query.encoded() == expected)
        #expect(try DNSMessage(decoding: expected) == query)
    }

    @Test func compressesOwnerAndDataNamesToGoldenBytes() throws {
        let location = DNSServiceLocation(priority: 0, weight: 0, port: 8080, target: Self.host)
        let response = DNSMessage(
            flags: DNSMessage.responseFlags,
            answers: [
                DNSResourceRecord(name: Self.serviceType, type: .ptr, ttl: 4500, data: .ptr(Self.instance)),
                DNSResourceRecord(name: Self.instance, type: .srv, cacheFlush: true, ttl: 120, data: .srv(location)),
            ])
        var expected: [UInt8] = [0, 0, 0x84, 0, 0, 0, 0, 2, 0, 0, 0, 0]
        // offset 12: _atmosphere(12) _tcp(24) local(29) root(35)
        expected += Self.label("_atmosphere") + Self.label("_tcp") + Self.label("local") + [0]
        expected += [0x00, 0x0C, 0x00, 0x01, 0x00, 0x00, 0x11, 0x94, 0x00, 0x09]
        // offset 46: the PTR data, "node-a" then a pointer to the service type at 12
        expected += Self.label("node-a") + [0xC0, 0x0C]
        // the SRV owner is a pointer to 46; class has the cache-flush bit
        expected += [0xC0, 0x2E, 0x00, 0x21, 0x80, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x14]
        expected += [0x00, 0x00, 0x00, 0x00, 0x1F, 0x90] + Self.label("atmo-node-a") + [0xC0, 0x1D]
        #expect(try response.encoded() == expected)
        #expect(try DNSMessage(decoding: expected) == response)
    }

    @Test func roundTripsEveryRecordKindAndSkipsNSEC() throws {
        let message = DNSMessage(
            id: 0x1234, flags: DNSMessage.responseFlags,
            questions: [DNSQuestion(name: Self.instance, type: .any, unicastResponse: true)],
            answers: [
                DNSResourceRecord(name: Self.instance, type: .txt, ttl: 4500, data: .txt([Array("node_id=abc".utf8), []])),
                DNSResourceRecord(name: Self.host, type: .a, cacheFlush: true, ttl: 120, data: .a(IPv4Address("192.0.2.7")!)),
            ],
            authorities: [
                DNSResourceRecord(
                    name: Self.host, type: .aaaa, ttl: 120,
                    data: .aaaa(IPv6Address(bytes: [0xFE, 0x80] + Array(repeating: 0, count: 13) + [1])))
            ],
            additionals: [
                DNSResourceRecord(name: Self.host, type: .nsec, ttl: 120, data: .opaque([0xC0, 0x0C, 0x00, 0x04, 0x40, 0, 0, 8]))
            ])
        let decoded = try DNSMessage(decoding: try message.encoded())
        #expect(decoded == message)
        #expect(decoded.questions[0].unicastResponse)
        #expect(decoded.authorities[0].data == .aaaa(IPv6Address(bytes: [0xFE, 0x80] + Array(repeating: 0, count: 13) + [1])))
        #expect("\(IPv6Address(bytes: [0xFE, 0x80] + Array(repeating: 0, count: 13) + [1]))" == "fe80::1")
    }

    @Test func comparesNamesCaseInsensitivelyAndCompressesAcrossCase() throws {
        #expect(DNSName("_ATMOSPHERE._TCP.Local") == Self.serviceType)
        #expect(Set([DNSName("A.local."), DNSName("a.LOCAL")]).count == 1)
        #expect(DNSName(labels: ["a.b", "local"]) != DNSName("a.b.local."))
        let twice = DNSMessage(questions: [
            DNSQuestion(name: DNSName("x.LOCAL."), type: .a), DNSQuestion(name: DNSName("y.local."), type: .a),
        ])
        let bytes = try twice.encoded()
        // the second name is "y" plus a pointer to "LOCAL" written by the first
        #expect(bytes.count == 12 + (2 + 6 + 1 + 4) + (2 + 2 + 4))
        #expect(try DNSMessage(decoding: bytes) == twice)
    }

    @Test func rejectsEveryTruncation() throws {
        let message = DNSMessage(
            flags: DNSMessage.responseFlags,
            answers: [
                DNSResourceRecord(name: Self.serviceType, type: .ptr, ttl: 4500, data: .ptr(Self.instance)),
                DNSResourceRecord(name: Self.instance, type: .txt, ttl: 4500, data: .txt([Array("a=b".utf8)])),
                DNSResourceRecord(name: Self.host, type: .a, ttl: 120, data: .a(IPv4Address("10.0.0.1")!)),
            ])
        let bytes = try message.encoded()
        for length in 0..<bytes.count {
            #expect(throws: DNSCodecError.self, "prefix of \(length) bytes") {
                try DNSMessage(decoding: Array(bytes[..<length]))
            }
        }
    }

    static func decodingError(_ bytes: [UInt8]) -> DNSCodecError.Code? {
        do {
            _ = try DNSMessage(decoding: bytes)
            return nil
        } catch {
            return error.code
        }
    }

    static let oneQuestionHeader: [UInt8] = [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]

    @Test func rejectsPointerLoops() {
        // a pointer to itself
        #expect(Self.decodingError(Self.oneQuestionHeader + [0xC0, 12, 0, 1, 0, 1]) == .badPointer)
        // a label, then a pointer back to that label: a loop through one label
        #expect(Self.decodingError(Self.oneQuestionHeader + Self.label("a") + [0xC0, 12, 0, 1, 0, 1]) == .badPointer)
        // a pointer forward
        #expect(Self.decodingError(Self.oneQuestionHeader + [0xC0, 14] + Self.label("a") + [0, 0, 1, 0, 1]) == .badPointer)
        // two names pointing at each other: the first points forward to the second
        let mutual: [UInt8] = [0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0xC0, 18, 0, 1, 0, 1, 0xC0, 12, 0, 1, 0, 1]
        #expect(Self.decodingError(mutual) == .badPointer)
        // a pointer past the end
        #expect(Self.decodingError(Self.oneQuestionHeader + [0xFF, 0xFF, 0, 1, 0, 1]) == .badPointer)
    }

    @Test func rejectsMalformedNamesAndData() {
        #expect(Self.decodingError([0, 0, 0]) == .truncated)
        #expect(Self.decodingError([0, 0, 0, 0, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0]) == .truncated)
        #expect(Self.decodingError(Self.oneQuestionHeader + [0x40, 0, 0, 1, 0, 1]) == .badLabel)
        let long = Array(repeating: Self.label(String(repeating: "x", count: 63)), count: 5).flatMap { $0 }
        #expect(Self.decodingError(Self.oneQuestionHeader + long + [0, 0, 1, 0, 1]) == .nameTooLong)
        // an A record whose data is 3 bytes
        let badA: [UInt8] = [0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0] + Self.label("h") + [0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 3, 1, 2, 3]
        #expect(Self.decodingError(badA) == .badRecordData)
        // a TXT string running past its record's data
        let badTXT: [UInt8] = [0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0] + Self.label("h") + [0, 0, 16, 0, 1, 0, 0, 0, 1, 0, 2, 5, 65]
        #expect(Self.decodingError(badTXT + [66, 67, 68]) == .badRecordData)
        #expect(Self.decodingError(Array(repeating: 0, count: DNSMessage.maximumSize + 1)) == .oversized)
    }

    @Test func refusesToEncodeWhatItCannot() {
        let longLabel = DNSMessage(questions: [DNSQuestion(name: DNSName(labels: [String(repeating: "x", count: 64)]), type: .a)])
        #expect(throws: DNSCodecError.self) { try longLabel.encoded() }
        let longTXT = DNSMessage(answers: [
            DNSResourceRecord(name: Self.host, type: .txt, ttl: 1, data: .txt([Array(repeating: 65, count: 256)]))
        ])
        #expect(throws: DNSCodecError.self) { try longTXT.encoded() }
        let tooBig = DNSMessage(
            answers: Array(
                repeating: DNSResourceRecord(
                    name: Self.host, type: .txt, ttl: 1, data: .txt([Array(repeating: 65, count: 255)])), count: 40))
        #expect(throws: DNSCodecError.self) { try tooBig.encoded() }
    }

    @Test func survivesRandomAndMutatedInput() throws {
        var generator = SplitMix64(seed: 0x5EED)
        let valid = try DNSMessage(
            flags: DNSMessage.responseFlags,
            answers: [
                DNSResourceRecord(name: Self.serviceType, type: .ptr, ttl: 4500, data: .ptr(Self.instance)),
                DNSResourceRecord(
                    name: Self.instance, type: .srv, ttl: 120,
                    data: .srv(DNSServiceLocation(priority: 0, weight: 0, port: 1, target: Self.host))),
            ]
        ).encoded()
        var decodedSome = 0
        for round in 0..<20_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = valid
                for _ in 0..<(1 + Int(generator.next() % 4)) {
                    bytes[Int(generator.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: generator.next())
                }
            } else {
                bytes = (0..<Int(generator.next() % 80)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            }
            // Either outcome is fine; trapping or hanging is not.
            if (try? DNSMessage(decoding: bytes)) != nil { decodedSome += 1 }
        }
        #expect(decodedSome > 0)
    }
}

/// A small deterministic generator for the fuzz rounds.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
