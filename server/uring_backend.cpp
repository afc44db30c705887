#include "uring_backend.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/sendfile.h>

#include <cerrno>
#include <cstring>

#include "connection.hpp"
#include "op_tag.hpp"

namespace lake::server {

std::string UringBackend::setup(const config::ServerConfig& config, lake::BasicArena& lake,
                                unsigned hold_limit) {
    const unsigned cq = config.ring_entries * 8;
    if (int err = ring_.init(config.ring_entries, cq); err != 0) return explain_ring_failure(err);
    if (int err = buffers_.init(ring_.get(), lake, config.recv_buffers, config.recv_buffer_size);
        err != 0)
        return std::string("cannot register the receive buffer ring: ") + std::strerror(-err);
    recv_byte_budget_ = static_cast<std::uint32_t>(hold_limit * config.recv_buffer_size);
    handler_args_.resize(config.max_connections_per_worker);
    return {};
}

std::string UringBackend::run_pass(LoopEvents& events) noexcept {
    io_uring* ring = ring_.get();
    buffers_.publish();
    const int rc = io_uring_submit_and_wait(ring, 1);
    if (rc < 0 && rc != -EINTR && rc != -EBUSY && rc != -ETIME)
        return std::string("io_uring_submit_and_wait: ") + std::strerror(-rc);
    events.on_pass();
    unsigned head = 0;
    unsigned seen = 0;
    io_uring_cqe* cqe = nullptr;
    io_uring_for_each_cqe(ring, head, cqe) {
        dispatch(*cqe, events);
        ++seen;
    }
    io_uring_cq_advance(ring, seen);
    // The kernel keeps overflowed completions (FEAT_NODROP) and hands them over on the next
    // enter; multishot operations it had to stop end without F_MORE and are re-armed.
    if (io_uring_cq_has_overflow(ring)) ++counters_.cq_overflows;
    return {};
}

void UringBackend::dispatch(const io_uring_cqe& cqe, LoopEvents& events) noexcept {
    const std::uint64_t ud = cqe.user_data;
    const bool more = (cqe.flags & IORING_CQE_F_MORE) != 0;
    switch (op_of(ud)) {
        case Op::Accept:
            events.on_accept(cqe.res, more);
            break;
        case Op::Recv:
            events.on_recv(
                connection_of(ud),
                Completion{cqe.res, more,
                           (cqe.flags & IORING_CQE_F_BUFFER) != 0
                               ? static_cast<std::uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT)
                               : Completion::kNoBuffer});
            break;
        case Op::Send:
            events.on_send(connection_of(ud), cqe.res);
            break;
        case Op::Timer:
            events.on_tick();
            break;
        case Op::Wake:
            events.on_wake();
            break;
        case Op::Handler:
            events.on_handler_io(connection_of(ud), cqe.res);
            break;
        case Op::FileReady:
            file_ready(connection_of(ud), cqe.res, events);
            break;
        case Op::Cancel:
            break;
        case Op::LogWrite:
            events.on_log_written(cqe.res);
            break;
    }
}

void UringBackend::arm_accept(int listen_fd) noexcept {
    io_uring_sqe* s = ring_.sqe();
    io_uring_prep_multishot_accept(s, listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    io_uring_sqe_set_data64(s, tag(Op::Accept));
}

void UringBackend::cancel_accept() noexcept {
    io_uring_sqe* s = ring_.sqe();
    io_uring_prep_cancel64(s, tag(Op::Accept), 0);
    io_uring_sqe_set_data64(s, tag(Op::Cancel));
}

void UringBackend::arm_tick() noexcept {
    tick_.tv_sec = 1;
    tick_.tv_nsec = 0;
    io_uring_sqe* s = ring_.sqe();
    io_uring_prep_timeout(s, &tick_, 0, 0);
    io_uring_sqe_set_data64(s, tag(Op::Timer));
}

void UringBackend::arm_wake(int fd) noexcept {
    io_uring_sqe* s = ring_.sqe();
    io_uring_prep_read(s, fd, &wake_value_, sizeof(wake_value_), 0);
    io_uring_sqe_set_data64(s, tag(Op::Wake));
}

void UringBackend::write_log(int fd, std::span<const char> bytes) noexcept {
    io_uring_sqe* s = ring_.sqe();
    io_uring_prep_write(s, fd, bytes.data(), static_cast<unsigned>(bytes.size()),
                        static_cast<__u64>(-1));  // the file's position: O_APPEND's end
    io_uring_sqe_set_data64(s, tag(Op::LogWrite));
}

void UringBackend::arm_recv(Connection& c) noexcept {
    io_uring_sqe* s = ring_.sqe();
    io_uring_prep_recv_multishot(s, c.fd(), nullptr, 0, 0);
    // Kernel 6.16+: the multishot recv ends by itself after this many bytes (the field is
    // sqe->optlen in newer headers), so that a burst from one socket cannot take the whole
    // buffer ring before its completions are even seen. Older kernels refuse it (EINVAL): the
    // connection then re-arms without it, and so does every later recv of this worker.
    if (recv_byte_budget_ != 0) s->file_index = recv_byte_budget_;
    s->flags |= IOSQE_BUFFER_SELECT;
    s->buf_group = BufferRing::kGroup;
    io_uring_sqe_set_data64(s, tag(Op::Recv, c.index()));
}

void UringBackend::send(Connection& c, const void* data, std::size_t len, bool more) noexcept {
    io_uring_sqe* s = ring_.sqe();
    io_uring_prep_send(s, c.fd(), data, len, more ? MSG_NOSIGNAL | MSG_MORE : MSG_NOSIGNAL);
    io_uring_sqe_set_data64(s, tag(Op::Send, c.index()));
}

void UringBackend::send_msg(Connection& c, const msghdr* msg, bool more) noexcept {
    io_uring_sqe* s = ring_.sqe();
    io_uring_prep_sendmsg(s, c.fd(), msg, more ? MSG_NOSIGNAL | MSG_MORE : MSG_NOSIGNAL);
    io_uring_sqe_set_data64(s, tag(Op::Send, c.index()));
}

// A file's range goes out with sendfile, which io_uring has no operation for: a poll for room
// through the ring, then the system call on the loop's thread (the socket is non-blocking, the
// pages cached), reported as the send's completion. A socket shut down meanwhile (the connection
// closing) polls ready too, and its sendfile fails: nothing waits for ever.
void UringBackend::send_file(Connection& c, int file_fd, std::uint64_t offset,
                             std::size_t len) noexcept {
    HandlerArgs& args = handler_args_[c.index()];
    args.socket = c.fd();
    args.file = file_fd;
    args.offset = offset;
    args.len = len;
    arm_file_ready(c.index());
}

void UringBackend::arm_file_ready(std::uint32_t slot) noexcept {
    io_uring_sqe* s = ring_.sqe();
    io_uring_prep_poll_add(s, handler_args_[slot].socket, POLLOUT);
    io_uring_sqe_set_data64(s, tag(Op::FileReady, slot));
}

void UringBackend::file_ready(std::uint32_t slot, int result, LoopEvents& events) noexcept {
    HandlerArgs& args = handler_args_[slot];
    if (result < 0) {
        events.on_send(slot, result);
        return;
    }
    off_t at = static_cast<off_t>(args.offset);
    const ssize_t n = ::sendfile(args.socket, args.file, &at, args.len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        arm_file_ready(slot);  // the room went to nothing (or a signal): wait again
        return;
    }
    events.on_send(slot, n > 0 ? static_cast<int>(n) : n == 0 ? -ENODATA : -errno);
}

void UringBackend::cancel_recv(Connection& c) noexcept {
    io_uring_sqe* s = ring_.sqe();
    io_uring_prep_cancel64(s, tag(Op::Recv, c.index()), 0);
    io_uring_sqe_set_data64(s, tag(Op::Cancel, c.index()));
}

bool UringBackend::start_handler_io(Connection& c, handlers::IoOp& op) noexcept {
    using Kind = handlers::IoOp::Kind;
    HandlerArgs& args = handler_args_[c.index()];
    io_uring_sqe* s = ring_.sqe();
    switch (op.kind) {
        case Kind::Sleep:
            // sleep(0) yields: one round trip through the ring without arming a timer (each
            // timer is an interrupt, which in a VM costs more than the whole request).
            if (op.nanoseconds == 0) {
                io_uring_prep_nop(s);
                break;
            }
            args.sleep.tv_sec = static_cast<long long>(op.nanoseconds / 1'000'000'000u);
            args.sleep.tv_nsec = static_cast<long long>(op.nanoseconds % 1'000'000'000u);
            io_uring_prep_timeout(s, &args.sleep, 0, 0);
            break;
        case Kind::OpenBeneath:
            args.how = open_how{};
            args.how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY;
            args.how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
            io_uring_prep_openat2(s, op.fd, op.path, &args.how);
            break;
        case Kind::Read:
            io_uring_prep_read(s, op.fd, op.buffer, op.length, op.offset);
            break;
        case Kind::Close:
            io_uring_prep_close(s, op.fd);
            break;
        case Kind::Connect:
            io_uring_prep_connect(s, op.fd, static_cast<const sockaddr*>(op.buffer), op.length);
            break;
        case Kind::Receive:
            io_uring_prep_recv(s, op.fd, op.buffer, op.length, 0);
            // An answer is awaited: nothing to read yet, so no attempt before the poll is armed.
            s->ioprio |= IORING_RECVSEND_POLL_FIRST;
            break;
        case Kind::SendBytes:
            io_uring_prep_send(s, op.fd, op.buffer, op.length, MSG_NOSIGNAL);
            break;
        case Kind::Stat:
        case Kind::Send:
        case Kind::SendFile:
        case Kind::ReadBody:
            io_uring_prep_nop(s);  // never asked of a backend (Connection::start)
            break;
    }
    io_uring_sqe_set_data64(s, tag(Op::Handler, c.index()));
    return true;
}

void UringBackend::cancel_handler_io(Connection& c) noexcept {
    io_uring_sqe* s = ring_.sqe();
    io_uring_prep_cancel64(s, tag(Op::Handler, c.index()), 0);
    io_uring_sqe_set_data64(s, tag(Op::Cancel, c.index()));
}

}  // namespace lake::server
