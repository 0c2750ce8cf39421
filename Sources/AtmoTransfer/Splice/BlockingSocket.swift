import NIOCore

#if canImport(Glibc)
import Glibc
#endif

#if os(Linux)
/// The plain POSIX calls of a `SplicedRangeConnection`: a TCP connection opened with a
/// deadline, then used with blocking calls bounded by the socket's own timeouts
/// (`SO_RCVTIMEO`, `SO_SNDTIMEO`). Every failure is a `TransferError` that says which peer.
enum BlockingSocket {
    /// Connects to `host`:`port` (a name or a literal address; each address it resolves to is
    /// tried in turn) within `timeout` seconds each, then sets the timeouts of every later
    /// call to `stallTimeout` seconds. Returns the descriptor.
    ///
    /// `watch(fd)` comes before each attempt: it lets a canceller shut `fd` down, which ends
    /// the wait for the handshake at once (the attempt fails with ECONNRESET); false means the
    /// connection is cancelled, and no attempt is made. `unwatch()` comes after each attempt,
    /// before `fd` is closed or returned.
    static func connect(
        host: String, port: Int, timeout: Double, stallTimeout: Double, peer: String, watch: (Int32) -> Bool = { _ in true },
        unwatch: () -> Void = {}
    ) throws(TransferError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_protocol = Int32(IPPROTO_TCP)
        var list: UnsafeMutablePointer<addrinfo>? = nil
        let resolved = getaddrinfo(host, String(port), &hints, &list)
        guard resolved == 0, let first = list else {
            throw TransferError(.peerUnreachable, "cannot resolve \(peer)'s address (\(String(cString: gai_strerror(resolved))))")
        }
        defer { freeaddrinfo(list) }
        var lastError = ECONNREFUSED
        var timedOut = false
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let address = next {
            next = address.pointee.ai_next
            let fd = socket(address.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else {
                lastError = errno
                continue
            }
            guard watch(fd) else {
                Glibc.close(fd)
                throw TransferError(.peerUnreachable, "the connection to \(peer) was cancelled")
            }
            let result = connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen, timeout: timeout)
            unwatch()
            switch result {
            case 0:
                var one: Int32 = 1
                _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                setTimeouts(fd, seconds: stallTimeout)
                return fd
            case ETIMEDOUT:
                timedOut = true
                Glibc.close(fd)
            case let error:
                lastError = error
                Glibc.close(fd)
            }
        }
        if timedOut { throw TransferError(.timeout, "\(peer) did not accept a connection in time (is the address right?)") }
        throw TransferError(.peerUnreachable, "cannot connect to \(peer): \(String(cString: strerror(lastError)))")
    }

    /// A non-blocking connect waited for with `poll`; the socket is blocking again after.
    /// Returns 0 or an errno (ETIMEDOUT when the deadline passed).
    private static func connect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t, timeout: Double) -> Int32 {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        defer { _ = fcntl(fd, F_SETFL, flags) }
        if Glibc.connect(fd, address, length) == 0 { return 0 }
        guard errno == EINPROGRESS else { return errno }
        let deadline = NIODeadline.now() + .nanoseconds(Int64(min(timeout, 1e9) * 1e9))
        while true {
            let left = Double((deadline - NIODeadline.now()).nanoseconds) / 1e6
            guard left > 0 else { return ETIMEDOUT }
            var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&entry, 1, Int32(max(1, min(left, Double(Int32.max)))))
            if ready > 0 { break }
            if ready == 0 { return ETIMEDOUT }
            if errno != EINTR { return errno }
        }
        var error: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) == 0 else { return errno }
        return error
    }

    /// Blocking sends and receives return (EAGAIN) after `seconds` with nothing moved.
    static func setTimeouts(_ fd: Int32, seconds: Double) {
        let whole = Int(seconds)
        var limit = timeval(tv_sec: whole, tv_usec: Int(((seconds - Double(whole)) * 1_000_000).rounded()))
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sends all of `bytes`; an errno on failure (EAGAIN: the send timeout passed).
    static func sendAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32? {
        var done = 0
        while done < bytes.count {
            let sent = send(fd, bytes.baseAddress! + done, bytes.count - done, Int32(MSG_NOSIGNAL))
            if sent < 0 {
                if errno == EINTR { continue }
                return errno
            }
            done += sent
        }
        return nil
    }

    /// Whether bytes wait to be read now (without blocking).
    static func hasUnreadBytes(_ fd: Int32) -> Bool {
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) > 0
    }

    /// One `recv` into `buffer`: the bytes read, 0 at the end, or -errno (EINTR retried).
    static func receive(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        while true {
            let count = recv(fd, buffer.baseAddress!, buffer.count, 0)
            if count < 0, errno == EINTR { continue }
            return count < 0 ? -Int(errno) : count
        }
    }
}
#endif
