extension DNSMessage {
    /// Encodes the message, compressing every owner name and the names inside PTR and SRV
    /// data against the names written before them (RFC 1035 §4.1.4; RFC 6762 §18.14).
    /// Throws for invalid names, TXT strings over 255 bytes, `.opaque` data of the types
    /// that are decoded structurally, or a result over `maximumSize`.
    func encoded() throws(DNSCodecError) -> [UInt8] {
        var writer = DNSWriter()
        writer.writeUInt16(id)
        writer.writeUInt16(flags)
        for count in [questions.count, answers.count, authorities.count, additionals.count] {
            guard count <= Int(UInt16.max) else {
                throw DNSCodecError(code: .unencodable, offset: 0, message: "\(count) entries in one section")
            }
            writer.writeUInt16(UInt16(count))
        }
        for question in questions {
            try writer.writeName(question.name)
            writer.writeUInt16(question.type.rawValue)
            writer.writeUInt16(question.questionClass | (question.unicastResponse ? 0x8000 : 0))
        }
        for record in allRecords { try writer.writeRecord(record) }
        guard writer.bytes.count <= Self.maximumSize else {
            throw DNSCodecError(code: .oversized, offset: 0, message: "\(writer.bytes.count) bytes encoded")
        }
        return writer.bytes
    }
}

/// Appends DNS fields to a byte array, remembering where each name suffix was written.
struct DNSWriter {
    private(set) var bytes: [UInt8] = []
    /// Offsets of name suffixes already written, keyed by their canonical labels. Only
    /// offsets that fit a 14-bit pointer are kept.
    private var suffixOffsets: [[[UInt8]]: Int] = [:]

    mutating func writeUInt16(_ value: UInt16) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    mutating func writeUInt32(_ value: UInt32) {
        writeUInt16(UInt16(value >> 16))
        writeUInt16(UInt16(truncatingIfNeeded: value))
    }

    mutating func writeName(_ name: DNSName) throws(DNSCodecError) {
        guard name.isValid else {
            let code: DNSCodecError.Code = name.wireLength > DNSName.maximumWireLength ? .nameTooLong : .badLabel
            throw DNSCodecError(code: code, offset: bytes.count, message: "cannot encode the name \(name)")
        }
        let canonical = name.canonicalLabels
        for index in canonical.indices {
            let suffix = Array(canonical[index...])
            if let target = suffixOffsets[suffix] {
                writeUInt16(0xC000 | UInt16(target))
                return
            }
            if bytes.count <= 0x3FFF { suffixOffsets[suffix] = bytes.count }
            let label = Array(name.labels[index].utf8)
            bytes.append(UInt8(label.count))
            bytes.append(contentsOf: label)
        }
        bytes.append(0)
    }

    mutating func writeRecord(_ record: DNSResourceRecord) throws(DNSCodecError) {
        try writeName(record.name)
        writeUInt16(record.type.rawValue)
        writeUInt16(record.recordClass | (record.cacheFlush ? 0x8000 : 0))
        writeUInt32(record.ttl)
        let lengthOffset = bytes.count
        writeUInt16(0)
        try writeRecordData(record.data, type: record.type)
        let length = bytes.count - lengthOffset - 2
        guard length <= Int(UInt16.max) else {
            throw DNSCodecError(code: .unencodable, offset: lengthOffset, message: "record data of \(length) bytes")
        }
        bytes[lengthOffset] = UInt8(length >> 8)
        bytes[lengthOffset + 1] = UInt8(truncatingIfNeeded: length)
    }

    private mutating func writeRecordData(_ data: DNSRecordData, type: DNSRecordType) throws(DNSCodecError) {
        switch data {
        case .a(let address):
            bytes.append(contentsOf: address.bytes)
        case .aaaa(let address):
            bytes.append(contentsOf: address.bytes)
        case .ptr(let target):
            try writeName(target)
        case .srv(let location):
            writeUInt16(location.priority)
            writeUInt16(location.weight)
            writeUInt16(location.port)
            try writeName(location.target)
        case .txt(let strings):
            // An empty TXT record is one empty string (RFC 6763 §6.1).
            for string in strings.isEmpty ? [[]] : strings {
                guard string.count <= 255 else {
                    throw DNSCodecError(code: .unencodable, offset: bytes.count, message: "TXT string of \(string.count) bytes")
                }
                bytes.append(UInt8(string.count))
                bytes.append(contentsOf: string)
            }
        case .opaque(let raw):
            guard ![DNSRecordType.a, .aaaa, .ptr, .srv, .txt].contains(type) else {
                throw DNSCodecError(code: .unencodable, offset: bytes.count, message: "opaque data for a \(type) record")
            }
            bytes.append(contentsOf: raw)
        }
    }
}
