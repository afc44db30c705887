// server/waiting_handlers.cpp — the part of a connection that runs waiting handlers
// (handlers/task.hpp, handlers/io.hpp): where each operation is started (Connection::start), where
// every completion resumes the coroutine (Connection::complete_io), the response sent in parts
// and the request body read as it arrives.
//
// A handler that is a coroutine runs until its first co_await; the operation it awaits is done
// at once when it cannot wait (a cached path or page, a stat, body bytes already here), or goes
// to the worker's I/O backend (back in on_handler_io), or is a part of its response
// queued for sending (back in part_sent). Parsing stops meanwhile, but for its own streamed body:
// pipelined requests behind it are answered after it, in order. A client that leaves, or the
// handler deadline, cancels the operation and destroys the frame once its CQE is in: nothing
// completes into it.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "connection.hpp"
#include "page_cache.hpp"

namespace lake::server {

bool Connection::stream_body(const http::Request& request) noexcept {
    return env_.router.streams_body(request);
}

// A piece of a streamed body, for the handler waiting in read_body(): what fits its buffer is
// copied, the rest waits in body_rest_ (and its receive buffer stays held) for the next call.
void Connection::hand_body_part(std::string_view part) noexcept {
    const std::size_t n = std::min<std::size_t>(part.size(), io_op_->length);
    if (n != 0) std::memcpy(io_op_->buffer, part.data(), n);
    body_rest_ = part.substr(n);
    pop_consumed_buffer();
    if (!parser_.streaming_body()) task_started_ = env_.loop.now;  // the body's end: deadline
    complete_io(static_cast<int>(n));
}

// The first held buffer goes back to the ring once parsed whole and no body bytes in it wait.
void Connection::pop_consumed_buffer() noexcept {
    if (in_.held.count == 0 || !body_rest_.empty()) return;
    const BufferRing::Record& h = env_.buffers.record(in_.held.head);
    if (h.used == h.len) buffer_parsed();
}

void Connection::start_task() noexcept {
    task_started_ = env_.loop.now;
    task_cancelled_ = task_timed_out_ = stream_started_ = head_out_ = false;
    stream_sent_ = 0;
    {
        handlers::FrameArenaScope frames(&request_view_);
        task_.start();
    }
    if (task_.done()) finish_task();
}

bool Connection::start(handlers::IoOp& op) noexcept {
    using Kind = handlers::IoOp::Kind;
    if (io_op_ != nullptr || task_cancelled_ || state_ != State::Open) {
        op.result = io_op_ != nullptr ? -EBUSY : -ECANCELED;  // one at a time; or leaving
        return false;
    }
    if (op.kind == Kind::Send || op.kind == Kind::SendFile) return start_send_part(op);
    if (op.kind == Kind::ReadBody) {
        if (!parser_.streaming_body() && body_rest_.empty()) {  // complete, or never streamed
            op.result = 0;
            return false;
        }
        if (!body_rest_.empty()) {  // what the last part left
            const std::size_t n = std::min<std::size_t>(body_rest_.size(), op.length);
            std::memcpy(op.buffer, body_rest_.data(), n);
            body_rest_.remove_prefix(n);
            pop_consumed_buffer();
            op.result = static_cast<int>(n);
            return false;
        }
        io_op_ = &op;  // pump() parses on and hands it the next part (after_event, or now)
        return true;
    }
    if (op.kind == Kind::Stat) {
        // Inline: the stat of an open descriptor reads its in-memory inode and cannot wait on a
        // disk, while io_uring always hands statx to a worker thread (a thread hop per request).
        op.result = ::statx(op.fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS,
                            static_cast<struct statx*>(op.buffer)) == 0
                        ? 0
                        : -errno;
        return false;
    }
    if (try_without_waiting(op)) {
        ++env_.counters.waiting_ops_inline;
        return false;
    }
    // A socket operation's deadline is checked once a tick (on_tick), not armed as a linked
    // timeout: a kernel timer per operation cost more than the rest of the exchange's ring work.
    io_deadline_ns_ =
        op.nanoseconds != 0 && op.kind != Kind::Sleep ? env_.loop.loop_ns + op.nanoseconds : 0;
    io_timed_out_ = false;
    if (!env_.io.start_handler_io(*this, op)) {  // done at once (epoll: files, ready sockets)
        io_deadline_ns_ = 0;
        ++env_.counters.waiting_ops_inline;
        return false;
    }
    ++env_.counters.waiting_ops_ring;
    io_op_ = &op;
    io_on_ring_ = true;
    return true;
}

// A socket operation past its deadline is cancelled; it completes with -ETIMEDOUT.
void Connection::check_io_deadline() noexcept {
    if (io_on_ring_ && io_deadline_ns_ != 0 && !io_timed_out_ && !task_cancelled_ &&
        env_.loop.loop_ns >= io_deadline_ns_) {
        io_timed_out_ = true;
        env_.io.cancel_handler_io(*this);
    }
}

// A file operation is tried first in a way that cannot wait — a path lookup from the dentry
// cache only (RESOLVE_CACHED), a read from the page cache only (RWF_NOWAIT) — and goes through
// the ring only when it would have waited: the common case (a file served again) then costs no
// round trip. This is what io_uring itself does first, without the submission and completion.
bool Connection::try_without_waiting(handlers::IoOp& op) noexcept {
    using Kind = handlers::IoOp::Kind;
    long r = -1;
    if (op.kind == Kind::OpenBeneath) {
        open_how how{};
        how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY;
        how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_CACHED;
        r = ::syscall(SYS_openat2, op.fd, op.path, &how, sizeof(how));
    } else if (op.kind == Kind::Read) {
        iovec v{op.buffer, op.length};
        r = ::preadv2(op.fd, &v, 1, static_cast<off_t>(op.offset), RWF_NOWAIT);
    } else {
        return false;
    }
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EOPNOTSUPP ||
                  errno == ENOSYS || errno == EINVAL))
        return false;  // it would wait (or the kernel cannot say): through the ring
    op.result = r >= 0 ? static_cast<int>(r) : -errno;
    return true;
}

void Connection::on_handler_io(int result) noexcept {
    io_on_ring_ = false;
    if (io_op_ == nullptr) return;
    int res = result;
    if (io_op_->kind == handlers::IoOp::Kind::Sleep && res == -ETIME) res = 0;  // it slept
    // Cancelled at its deadline (on_tick; a cancellation of ours is handled below, unresumed).
    if (io_timed_out_ && res == -ECANCELED) res = -ETIMEDOUT;
    io_deadline_ns_ = 0;
    io_timed_out_ = false;
    if (task_cancelled_ || state_ != State::Open) {
        // Opened just before the cancel reached it: nobody will close it but us. (A socket of
        // the handler's own is closed by the handler's frame, destroyed now.)
        if (io_op_->kind == handlers::IoOp::Kind::OpenBeneath && res >= 0) ::close(res);
        io_op_ = nullptr;
        end_task();
        if (state_ == State::Open && task_timed_out_) answer_handler_timeout();
        after_event();
        return;
    }
    complete_io(res);
    after_event();
}

// The one place a waiting handler resumes: its operation completed with `result` (from the
// ring, a part sent, a piece of body handed over, or the body's end).
void Connection::complete_io(int result) noexcept {
    handlers::IoOp* op = std::exchange(io_op_, nullptr);
    op->result = result;
    {
        handlers::FrameArenaScope frames(&request_view_);
        op->waiter.resume();
    }
    if (task_.done()) finish_task();
}

// The handler returned (or threw): its response is queued like a plain handler's, or, when it
// was sent in parts, its last part goes out.
void Connection::finish_task() noexcept {
    const std::exception_ptr failed = task_.exception();
    end_task();
    http::Response& r = pending_response_;
    if (!stream_started_) {
        if (failed) {
            r.reset();
            r.text(500, "Internal Server Error\n", "text/plain; charset=utf-8");
        } else {
            env_.router.finish(parser_.request(), r);
        }
        respond();
        return;
    }
    // Sent in parts: the head is out. A failure now can only be told by closing; so can a body
    // that does not match the Content-Length it announced.
    const bool with_body = http::sends_body(r, pending_context_);
    const bool short_length = with_body && pending_context_.framing == http::Framing::Length &&
                              stream_sent_ + r.body.size() != pending_context_.length;
    if (failed || r.overflowed() || short_length || !queue_part(true)) {
        abort();
        return;
    }
    flush();
    count_response();
    if (!pending_context_.keep_alive)
        begin_drain();
    else
        next_request();
}

void Connection::cancel_task() noexcept {
    if (!task_ || task_cancelled_) return;
    task_cancelled_ = true;
    if (io_on_ring_)
        env_.io.cancel_handler_io(*this);  // the frame goes when its CQE is in
    else if (!out_.sending_file())
        end_task();  // waiting for a part of its response to be sent: its bytes are not in it
    // (A file's range in flight reads the handler's open file: the frame, which closes it,
    // goes once that send has completed: release_if_idle.)
}

void Connection::end_task() noexcept {
    task_.reset();
    if (!body_rest_.empty()) {
        body_rest_ = {};
        pop_consumed_buffer();
    }
    if (!io_on_ring_) io_op_ = nullptr;
    part_waiting_ = false;
}

void Connection::answer_handler_timeout() noexcept {
    pending_response_.reset();
    pending_response_.text(504, "Gateway Timeout: the handler did not answer in time\n",
                           "text/plain; charset=utf-8");
    respond();
}

// A part of a response sent as it is made: the head first (Content-Length when the handler
// knows the whole length, chunked otherwise, or until close for HTTP/1.0), then the body so far.
// The handler resumes once all of it is with the kernel (part_sent()).
bool Connection::start_send_part(handlers::IoOp& op) noexcept {
    http::Response& r = pending_response_;
    if (op.buffer != &r || r.overflowed()) {
        op.result = -EINVAL;
        return false;
    }
    if (op.kind == handlers::IoOp::Kind::SendFile) {
        // A chunked body would need framing around the file's bytes: only a known length (or
        // an HTTP/1.0 body that ends with the connection) takes them.
        const bool chunked = stream_started_
                                 ? pending_context_.framing == http::Framing::Chunked
                                 : r.stream_length < 0 && parser_.request().version_minor != 0;
        if (chunked || op.fd < 0) {
            op.result = -EINVAL;
            return false;
        }
        if (!in_page_cache(op.fd, op.offset, op.length)) {  // nothing sent: read them instead
            ++env_.counters.file_sends_not_cached;
            op.result = -EAGAIN;
            return false;
        }
    }
    if (!stream_started_) {
        const http::Request& req = parser_.request();
        env_.router.finish(req, r);  // after-hooks may add headers: the head is final now
        if (http::response_problem(r) != nullptr) {
            op.result = -EINVAL;
            return false;
        }
        respond();
        pending_ = false;  // respond() fills the context; the output is queued part by part
        if (r.stream_length >= 0) {
            pending_context_.framing = http::Framing::Length;
            pending_context_.length = static_cast<std::uint64_t>(r.stream_length);
        } else if (req.version_minor == 0) {
            pending_context_.framing = http::Framing::UntilClose;
            pending_context_.keep_alive = false;
        } else {
            pending_context_.framing = http::Framing::Chunked;
        }
        stream_started_ = true;
    }
    // Never past the length announced: bytes beyond it would be read as the next response's.
    // (Nothing of the part goes; the handler's end then finds the body short and closes.)
    if (pending_context_.framing == http::Framing::Length &&
        http::sends_body(r, pending_context_)) {
        const std::uint64_t part =
            r.body.size() + (op.kind == handlers::IoOp::Kind::SendFile ? op.length : 0);
        if (stream_sent_ + part > pending_context_.length) {
            op.result = -EINVAL;
            return false;
        }
    }
    io_op_ = &op;
    file_queued_ = 0;
    if (out_.free_ranges() < 4) {
        part_waiting_ = true;  // queued when the output before it has gone
        return true;
    }
    if (!queue_send_op()) {
        io_op_ = nullptr;
        op.result = -ENOMEM;
        return false;
    }
    if (!out_.pending() && !out_.in_flight() && !out_.file_pending()) {  // nothing to send
        io_op_ = nullptr;
        op.result = 0;
        return false;
    }
    flush();
    return true;
}

// The part a send or send_file waits on: the body written since the last part, then (send_file)
// the file's range, unless the response has no body (HEAD, 304).
bool Connection::queue_send_op() noexcept {
    if (!queue_part(false)) return false;
    const handlers::IoOp& op = *io_op_;
    if (op.kind != handlers::IoOp::Kind::SendFile || op.length == 0 ||
        !http::sends_body(pending_response_, pending_context_))
        return true;
    out_.queue_file(op.fd, op.offset, op.length);
    file_queued_ = op.length;
    stream_sent_ += op.length;
    ++env_.counters.file_sends;
    return true;
}

namespace {
constexpr char kCrlf[] = "\r\n";
constexpr char kLastChunk[] = "0\r\n\r\n";
std::span<std::byte> bytes_of(const char* s, std::size_t n) {
    return {reinterpret_cast<std::byte*>(const_cast<char*>(s)), n};
}
}  // namespace

// Queues the head (the first time), then the body written since the last part, framed; `last`
// adds the chunked body's end. The head and a chunk-size line go into the room kept before a
// body written in the response view when they fit there: one range with the body.
bool Connection::queue_part(bool last) noexcept {
    http::Response& r = pending_response_;
    const http::ResponseContext& ctx = pending_context_;
    r.release_spare();  // before a head may go after the body
    const bool with_body = http::sends_body(r, ctx);
    const std::string_view part = with_body ? r.body : std::string_view();
    const bool chunked = ctx.framing == http::Framing::Chunked && with_body;
    char line[24];
    std::size_t line_len = 0;
    if (chunked && !part.empty())
        line_len =
            static_cast<std::size_t>(std::snprintf(line, sizeof(line), "%zx\r\n", part.size()));
    const std::size_t head = head_out_ ? 0 : http::head_size(r, ctx);
    if (r.body_in_response_arena() && head + line_len <= http::Response::kHeadRoom) {
        std::byte* start = r.head_room() + http::Response::kHeadRoom - line_len - head;
        if (head != 0) (void)http::write_head_at(start, r, ctx);
        std::memcpy(start + head, line, line_len);
        (void)out_.queue({start, head + line_len + part.size()});
    } else {
        if (head + line_len != 0) {
            lake::DropletDyn d = response_view_.alloc_dyn(head + line_len);
            if (!d) return false;
            if (head != 0) (void)http::write_head_at(d.data(), r, ctx);
            std::memcpy(d.data() + head, line, line_len);
            (void)out_.queue(d.leak());
        }
        if (!part.empty()) (void)out_.queue(bytes_of(part.data(), part.size()));
    }
    if (line_len != 0) (void)out_.queue(bytes_of(kCrlf, 2));
    if (last && chunked) (void)out_.queue(bytes_of(kLastChunk, 5));
    stream_sent_ += part.size();
    head_out_ = true;
    return true;
}

// Everything queued went out: a part the handler waits on is sent, and the response view, which
// held only that part, starts afresh for the next one.
void Connection::part_sent() noexcept {
    using Kind = handlers::IoOp::Kind;
    if (io_op_ == nullptr || io_on_ring_ ||
        (io_op_->kind != Kind::Send && io_op_->kind != Kind::SendFile))
        return;
    if (part_waiting_) {
        if (!out_.empty()) return;
        part_waiting_ = false;
        if (!queue_send_op()) {
            complete_io(-ENOMEM);
            return;
        }
        flush();
        return;
    }
    if (out_.pending() || out_.large() != nullptr || out_.file_pending()) return;
    response_view_.reset();
    pending_response_.restart_body();
    complete_io(static_cast<int>(file_queued_));
}

}  // namespace lake::server
