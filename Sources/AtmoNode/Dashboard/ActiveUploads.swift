import AtmoProtocol
import Foundation
import Synchronization

/// What this node uploads right now (`serving` of `GET /v1/node`): one entry per HTTP body
/// or relayed/direct transfer, from its start to its end. Bounded: past
/// `NodeAPI.maxServing` entries a new upload is served but not listed.
///
/// Cheap on the hot path: a lock when an upload begins and ends; while it runs, its sender
/// adds each chunk's bytes to the entry's atomic counter (no lock).
final class ActiveUploads: Sendable {
    /// One upload under way.
    final class Upload: Sendable {
        let id: UInt64
        let modelID: String
        let sha256: String
        let peer: String?
        let route: String
        let sizeBytes: Int64?
        let startedAt: Int64
        private let sent = Atomic<Int64>(0)

        init(id: UInt64, modelID: String, sha256: String, peer: String?, route: String, sizeBytes: Int64?, startedAt: Int64) {
            self.id = id
            self.modelID = modelID
            self.sha256 = sha256
            self.peer = peer
            self.route = route
            self.sizeBytes = sizeBytes
            self.startedAt = startedAt
        }

        /// `count` more bytes went out.
        func add(_ count: Int64) { sent.add(count, ordering: .relaxed) }

        var bytesSent: Int64 { sent.load(ordering: .relaxed) }

        var status: NodeAPI.Upload {
            NodeAPI.Upload(
                modelID: modelID, sha256: sha256, peer: peer, route: route, bytesSent: bytesSent, sizeBytes: sizeBytes, startedAt: startedAt
            )
        }
    }

    private struct State {
        var uploads: [UInt64: Upload] = [:]
        var nextID: UInt64 = 0
        var version: UInt64 = 0
    }

    private let state = Mutex(State())
    /// Told the new version whenever what `GET /v1/node` shows changed (an upload began or
    /// ended, a control request changed storage or limits).
    let changes = Broadcaster<UInt64>(bufferSize: 1)
    let capacity: Int

    init(capacity: Int = NodeAPI.maxServing) { self.capacity = capacity }

    /// Lists a new upload; nil when `capacity` are listed already (it is served all the same).
    func begin(modelID: String, sha256: String, peer: String?, route: String, sizeBytes: Int64?) -> Upload? {
        let now = Int64(Date().timeIntervalSince1970)
        let (upload, version) = state.withLock { state -> (Upload?, UInt64) in
            guard state.uploads.count < capacity else { return (nil, state.version) }
            state.nextID &+= 1
            let upload = Upload(
                id: state.nextID, modelID: modelID, sha256: sha256, peer: peer, route: route, sizeBytes: sizeBytes, startedAt: now)
            state.uploads[upload.id] = upload
            state.version &+= 1
            return (upload, state.version)
        }
        if upload != nil { changes.send(version) }
        return upload
    }

    /// The upload ended (finished, failed or cancelled).
    func end(_ upload: Upload) {
        let version = state.withLock { state -> UInt64? in
            guard state.uploads.removeValue(forKey: upload.id) != nil else { return nil }
            state.version &+= 1
            return state.version
        }
        if let version { changes.send(version) }
    }

    /// Something else `GET /v1/node` shows changed (storage, limits).
    func changed() {
        changes.send(
            state.withLock { state in
                state.version &+= 1
                return state.version
            })
    }

    /// The uploads under way, oldest first.
    var list: [NodeAPI.Upload] {
        state.withLock { Array($0.uploads.values) }.sorted { $0.id < $1.id }.map(\.status)
    }

    var version: UInt64 { state.withLock { $0.version } }
}
