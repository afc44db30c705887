#include "epoll_backend.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <functional>

#include "connection.hpp"
#include "log.hpp"

namespace lake::server {

namespace {
constexpr std::uint32_t kSocketEvents = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
constexpr std::uint32_t kReadable = EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR;
constexpr std::uint32_t kWritable = EPOLLOUT | EPOLLHUP | EPOLLERR;

int ctl(int epoll_fd, int what, int fd, std::uint32_t events, std::uint64_t data) noexcept {
    epoll_event e{};
    e.events = events;
    e.data.u64 = data;
    return ::epoll_ctl(epoll_fd, what, fd, &e);
}
}  // namespace

std::string EpollBackend::setup(const config::ServerConfig& config, lake::BasicArena& lake,
                                unsigned hold_limit) {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) return std::string("epoll_create1: ") + std::strerror(errno);
    if (int err = buffers_.init(nullptr, lake, config.recv_buffers, config.recv_buffer_size);
        err != 0)
        return std::string("cannot set up the receive buffers: ") + std::strerror(-err);
    reads_per_pass_ = hold_limit;
    const std::size_t n = config.max_connections_per_worker;
    slots_.resize(n);
    // Reserved once: each slot has at most a receive, a send and a handler's operation to
    // report, and the loop a few of its own; queuing never allocates.
    to_read_.reserve(n);
    reading_.reserve(n);
    deferred_.reserve(3 * n + 8);
    reporting_.reserve(3 * n + 8);
    sleeps_.reserve(2 * n + 8);
    return {};
}

void EpollBackend::close() noexcept {
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
    epoll_fd_ = -1;
}

std::uint64_t EpollBackend::now_ns() noexcept {
    timespec t{};
    ::clock_gettime(CLOCK_MONOTONIC, &t);
    return static_cast<std::uint64_t>(t.tv_sec) * 1'000'000'000u +
           static_cast<std::uint64_t>(t.tv_nsec);
}

// Until the earliest timer (rounded up to the millisecond: never early), at once when
// something is already queued.
int EpollBackend::wait_timeout_ms() const noexcept {
    if (!deferred_.empty() || !to_read_.empty()) return 0;
    std::uint64_t next = next_tick_ns_;
    if (!sleeps_.empty() && (next == 0 || sleeps_.front().deadline_ns < next))
        next = sleeps_.front().deadline_ns;
    if (next == 0) return -1;
    const std::uint64_t now = now_ns();
    if (next <= now) return 0;
    return static_cast<int>(std::min<std::uint64_t>((next - now + 999'999) / 1'000'000, 60'000));
}

std::string EpollBackend::run_pass(LoopEvents& events) noexcept {
    const int n = ::epoll_wait(epoll_fd_, events_, kMaxEvents, wait_timeout_ms());
    if (n < 0 && errno != EINTR) return std::string("epoll_wait: ") + std::strerror(errno);
    events.on_pass();
    report_deferred(events);
    read_armed(events);
    for (int i = 0; i < n; ++i) {
        const std::uint64_t data = events_[i].data.u64;
        const std::uint32_t what = events_[i].events;
        const std::uint32_t slot = connection_of(data);
        switch (op_of(data)) {
            case Op::Recv: {
                Slot& s = slots_[slot];
                if ((what & (EPOLLRDHUP | EPOLLHUP)) != 0) s.peer_hup = true;
                if ((what & kWritable) != 0 && s.send_waiting) try_send(slot);
                if ((what & kReadable) != 0 && s.recv_armed && !s.read_queued)
                    read_socket(slot, events);
                break;
            }
            case Op::Handler:
                handler_ready(slot, events);
                break;
            case Op::Accept:
                accept_ready(events);
                break;
            case Op::Wake: {
                std::uint64_t value = 0;
                (void)!::read(wake_fd_, &value, sizeof(value));
                events.on_wake();
                break;
            }
            default:
                break;
        }
    }
    // Before the tick: a connection accepted in this pass has its first bytes read before the
    // tick may judge it (a first-byte timeout of one tick would otherwise close it unread).
    read_armed(events);
    const std::uint64_t now = now_ns();
    if (next_tick_ns_ != 0 && now >= next_tick_ns_) {
        next_tick_ns_ = 0;
        events.on_tick();
    }
    expire_sleeps(now, events);
    // What this pass's work completed (sends, mostly) is reported in the same pass: a request
    // then costs one epoll_wait, not two. Bounded: the rest waits for the next pass.
    for (int round = 0; round < 4 && !deferred_.empty(); ++round) report_deferred(events);
    return {};
}

// Receives armed since the last look read what is already there (no edge will say so).
void EpollBackend::read_armed(LoopEvents& events) noexcept {
    if (to_read_.empty()) return;
    reading_.swap(to_read_);
    for (std::uint32_t slot : reading_) {
        slots_[slot].read_queued = false;
        read_socket(slot, events);
    }
    reading_.clear();
}

void EpollBackend::defer(Op op, std::uint32_t slot, int result, bool more) noexcept {
    deferred_.push_back(Deferred{op, slot, Completion{result, more, Completion::kNoBuffer}});
}

void EpollBackend::report_deferred(LoopEvents& events) noexcept {
    if (deferred_.empty()) return;
    reporting_.swap(deferred_);
    for (const Deferred& d : reporting_) {
        switch (d.op) {
            case Op::Recv:
                events.on_recv(d.slot, d.completion);
                break;
            case Op::Send:
                events.on_send(d.slot, d.completion.result);
                break;
            case Op::Handler:
                events.on_handler_io(d.slot, d.completion.result);
                break;
            case Op::Accept:
                events.on_accept(d.completion.result, false);
                break;
            case Op::LogWrite:
                events.on_log_written(d.completion.result);
                break;
            default:
                break;
        }
    }
    reporting_.clear();
}

// ---- connections' sockets -------------------------------------------------------------------

bool EpollBackend::attach(Connection& c) noexcept {
    Slot& s = slots_[c.index()];
    const std::uint32_t seq = s.sleep_seq;  // a cancelled sleep of the slot's last connection
    s = Slot{};                             // may still be in the heap
    s.sleep_seq = seq;
    if (ctl(epoll_fd_, EPOLL_CTL_ADD, c.fd(), kSocketEvents, tag(Op::Recv, c.index())) != 0) {
        const int err = errno;
        const std::uint64_t n = ++attach_failures_;
        if ((n & (n - 1)) == 0)  // 1, 2, 4, ...: a flood cannot flood the log
            log::error("epoll cannot watch a connection ({}): it is closed ({} so far){}",
                       std::strerror(err), n,
                       err == ENOSPC ? "; raise fs.epoll.max_user_watches" : "");
        return false;
    }
    s.fd = c.fd();
    return true;
}

void EpollBackend::detach(Connection& c) noexcept {
    Slot& s = slots_[c.index()];
    if (s.fd >= 0) (void)ctl(epoll_fd_, EPOLL_CTL_DEL, s.fd, 0, 0);
    s.fd = -1;
}

void EpollBackend::arm_recv(Connection& c) noexcept {
    Slot& s = slots_[c.index()];
    s.recv_armed = true;
    if (!s.read_queued) {
        s.read_queued = true;
        to_read_.push_back(c.index());
    }
}

void EpollBackend::cancel_recv(Connection& c) noexcept {
    Slot& s = slots_[c.index()];
    if (!s.recv_armed) return;  // it ended already: its last completion is on its way
    s.recv_armed = false;
    defer(Op::Recv, c.index(), -ECANCELED);
}

// One receive buffer per completion, as io_uring's multishot receive reports them, until the
// socket is drained, it ends, or the connection took its share for this pass (then it goes
// on at the next pass: others are served in between).
void EpollBackend::read_socket(std::uint32_t slot, LoopEvents& events) noexcept {
    // What completed before is reported before what this read brings: a client that read our
    // answer and sent its next request must not have it parsed before that answer's send is
    // reported (io_uring's completion queue keeps that order by itself).
    report_deferred(events);
    Slot& s = slots_[slot];
    const std::size_t size = buffers_.buffer_size();
    for (unsigned got = 0; s.recv_armed; ++got) {
        if (got == reads_per_pass_) {
            s.read_queued = true;
            to_read_.push_back(slot);
            return;
        }
        const std::uint16_t bid = buffers_.take();
        if (bid == BufferRing::kNone) {
            s.recv_armed = false;
            events.on_recv(slot, Completion{-ENOBUFS, false, Completion::kNoBuffer});
            return;
        }
        const ssize_t n = ::recv(s.fd, buffers_.buffer(bid), size, MSG_DONTWAIT);
        if (n > 0) {
            events.on_recv(slot, Completion{static_cast<int>(n), true, bid});
            // Drained: the next edge says more (unless the peer's FIN came with this one).
            if (static_cast<std::size_t>(n) < size && !s.peer_hup) return;
            continue;
        }
        const int err = n == 0 ? 0 : errno;
        buffers_.untake(bid);
        if (err == EAGAIN || err == EWOULDBLOCK) return;
        if (err == EINTR) continue;
        s.recv_armed = false;
        events.on_recv(slot, Completion{-err, false, Completion::kNoBuffer});
        return;
    }
}

void EpollBackend::send(Connection& c, const void* data, std::size_t len, bool more) noexcept {
    Slot& s = slots_[c.index()];
    s.send_more = more;
    s.send_data = data;
    s.send_len = len;
    s.send_msg = nullptr;
    s.send_file = -1;
    try_send(c.index());
}

void EpollBackend::send_msg(Connection& c, const msghdr* msg, bool more) noexcept {
    Slot& s = slots_[c.index()];
    s.send_more = more;
    s.send_msg = msg;
    s.send_file = -1;
    try_send(c.index());
}

// sendfile on the non-blocking socket: EAGAIN waits for EPOLLOUT like a full socket's send.
void EpollBackend::send_file(Connection& c, int file_fd, std::uint64_t offset,
                             std::size_t len) noexcept {
    Slot& s = slots_[c.index()];
    s.send_msg = nullptr;
    s.send_file = file_fd;
    s.send_offset = offset;
    s.send_len = len;
    try_send(c.index());
}

void EpollBackend::try_send(std::uint32_t slot) noexcept {
    Slot& s = slots_[slot];
    ssize_t n;
    if (s.send_file >= 0) {
        off_t at = static_cast<off_t>(s.send_offset);
        n = ::sendfile(s.fd, s.send_file, &at, s.send_len);
        if (n == 0) {  // the file ended before the range did
            n = -1;
            errno = ENODATA;
        }
    } else {
        const int flags =
            s.send_more ? MSG_DONTWAIT | MSG_NOSIGNAL | MSG_MORE : MSG_DONTWAIT | MSG_NOSIGNAL;
        n = s.send_msg != nullptr ? ::sendmsg(s.fd, s.send_msg, flags)
                                  : ::send(s.fd, s.send_data, s.send_len, flags);
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        s.send_waiting = true;  // the socket is full: EPOLLOUT (edge) once it has room
        return;
    }
    s.send_waiting = false;
    defer(Op::Send, slot, n >= 0 ? static_cast<int>(n) : -errno);
}

// The connection shut its socket down: a send waiting for room would wait for ever.
void EpollBackend::shut_down(Connection& c) noexcept {
    Slot& s = slots_[c.index()];
    if (s.send_waiting) {
        s.send_waiting = false;
        defer(Op::Send, c.index(), -ECANCELED);
    }
}

// ---- the loop's own descriptors ---------------------------------------------------------------

void EpollBackend::arm_accept(int listen_fd) noexcept {
    listen_fd_ = listen_fd;
    accept_armed_ = true;
    // Level-triggered: a backlog left for the next pass is reported again.
    (void)ctl(epoll_fd_, listen_registered_ ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, listen_fd, EPOLLIN,
              tag(Op::Accept));
    listen_registered_ = true;
}

void EpollBackend::cancel_accept() noexcept {
    if (!accept_armed_) return;
    accept_armed_ = false;
    (void)ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, 0, tag(Op::Accept));
    defer(Op::Accept, 0, -ECANCELED);
}

void EpollBackend::accept_ready(LoopEvents& events) noexcept {
    for (int i = 0; i < 64 && accept_armed_; ++i) {
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd >= 0) {
            events.on_accept(fd, true);
            continue;
        }
        const int err = errno;
        if (err == EAGAIN || err == EWOULDBLOCK) return;
        if (err == EINTR || err == ECONNABORTED) continue;
        // EMFILE and the like: accepting stops (the listener stays quiet) until armed again.
        accept_armed_ = false;
        (void)ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, 0, tag(Op::Accept));
        events.on_accept(-err, false);
        return;
    }
}

void EpollBackend::arm_wake(int fd) noexcept {
    if (wake_fd_ == fd) return;  // registered once; reading it in run_pass re-arms it
    wake_fd_ = fd;
    (void)ctl(epoll_fd_, EPOLL_CTL_ADD, fd, EPOLLIN, tag(Op::Wake));
}

void EpollBackend::write_log(int fd, std::span<const char> bytes) noexcept {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    defer(Op::LogWrite, 0, n >= 0 ? static_cast<int>(n) : -errno);
}

// ---- waiting handlers' operations ---------------------------------------------------------------

bool EpollBackend::start_handler_io(Connection& c, handlers::IoOp& op) noexcept {
    using Kind = handlers::IoOp::Kind;
    const std::uint32_t slot = c.index();
    Slot& s = slots_[slot];
    long r = 0;
    switch (op.kind) {
        case Kind::Sleep:
            if (op.nanoseconds == 0) {  // a yield: back at the end of this pass
                defer(Op::Handler, slot, 0);
                return true;
            }
            if (sleeps_.size() == sleeps_.capacity()) purge_stale_sleeps();
            s.op = &op;
            s.op_events = 0;
            sleeps_.push_back(Sleep{now_ns() + op.nanoseconds, slot, ++s.sleep_seq});
            std::push_heap(sleeps_.begin(), sleeps_.end(), std::greater<>());
            return true;
        case Kind::OpenBeneath: {
            open_how how{};
            how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY;
            how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
            r = ::syscall(SYS_openat2, op.fd, op.path, &how, sizeof(how));
            break;
        }
        case Kind::Read:
            r = ::pread(op.fd, op.buffer, op.length, static_cast<off_t>(op.offset));
            break;
        case Kind::Close:
            r = ::close(op.fd);
            break;
        case Kind::Connect:
            r = ::connect(op.fd, static_cast<const sockaddr*>(op.buffer), op.length);
            if (r < 0 && errno == EINPROGRESS) {
                wait_handler_fd(slot, op, EPOLLOUT);
                return true;
            }
            break;
        case Kind::Receive:
            wait_handler_fd(slot, op, EPOLLIN);  // an answer is awaited: no attempt before
            return true;
        case Kind::SendBytes:
            r = ::send(op.fd, op.buffer, op.length, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                wait_handler_fd(slot, op, EPOLLOUT);
                return true;
            }
            break;
        case Kind::Stat:
        case Kind::Send:
        case Kind::SendFile:
        case Kind::ReadBody:
            r = -1;
            errno = EINVAL;  // never asked of a backend (Connection::start)
            break;
    }
    op.result = r >= 0 ? static_cast<int>(r) : -errno;
    return false;
}

void EpollBackend::wait_handler_fd(std::uint32_t slot, handlers::IoOp& op,
                                   std::uint32_t what) noexcept {
    Slot& s = slots_[slot];
    s.op = &op;
    s.op_events = what;
    // Level-triggered, and registered only while the operation waits (a pooled upstream socket
    // is registered with no loop while it idles). An already ready socket reports at once.
    if (ctl(epoll_fd_, EPOLL_CTL_ADD, op.fd, what, tag(Op::Handler, slot)) != 0 &&
        (errno != EEXIST ||
         ctl(epoll_fd_, EPOLL_CTL_MOD, op.fd, what, tag(Op::Handler, slot)) != 0)) {
        s.op = nullptr;
        s.op_events = 0;
        defer(Op::Handler, slot, -errno);
    }
}

void EpollBackend::forget_handler_fd(Slot& s) noexcept {
    (void)ctl(epoll_fd_, EPOLL_CTL_DEL, s.op->fd, 0, 0);
    s.op = nullptr;
    s.op_events = 0;
}

void EpollBackend::handler_ready(std::uint32_t slot, LoopEvents& events) noexcept {
    Slot& s = slots_[slot];
    if (s.op == nullptr || s.op_events == 0) return;  // cancelled earlier in this pass
    handlers::IoOp& op = *s.op;
    int result = 0;
    switch (op.kind) {
        case handlers::IoOp::Kind::Connect: {
            int err = 0;
            socklen_t len = sizeof(err);
            if (::getsockopt(op.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
            result = -err;
            break;
        }
        case handlers::IoOp::Kind::Receive: {
            const ssize_t n = ::recv(op.fd, op.buffer, op.length, MSG_DONTWAIT);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
            result = n >= 0 ? static_cast<int>(n) : -errno;
            break;
        }
        case handlers::IoOp::Kind::SendBytes: {
            const ssize_t n = ::send(op.fd, op.buffer, op.length, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
            result = n >= 0 ? static_cast<int>(n) : -errno;
            break;
        }
        default:
            return;
    }
    forget_handler_fd(s);
    events.on_handler_io(slot, result);
}

void EpollBackend::cancel_handler_io(Connection& c) noexcept {
    Slot& s = slots_[c.index()];
    if (s.op == nullptr) return;  // completed already: its result is on its way
    if (s.op_events != 0)
        forget_handler_fd(s);
    else
        ++s.sleep_seq;  // its heap entry goes stale
    s.op = nullptr;
    defer(Op::Handler, c.index(), -ECANCELED);
}

void EpollBackend::expire_sleeps(std::uint64_t now, LoopEvents& events) noexcept {
    while (!sleeps_.empty() && sleeps_.front().deadline_ns <= now) {
        const Sleep due = sleeps_.front();
        std::pop_heap(sleeps_.begin(), sleeps_.end(), std::greater<>());
        sleeps_.pop_back();
        Slot& s = slots_[due.slot];
        if (s.op == nullptr || s.op_events != 0 || s.sleep_seq != due.seq) continue;  // stale
        s.op = nullptr;
        events.on_handler_io(due.slot, 0);
    }
}

// Cancelled sleeps stay in the heap until their deadline; when they would make it grow past
// what was reserved, they are dropped first.
void EpollBackend::purge_stale_sleeps() noexcept {
    std::erase_if(sleeps_, [this](const Sleep& e) {
        const Slot& s = slots_[e.slot];
        return s.op == nullptr || s.op_events != 0 || s.sleep_seq != e.seq;
    });
    std::make_heap(sleeps_.begin(), sleeps_.end(), std::greater<>());
}

}  // namespace lake::server
