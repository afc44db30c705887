// handlers/io.hpp — what a waiting handler (handlers/task.hpp) can co_await: operations on its
// worker's io_uring, one at a time per request.
//
//   int fd = co_await req.io->open_beneath(dir_fd, "css/site.css");  // fd or -errno
//   struct statx st;  co_await req.io->stat(fd, st);                 // 0 or -errno
//   int n = co_await req.io->read(fd, res.prepare(16384), offset);   // bytes or -errno
//   co_await req.io->send(res);     // the body so far goes out as one part of the response
//   int sent = co_await req.io->send_file(res, fd, offset, n);  // then n bytes of a file
//   int got = co_await req.io->read_body(buffer);  // a streamed request body: bytes, 0 at its end
//   co_await req.io->sleep(std::chrono::milliseconds(5));  // sleep(0): a yield through the ring
//
// Sockets of the handler's own (an upstream server: proxy/upstream_client.hpp):
//
//   int rc = co_await req.io->connect(fd, addr, len, 5s);      // 0, -errno, -ETIMEDOUT
//   int sent = co_await req.io->send_bytes(fd, bytes);         // bytes handed to the kernel
//   int got = co_await req.io->receive(fd, buffer, 60s);       // bytes, 0 at EOF, -ETIMEDOUT
//
// Every result is the system call's: a count or descriptor, or a negative errno. None blocks the
// worker's thread (stat of an open descriptor, which reads its in-memory inode, completes at
// once without a trip through the ring: io_uring would hand it to a worker thread). When the client
// goes away or the handler's deadline passes, the pending operation is cancelled and the handler's
// frame destroyed without resuming it: hold descriptors in objects that close them in their
// destructors.
//
// Reading the request body as it arrives (a route registered with Handler::streaming): the
// handler runs once the headers are in, with request.body empty, and read_body() copies the body's
// next bytes into its buffer (0 once the body is complete). There is no ceiling on the body's
// size: the connection holds a few receive buffers of it at most, and the client is slowed when
// the handler reads slowly. A handler that answers before reading the whole body gets its
// connection closed after the answer.
//
// Sending in parts: the first send(res) writes the head — with `Content-Length:
// res.stream_length` when the handler set it, otherwise `Transfer-Encoding: chunked` (or, for an
// HTTP/1.0 client, a body that ends with the connection) — and hands the body written so far to
// the kernel; each later send() hands over what was written since. It completes once the kernel
// has the bytes (so a slow reader slows the handler: nothing piles up) and then the body starts
// empty again in a fresh response arena. After the first send the status and headers are fixed;
// what is written after the last send goes out when the handler returns. A part that would take
// the body past the stream_length announced is refused (-EINVAL, nothing of it sent), and a body
// that ends short of it or past it closes the connection after what went out.
//
// Sending a file's bytes (send_file): the head and the body so far go out as with send(), then
// `length` bytes of the file from `offset` straight from the page cache to the socket (sendfile:
// no copy through the response arena, no read). It completes once the kernel has all of them,
// with their count. The response must have announced its whole length (stream_length) or go to
// an HTTP/1.0 client (-EINVAL otherwise: a chunked body's framing cannot surround file bytes).
// When some of the range is not in the page cache, nothing is sent and the result is -EAGAIN:
// sendfile would stop the worker's thread on the disk, so read those bytes through the ring
// instead (read() and send(), which also bring them into the cache). Kernels without cachestat
// (before 6.5, or a seccomp profile that refuses it) always answer -EAGAIN. A file that ends
// before the range does closes the connection (the announced length cannot be kept).
#pragma once

#include <sys/socket.h>
#include <sys/stat.h>

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace lake::http {
class Response;
}

namespace lake::handlers {

// One operation handed to the engine; it lives in the waiting coroutine's frame.
struct IoOp {
    enum class Kind : std::uint8_t {
        Sleep,
        OpenBeneath,
        Stat,
        Read,
        Close,
        Send,
        ReadBody,
        Connect,    // fd: a non-blocking socket; buffer: the sockaddr; length: its size
        Receive,    // fd: a socket; buffer, length: where
        SendBytes,  // fd: a socket; buffer, length: what (some of it may be sent: the count)
        SendFile,   // fd: a file; offset, length: the range; buffer: the Response
    };
    Kind kind = Kind::Sleep;
    int fd = -1;                 // the file; for OpenBeneath the directory
    const char* path = nullptr;  // OpenBeneath: relative to fd, NUL-terminated
    void* buffer = nullptr;      // Read, ReadBody: where; Stat: a struct statx; Send: the Response
    std::uint32_t length = 0;
    std::uint64_t offset = 0;       // Read, SendFile: where in the file
    std::uint64_t nanoseconds = 0;  // Sleep; Connect, Receive: the deadline (0: none)
    int result = 0;
    std::coroutine_handle<> waiter;
};

// The awaitable every Io call returns: co_await gives the operation's result.
class [[nodiscard]] IoAwaitable;

// A connection's door to its worker's ring, implemented by the engine.
class Io {
  public:
    IoAwaitable sleep(std::chrono::nanoseconds duration) noexcept;
    // Opens `path` read-only beneath the directory `dir_fd`: absolute paths, `..` above it and
    // symlinks leading out of it are refused (openat2 RESOLVE_BENEATH: -EXDEV), as are magic
    // links (/proc/self/fd/N).
    IoAwaitable open_beneath(int dir_fd, const char* path) noexcept;
    IoAwaitable stat(int fd, struct statx& out) noexcept;
    IoAwaitable read(int fd, std::span<char> into, std::uint64_t offset) noexcept;
    IoAwaitable close(int fd) noexcept;
    // Sends the response's head (first time) and its body so far; see above.
    IoAwaitable send(http::Response& response) noexcept;
    // Sends the response's head (first time) and body so far, then `length` bytes of the file
    // `fd` from `offset`, from the page cache; see above. The count, -EAGAIN (not all cached:
    // nothing sent), or a negative errno.
    IoAwaitable send_file(http::Response& response, int fd, std::uint64_t offset,
                          std::uint32_t length) noexcept;
    // The streamed request body's next bytes, copied into `into`: their count, 0 at the body's
    // end, or a negative errno.
    IoAwaitable read_body(std::span<char> into) noexcept;
    // Connects a non-blocking socket of the handler's own: 0, a negative errno, or -ETIMEDOUT
    // when `timeout` (0: none) passed first. Deadlines are checked once a second (the worker's
    // tick): one fires up to a second after it passed.
    IoAwaitable connect(int fd, const sockaddr* address, socklen_t length,
                        std::chrono::nanoseconds timeout) noexcept;
    // Receives from such a socket: the count, 0 at its end, a negative errno, or -ETIMEDOUT.
    IoAwaitable receive(int fd, std::span<char> into, std::chrono::nanoseconds timeout) noexcept;
    // Sends to such a socket: how many of the bytes the kernel took (perhaps fewer than all:
    // call again with the rest), or a negative errno. Never raises SIGPIPE.
    IoAwaitable send_bytes(int fd, std::span<const char> bytes) noexcept;

    // The client's address as text ("192.0.2.1", "2001:db8::1"; "-" when unknown), valid while
    // the handler runs.
    virtual std::string_view client_address() noexcept = 0;

    // Starts `op`; true when the caller must wait for its completion (the engine then sets
    // op.result and resumes op.waiter), false when op.result is already set.
    virtual bool start(IoOp& op) noexcept = 0;
    // The worker loop's current pass: it changes each time the worker has waited for the kernel.
    // What a handler keeps for a pass (an open file, say) is as current as the pass itself.
    virtual std::uint64_t pass() noexcept = 0;

  protected:
    ~Io() = default;
};

class [[nodiscard]] IoAwaitable {
  public:
    IoAwaitable(Io& io, const IoOp& op) noexcept : io_(io), op_(op) {}
    IoAwaitable(const IoAwaitable&) = delete;
    IoAwaitable& operator=(const IoAwaitable&) = delete;

    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> waiter) noexcept {
        op_.waiter = waiter;
        return io_.start(op_);
    }
    int await_resume() const noexcept { return op_.result; }

  private:
    Io& io_;
    IoOp op_;
};

namespace detail {
// A length as an IoOp carries it: at most what one read or send of Linux moves.
inline std::uint32_t io_length(std::size_t n) noexcept {
    return static_cast<std::uint32_t>(n > 0x7ffff000u ? 0x7ffff000u : n);
}
// A duration as the nanoseconds an IoOp carries (0: none, or no wait).
inline std::uint64_t io_deadline(std::chrono::nanoseconds t) noexcept {
    return t.count() > 0 ? static_cast<std::uint64_t>(t.count()) : 0;
}
}  // namespace detail

inline IoAwaitable Io::sleep(std::chrono::nanoseconds duration) noexcept {
    IoOp op;
    op.kind = IoOp::Kind::Sleep;
    op.nanoseconds = detail::io_deadline(duration);
    return {*this, op};
}
inline IoAwaitable Io::open_beneath(int dir_fd, const char* path) noexcept {
    IoOp op;
    op.kind = IoOp::Kind::OpenBeneath;
    op.fd = dir_fd;
    op.path = path;
    return {*this, op};
}
inline IoAwaitable Io::stat(int fd, struct statx& out) noexcept {
    IoOp op;
    op.kind = IoOp::Kind::Stat;
    op.fd = fd;
    op.buffer = &out;
    return {*this, op};
}
inline IoAwaitable Io::read(int fd, std::span<char> into, std::uint64_t offset) noexcept {
    IoOp op;
    op.kind = IoOp::Kind::Read;
    op.fd = fd;
    op.buffer = into.data();
    op.length = detail::io_length(into.size());
    op.offset = offset;
    return {*this, op};
}
inline IoAwaitable Io::close(int fd) noexcept {
    IoOp op;
    op.kind = IoOp::Kind::Close;
    op.fd = fd;
    return {*this, op};
}
inline IoAwaitable Io::read_body(std::span<char> into) noexcept {
    IoOp op;
    op.kind = IoOp::Kind::ReadBody;
    op.buffer = into.data();
    op.length = detail::io_length(into.size());
    return {*this, op};
}
inline IoAwaitable Io::send(http::Response& response) noexcept {
    IoOp op;
    op.kind = IoOp::Kind::Send;
    op.buffer = &response;
    return {*this, op};
}
inline IoAwaitable Io::send_file(http::Response& response, int fd, std::uint64_t offset,
                                 std::uint32_t length) noexcept {
    IoOp op;
    op.kind = IoOp::Kind::SendFile;
    op.fd = fd;
    op.buffer = &response;
    op.offset = offset;
    op.length = detail::io_length(length);
    return {*this, op};
}

inline IoAwaitable Io::connect(int fd, const sockaddr* address, socklen_t length,
                               std::chrono::nanoseconds timeout) noexcept {
    IoOp op;
    op.kind = IoOp::Kind::Connect;
    op.fd = fd;
    op.buffer = const_cast<sockaddr*>(address);
    op.length = length;
    op.nanoseconds = detail::io_deadline(timeout);
    return {*this, op};
}
inline IoAwaitable Io::receive(int fd, std::span<char> into,
                               std::chrono::nanoseconds timeout) noexcept {
    IoOp op;
    op.kind = IoOp::Kind::Receive;
    op.fd = fd;
    op.buffer = into.data();
    op.length = detail::io_length(into.size());
    op.nanoseconds = detail::io_deadline(timeout);
    return {*this, op};
}
inline IoAwaitable Io::send_bytes(int fd, std::span<const char> bytes) noexcept {
    IoOp op;
    op.kind = IoOp::Kind::SendBytes;
    op.fd = fd;
    op.buffer = const_cast<char*>(bytes.data());
    op.length = detail::io_length(bytes.size());
    return {*this, op};
}

}  // namespace lake::handlers
