import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

@testable import AtmoStore
@testable import AtmoTransfer

/// Evicting pulled models to stay under the storage limit takes each one's install lock: on
/// real files, no `.atmo-partial/{model_id}.install.lock` stays once the admission ends.
struct EvictionLockFileTests {
    @Test("an admission that evicts to make room leaves no install lock of the evicted model")
    func anEvictionLeavesNoLock() async throws {
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("models"))
            let database = try StateDatabase()
            let old = StorageAdmissionTests.entry("a-old.gguf", mib: 4, digit: "a")
            let recent = StorageAdmissionTests.entry("b-recent.gguf", mib: 4, digit: "b")
            try StorageAdmissionTests.install(old, in: store, database: database, usedAt: 100)
            try StorageAdmissionTests.install(recent, in: store, database: database, usedAt: 200)
            let admission = StorageAdmission(
                configuration: StorageConfiguration(limitBytes: 10 * StorageAdmissionTests.mib), database: database,
                meshCopies: { [old.sha256: 1, recent.sha256: 1] }, logger: StorageAdmissionTests.logger, onEvicted: { _ in })
            let ticket = try admission.admit(StorageAdmissionTests.entry("c-new.gguf", mib: 5, digit: "c"), into: store)
            ticket.end()
            #expect(store.installed(modelID: old.modelID) == nil, "evicted")
            let names = (try? FileManager.default.contentsOfDirectory(atPath: store.partialDirectory)) ?? []
            #expect(names.filter { $0.hasSuffix(".install.lock") } == [], "\(names)")
        }
    }
}
