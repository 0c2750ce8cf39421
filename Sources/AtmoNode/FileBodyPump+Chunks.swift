import AtmoStore
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOPosix

/// How `FileBodyPump` sends one chunk: as a file region the kernel sends from the page
/// cache (`sendfile`), or read into a buffer and written, on the loop or on a file thread.
extension FileBodyPump {
    /// Hands `count` bytes at the body's position to the socket as a file region, through
    /// `port`. The region owns a duplicate of the file's descriptor, closed once the region
    /// is written or dropped. A region whose `sendfile` was slow (`LoopReadWatch`: the disk
    /// was working) sends the rest of the body with reads on the file threads.
    func sendRegion(count: Int, state: inout Sending, port: ChannelHandlerContext, context: ChannelHandlerContext) {
        let file = state.body.file
        let handle: NIOFileHandle
        do {
            handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: try FileIO.duplicate(file.fd, path: file.path))
        } catch {
            finish(.failure(error))
            return
        }
        let offset = Int(state.position)
        let region = FileRegion(fileHandle: handle, readerIndex: offset, endIndex: offset + count)
        state.position += Int64(count)
        state.writesInFlight += 1
        sending = state
        let written = context.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenComplete { _ in try? handle.close() }
        let watch = LoopReadWatch(limit: slowReadLimit)
        // The write completes synchronously when the socket takes it all; its bytes are
        // counted in `completed`, after the change check.
        port.writeAndFlush(NIOAny(HTTPServerResponsePart.body(.fileRegion(region))), promise: written)
        if watch.wasSlow {
            sending?.regions = false
            sending?.readsOnLoop = false
        }
        track(written.futureResult, count: Int64(count), checkFile: true, context: context)
    }

    /// Reads the next chunk on the loop (into the older spare buffer) and writes it; a slow
    /// read (`LoopReadWatch`) moves the body's later reads to the file threads.
    func readOnLoop(count: Int, state: inout Sending, context: ChannelHandlerContext) {
        // The older spare: the socket has most likely released it by now.
        var reuse = spares.isEmpty ? nil : spares.removeFirst()
        let watch = LoopReadWatch(limit: slowReadLimit)
        do {
            let chunk = try Self.read(state.body, at: state.position, count: count, reusing: &reuse)
            state.readsOnLoop = !watch.wasSlow
            if !state.readsOnLoop { state.regions = false }
            sending = state
            write(chunk, context: context)
        } catch {
            finish(.failure(error))
        }
    }

    /// Reads the next chunk on a file thread, then writes it and pumps on.
    func readOffLoop(count: Int, state: inout Sending, context: ChannelHandlerContext) {
        state.readInFlight = true
        sending = state
        let (ticket, body, at) = (state.ticket, state.body, state.position)
        state.readers.runIfActive(eventLoop: context.eventLoop) {
            var fresh: ByteBuffer? = nil
            return try Self.read(body, at: at, count: count, reusing: &fresh)
        }.assumeIsolated().whenComplete { result in
            guard self.sending?.ticket === ticket else { return }
            self.sending?.readInFlight = false
            switch result {
            case .success(let chunk):
                self.write(chunk, context: context)
                self.pump(context: context)
            case .failure(let error):
                self.finish(.failure(error))
            }
        }
    }

    /// Writes a chunk read (and checked) into a buffer, through the HTTP codec.
    func write(_ chunk: ByteBuffer, context: ChannelHandlerContext) {
        guard var state = sending else { return }
        let count = Int64(chunk.readableBytes)
        state.position += count
        state.writesInFlight += 1
        sending = state
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.body(chunk)), promise: written)
        if spares.count == 2 { spares.removeFirst() }
        spares.append(chunk)
        track(written.futureResult, count: count, checkFile: false, context: context)
    }

    /// Counts a chunk once written; ends the body when it was the last one, or when the file
    /// changed under a region (`checkFile`: its bytes were read by the kernel, unchecked).
    /// A region written lets a held-back last chunk go.
    private func track(_ written: EventLoopFuture<Void>, count: Int64, checkFile: Bool, context: ChannelHandlerContext) {
        guard let ticket = sending?.ticket else { return }
        written.assumeIsolated().whenComplete { result in
            guard let state = self.sending, state.ticket === ticket else { return }
            if case .failure(let error) = result {
                self.finish(.failure(error))
                return
            }
            if checkFile, !state.body.file.isUnchanged {
                state.body.onChange()
                self.finish(.failure(StoreError(.busy, "model file changed while being served; response aborted")))
                return
            }
            self.sending?.writesInFlight -= 1
            self.sending?.written += count
            state.body.progress?.add(count)
            if let served = state.body.served { served.add(count) } else { self.metrics?.servedOverHTTP(bytes: count) }
            if let state = self.sending, state.position == state.end, state.writesInFlight == 0 {
                self.finish(.success(state.written))
            } else if checkFile {
                self.queuePump(context: context)
            }
        }
    }

    /// Reads exactly `count` bytes at `position`, then checks the file is still the same.
    /// The buffer is moved out of `spare` (so this is its only holder besides, perhaps, the
    /// socket) and filled in place when the socket released it, else into new storage.
    static func read(_ body: FileBody, at position: Int64, count: Int, reusing spare: inout ByteBuffer?) throws -> ByteBuffer {
        var buffer = spare.take() ?? ByteBufferAllocator().buffer(capacity: count)
        buffer.clear()
        let file = body.file
        let got = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { raw throws(StoreError) in
            try AtmoStore.FileIO.pread(
                file.fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<count]), offset: position, path: file.path)
        }
        guard got == count, file.isUnchanged else {
            body.onChange()
            throw StoreError(.busy, "model file changed while being served; response aborted")
        }
        return buffer
    }
}

/// Where `FileBodyPump` enters file regions into a connection's pipeline: right after the
/// HTTP/1 response encoder, which frames a region like any body part, so the region reaches
/// the socket as one, and `sendfile` sends it. It passes everything through.
final class FileRegionPort: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart
}
