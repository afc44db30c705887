#include "connection.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "log.hpp"
#include "op_tag.hpp"
#include "worker.hpp"

namespace lake::server {

namespace {
http::ParseLimits limits_of(const config::ServerConfig& c) {
    return {c.max_target, c.max_header_bytes, c.max_headers, c.max_body};
}
}  // namespace

Connection::Connection(Worker& worker, lake::BasicArena& lake, std::uint32_t index,
                       const config::ServerConfig& config)
    : worker_(worker),
      config_(config),
      index_(index),
      request_view_(lake, config.request_view, 4096),
      response_view_(lake, config.connection_arena - config.request_view, 4096),
      parser_(request_view_, *this, limits_of(config)) {}

// ---- the request path ---------------------------------------------------------------------

void Connection::open(int fd) noexcept {
    fd_ = fd;
    state_ = State::Open;
    request_view_.reset();
    parser_.reset_connection();
    response_view_.reset();
    held_ = HeldQueue{};
    recv_armed_ = recv_cancelling_ = recv_paused_ = waiting_for_buffers_ = peer_closed_ =
        pages_released_ = false;
    pending_ = false;
    out_count_ = out_first_ = 0;
    large_sent_ = 0;
    large_out_ = nullptr;
    send_in_flight_ = sending_large_ = false;
    move_to_ = nullptr;
    move_started_ = false;
    last_activity_ = request_started_ = send_progress_ = worker_.now();
    acked_seen_ = 0;  // a new socket: its peer has acknowledged nothing yet
    client_known_ = false;
    client_text_len_ = 0;
    waiting_large_since_ = 0;
    no_byte_yet_ = true;
    io_op_ = nullptr;
    io_on_ring_ = part_waiting_ = task_cancelled_ = task_timed_out_ = stream_started_ = head_out_ =
        false;
    update_recv();
}

void Connection::on_recv(const io_uring_cqe& cqe) noexcept {
    if ((cqe.flags & IORING_CQE_F_MORE) == 0) recv_armed_ = recv_cancelling_ = false;
    const int res = cqe.res;
    if (move_started_ && res >= 0) cancel_move();  // input (or EOF) came first: it stays here
    if (res > 0) {
        const auto bid = static_cast<std::uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
        worker_.buffers().lent();
        worker_.counters().received_bytes += static_cast<std::uint64_t>(res);
        last_activity_ = worker_.now();
        no_byte_yet_ = false;
        pages_released_ = false;
        if (state_ != State::Open) {
            worker_.buffers().recycle(bid);  // input after our last response is dropped
        } else {
            worker_.buffers().hold(held_, bid, static_cast<std::uint32_t>(res));
            if (held_.count >= worker_.hold_limit() && recv_armed_ && !recv_cancelling_) {
                recv_cancelling_ = recv_paused_ = true;  // what is in flight arrives: held too
                ++worker_.counters().recv_pauses;
                worker_.cancel_recv(*this);
            }
        }
    } else if (res == 0) {
        peer_closed_ = true;
    } else if (res == -ENOBUFS) {
        ++worker_.counters().enobufs;
        worker_.wait_for_buffers(*this);
        waiting_for_buffers_ = true;
    } else if (res == -ECANCELED) {
        // our own back-pressure pause (or close); update_recv() re-arms when due
    } else if (res == -EINVAL && worker_.drop_recv_byte_budget()) {
        // an older kernel: re-armed below without the byte budget
    } else if (state_ != State::Closing) {
        abort();  // ECONNRESET and the like
    }

    switch (state_) {
        case State::Open:
            pump();
            break;
        case State::Lingering:
            if (peer_closed_)
                abort();
            else
                update_recv();
            break;
        default:
            break;
    }
    finish_move_if_ready();
    release_if_idle();
}

// Parses what was received, one request at a time, answering each before the next.
void Connection::pump() noexcept {
    while (state_ == State::Open) {
        // A handler waits: the requests behind it wait their turn; only the body of its own
        // request is parsed, while it asks for it.
        if (task_ && !reading_body()) break;
        if (pending_) {
            if (!write_pending()) break;  // no room: resume when the send completes
            pending_ = false;
            count_response();
            if (!pending_context_.keep_alive) {
                begin_drain();
                break;
            }
            next_request();
            continue;
        }
        if (held_.count == 0) break;
        BufferRing::Record& h = worker_.buffers().record(held_.head);
        if (!parser_.in_progress()) {
            request_started_ = worker_.now();
            request_started_ns_ = worker_.loop_ns();
            body_at_tick_ = 0;
            slow_body_ticks_ = 0;
        }
        const char* data = worker_.buffers().buffer(held_.head) + h.used;
        const http::ParseStep step = parser_.feed(data, h.len - h.used);
        h.used += static_cast<std::uint32_t>(step.consumed);
        if (step.event == http::ParseEvent::BodyPart) {
            hand_body_part(parser_.body_part());  // from this buffer: popped once copied
            continue;
        }
        if (h.used == h.len) worker_.buffers().pop(held_);  // the buffer goes straight back
        if (step.event == http::ParseEvent::NeedBodyBuffer) {
            wait_for_large_buffer();
            break;
        }
        stop_waiting_for_large_buffer();
        if (step.event == http::ParseEvent::Error) {
            prepare_error(parser_.error_status(), parser_.error_reason());
        } else if (step.event == http::ParseEvent::Complete && task_) {
            // The end of a streamed body: its handler reads 0; its deadline starts now.
            task_started_ = worker_.now();
            if (reading_body()) {
                handlers::IoOp* op = std::exchange(io_op_, nullptr);
                op->result = 0;
                resume(op->waiter);
            }
        } else {
            if (parser_.wants_continue()) write_continue();  // before a handler writes a body
            if (step.event == http::ParseEvent::Complete || step.event == http::ParseEvent::Headers)
                prepare_response();
        }
    }
    if (state_ == State::Open && peer_closed_ && task_) {
        abort();  // the client left while its handler waits: cancelled, nothing to answer
        return;
    }
    if (state_ == State::Open && peer_closed_ && held_.count == 0 && !pending_) {
        // The client sent all it will send: answer what we have, then close.
        if (parser_.in_progress()) prepare_error(400, "connection closed mid-request");
        if (!pending_)
            begin_drain();
        else
            pump();
        return;
    }
    flush();
    update_recv();
}

// Runs the handler for the complete request and queues its response; a waiting handler is
// started and the response queued when it returns.
void Connection::prepare_response() noexcept {
    http::Request& req = parser_.request();
    pending_response_.reset();
    pending_response_.bind(&request_view_, &response_view_);
    req.io = this;
    ++worker_.counters().requests;
    {
        handlers::FrameArenaScope frames(&request_view_);
        task_ = worker_.router().dispatch(req, pending_response_);
    }
    if (task_)
        start_task();
    else
        respond();
}

void Connection::respond() noexcept {
    const http::Request& req = parser_.request();
    if (const char* problem = http::response_problem(pending_response_)) refuse_response(problem);
    pending_context_ = http::ResponseContext{
        worker_.date_line(), worker_.server_line(), req.method == http::Method::Head,
        req.keep_alive && !pending_response_.close && !parser_.must_close() &&
            !worker_.draining() && !parser_.streaming_body(),  // a body not read: framing lost
        req.version_minor == 0};
    pending_ = true;
}

bool Connection::stream_body(const http::Request& request) noexcept {
    return worker_.router().streams_body(request);
}

// A piece of a streamed body, for the handler waiting in read_body(): what fits its buffer is
// copied, the rest waits in body_rest_ (and its receive buffer stays held) for the next call.
void Connection::hand_body_part(std::string_view part) noexcept {
    handlers::IoOp* op = std::exchange(io_op_, nullptr);
    const std::size_t n = std::min<std::size_t>(part.size(), op->length);
    if (n != 0) std::memcpy(op->buffer, part.data(), n);
    body_rest_ = part.substr(n);
    pop_consumed_buffer();
    if (!parser_.streaming_body()) task_started_ = worker_.now();  // the body's end: deadline
    op->result = static_cast<int>(n);
    resume(op->waiter);
}

// The first held buffer goes back to the ring once parsed whole and no body bytes in it wait.
void Connection::pop_consumed_buffer() noexcept {
    if (held_.count == 0 || !body_rest_.empty()) return;
    const BufferRing::Record& h = worker_.buffers().record(held_.head);
    if (h.used == h.len) worker_.buffers().pop(held_);
}

// ---- waiting handlers ---------------------------------------------------------------------------
// A handler that is a coroutine runs until its first co_await; each operation it awaits is
// started in start() (an SQE tagged Op::Handler, or a part of its response queued for sending)
// and resumed from on_handler_io() (or part_sent()). Parsing stops meanwhile: pipelined requests
// behind it are answered after it, in order. A client that leaves, or the handler deadline,
// cancels the operation and destroys the frame once its CQE is in: nothing completes into it.

void Connection::start_task() noexcept {
    task_started_ = worker_.now();
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
    if (op.kind == Kind::Send) return start_send_part(op);
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
        ++worker_.counters().waiting_ops_inline;
        return false;
    }
    ++worker_.counters().waiting_ops_ring;
    io_uring_sqe* s = worker_.handler_sqe(*this);
    switch (op.kind) {
        case Kind::Sleep:
            // sleep(0) yields: one round trip through the ring without arming a timer (each
            // timer is an interrupt, which in a VM costs more than the whole request).
            if (op.nanoseconds == 0) {
                io_uring_prep_nop(s);
                break;
            }
            sleep_for_.tv_sec = static_cast<long long>(op.nanoseconds / 1'000'000'000u);
            sleep_for_.tv_nsec = static_cast<long long>(op.nanoseconds % 1'000'000'000u);
            io_uring_prep_timeout(s, &sleep_for_, 0, 0);
            break;
        case Kind::OpenBeneath:
            open_how_ = open_how{};
            open_how_.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY;
            open_how_.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
            io_uring_prep_openat2(s, op.fd, op.path, &open_how_);
            break;
        case Kind::Read:
            io_uring_prep_read(s, op.fd, op.buffer, op.length, op.offset);
            break;
        case Kind::Close:
            io_uring_prep_close(s, op.fd);
            break;
        case Kind::Stat:
        case Kind::Send:
        case Kind::ReadBody:
            break;
    }
    io_uring_sqe_set_data64(s, tag(Op::Handler, index_));
    io_op_ = &op;
    io_on_ring_ = true;
    return true;
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

void Connection::on_handler_io(const io_uring_cqe& cqe) noexcept {
    io_on_ring_ = false;
    handlers::IoOp* op = std::exchange(io_op_, nullptr);
    if (op == nullptr) return;
    int res = cqe.res;
    if (op->kind == handlers::IoOp::Kind::Sleep && res == -ETIME) res = 0;  // it slept
    if (task_cancelled_ || state_ != State::Open) {
        // Opened just before the cancel reached it: nobody will close it but us.
        if (op->kind == handlers::IoOp::Kind::OpenBeneath && res >= 0) ::close(res);
        end_task();
        if (state_ == State::Open && task_timed_out_) answer_handler_timeout();
        after_event();
        return;
    }
    op->result = res;
    resume(op->waiter);
    after_event();
}

void Connection::resume(std::coroutine_handle<> waiter) noexcept {
    {
        handlers::FrameArenaScope frames(&request_view_);
        waiter.resume();
    }
    if (task_.done()) finish_task();
}

// What follows any completion: the request path goes on where it can.
void Connection::after_event() noexcept {
    if (state_ == State::Open)
        pump();
    else if (state_ == State::Draining)
        flush();
    finish_move_if_ready();
    release_if_idle();
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
            worker_.router().finish(parser_.request(), r);
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
        worker_.cancel_handler_io(*this);  // the frame goes when its CQE is in
    else
        end_task();  // waiting for a part of its response to be sent: its bytes are not in it
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
    if (!stream_started_) {
        const http::Request& req = parser_.request();
        worker_.router().finish(req, r);  // after-hooks may add headers: the head is final now
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
    io_op_ = &op;
    if (out_count_ + 4u > kMaxOutRanges) {
        part_waiting_ = true;  // queued when the output before it has gone
        return true;
    }
    if (!queue_part(false)) {
        io_op_ = nullptr;
        op.result = -ENOMEM;
        return false;
    }
    if (!output_pending() && !send_in_flight_) {  // nothing to send: done at once
        io_op_ = nullptr;
        op.result = 0;
        return false;
    }
    flush();
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
        (void)queue_output({start, head + line_len + part.size()});
    } else {
        if (head + line_len != 0) {
            lake::DropletDyn d = response_view_.alloc_dyn(head + line_len);
            if (!d) return false;
            if (head != 0) (void)http::write_head_at(d.data(), r, ctx);
            std::memcpy(d.data() + head, line, line_len);
            (void)queue_output(d.leak());
        }
        if (!part.empty()) (void)queue_output(bytes_of(part.data(), part.size()));
    }
    if (line_len != 0) (void)queue_output(bytes_of(kCrlf, 2));
    if (last && chunked) (void)queue_output(bytes_of(kLastChunk, 5));
    stream_sent_ += part.size();
    head_out_ = true;
    return true;
}

// Everything queued went out: a part the handler waits on is sent, and the response view, which
// held only that part, starts afresh for the next one.
void Connection::part_sent() noexcept {
    if (io_op_ == nullptr || io_on_ring_ || io_op_->kind != handlers::IoOp::Kind::Send) return;
    if (part_waiting_) {
        if (out_count_ != 0) return;
        part_waiting_ = false;
        if (!queue_part(false)) {
            handlers::IoOp* op = std::exchange(io_op_, nullptr);
            op->result = -ENOMEM;
            resume(op->waiter);
            return;
        }
        flush();
        return;
    }
    if (output_pending() || large_out_ != nullptr) return;
    response_view_.reset();
    pending_response_.restart_body();
    handlers::IoOp* op = std::exchange(io_op_, nullptr);
    op->result = 0;
    resume(op->waiter);
}

// A handler's response that must not go onto the wire becomes a 500. Logged when the count is a
// power of two: a client that triggers it on every request cannot flood the log.
void Connection::refuse_response(const char* problem) noexcept {
    const int status = pending_response_.status;
    pending_response_.reset();
    pending_response_.status = 500;
    const std::uint64_t n = ++worker_.counters().bad_responses;
    if ((n & (n - 1)) == 0) {
        const std::string_view path = parser_.request().path;
        log::error(
            "a handler's response to {} was refused ({}; status {}) and answered 500 ({} "
            "so far)",
            path.substr(0, 200), problem, status, n);
    }
}

void Connection::prepare_error(int status, const char* reason) noexcept {
    ++worker_.counters().parse_errors[parse_error_index(status)];
    pending_response_.reset();
    pending_response_.status = status;
    pending_response_.content_type = "text/plain; charset=utf-8";
    // "400 Bad Request: obsolete line folding in a header field": the client learns what was
    // wrong. Written into the request view; if that is full, the reason phrase alone.
    const std::string_view phrase = http::reason_phrase(status);
    lake::DropletDyn text = request_view_.process([&](std::span<std::byte> free) {
        return std::snprintf(reinterpret_cast<char*>(free.data()), free.size(), "%d %.*s: %s\n",
                             status, static_cast<int>(phrase.size()), phrase.data(), reason);
    });
    pending_response_.body = text ? text.as_chars() : phrase;
    text.leak();
    pending_context_ =
        http::ResponseContext{worker_.date_line(), worker_.server_line(), false, false, false};
    pending_ = true;
    drop_held();  // framing is lost: nothing after this point can be trusted
}

// Serializes the pending response into the response view, or into a large buffer when it is
// bigger than the whole view. false when it must wait for the queued output to be sent.
bool Connection::write_pending() noexcept {
    http::Response& r = pending_response_;
    if (r.body_in_response_arena()) return write_pending_in_place();
    if (out_count_ == kMaxOutRanges) return false;
    const std::size_t size = http::response_size(r, pending_context_);
    if (size <= response_view_.remaining()) {
        std::span<std::byte> bytes = http::write_response(response_view_, r, pending_context_);
        (void)queue_output(bytes);
        release_large(parser_.take_large());
        return true;
    }
    if (response_view_.used() != 0 || large_out_ != nullptr) return false;

    lake::LakeView* body_buffer = parser_.take_large();
    lake::LakeView* target =
        body_buffer != nullptr && body_buffer->remaining() >= size ? body_buffer : acquire_large();
    std::span<std::byte> bytes;
    if (target != nullptr) bytes = http::write_response(*target, r, pending_context_);
    if (target != body_buffer) release_large(body_buffer);
    if (bytes.empty()) {  // no large buffer free, or the response exceeds even that
        release_large(target);
        r.reset();
        r.status = 503;
        pending_context_.keep_alive = false;
        (void)queue_output(http::write_response(response_view_, r, pending_context_));
        return true;
    }
    large_out_ = target;
    large_response_ = bytes;
    large_sent_ = 0;
    return true;
}

// A body the handler wrote into the response view: its head goes into the room kept before it
// (head and body then go out as one range, no byte copied), or after it when longer (two
// ranges). A small body instead moves up to the head at the room's start, so that the response
// joins the previous one's range: a pipelined batch then stays one send, and moving a few hundred
// bytes costs less than a range of its own. When the head fits nowhere, the answer is a bare
// 500 in the room: the response view cannot be reset under a body not yet sent.
bool Connection::write_pending_in_place() noexcept {
    http::Response& r = pending_response_;
    if (out_count_ + 2u > kMaxOutRanges) return false;  // wait for the queued output to go
    std::byte* room = r.head_room();
    const bool with_body = http::sends_body(r, pending_context_);
    const std::string_view body = r.body;
    const std::size_t head_size = http::head_size(r, pending_context_);
    if (head_size <= http::Response::kHeadRoom && (!with_body || body.size() <= kMoveBodyBelow)) {
        const std::span<std::byte> head = http::write_head_at(room, r, pending_context_);
        std::size_t kept = head.size();
        if (with_body) {
            std::memmove(room + kept, body.data(), body.size());
            kept += body.size();
        }
        // The room's unused part and the body's old place are the view's last bytes: back.
        (void)response_view_.deallocate(room + kept,
                                        http::Response::kHeadRoom + body.size() - kept);
        (void)queue_output({room, kept});
        release_large(parser_.take_large());
        return true;
    }
    std::span<std::byte> head =
        http::write_head_before(room, http::Response::kHeadRoom, r, pending_context_);
    if (!head.empty()) {
        (void)queue_output({head.data(), head.size() + (with_body ? body.size() : 0)});
    } else if (!(head = http::write_head(response_view_, r, pending_context_)).empty()) {
        (void)queue_output(head);
        if (with_body)
            (void)queue_output(
                {reinterpret_cast<std::byte*>(const_cast<char*>(body.data())), body.size()});
    } else {
        refuse_response("its head did not fit the response arena");
        pending_context_.keep_alive = false;
        (void)queue_output(
            http::write_head_before(room, http::Response::kHeadRoom, r, pending_context_));
    }
    release_large(parser_.take_large());
    return true;
}

bool Connection::queue_output(std::span<std::byte> bytes) noexcept {
    if (bytes.empty()) return true;
    if (out_count_ != 0) {
        iovec& last = out_[out_count_ - 1];
        if (static_cast<std::byte*>(last.iov_base) + last.iov_len == bytes.data()) {
            last.iov_len += bytes.size();
            return true;
        }
    }
    if (out_count_ == kMaxOutRanges) return false;
    out_[out_count_++] = iovec{bytes.data(), bytes.size()};
    return true;
}

// `sent` bytes of the queued ranges went out. When all did, the response view is reset, unless
// a pending response's written body still lives in it.
void Connection::output_sent(std::size_t sent) noexcept {
    while (sent != 0 && out_first_ < out_count_) {
        iovec& v = out_[out_first_];
        if (sent >= v.iov_len) {
            sent -= v.iov_len;
            ++out_first_;
        } else {
            v.iov_base = static_cast<std::byte*>(v.iov_base) + sent;
            v.iov_len -= sent;
            sent = 0;
        }
    }
    if (out_first_ < out_count_) return;
    out_first_ = out_count_ = 0;
    // Not under a pending response's written body, nor under a waiting handler's (part_sent()).
    if (!(pending_ && pending_response_.body_in_response_arena()) && !task_) response_view_.reset();
}

void Connection::write_continue() noexcept {
    parser_.continue_answered();
    lake::DropletDyn d = response_view_.alloc_dyn(http::kContinueLine.size());
    if (!d) return;  // no room: the client sends its body after its own timeout anyway
    std::memcpy(d.data(), http::kContinueLine.data(), http::kContinueLine.size());
    (void)queue_output(d.leak());
}

// Starts a send of what is queued, if nothing is in flight: the large response first.
void Connection::flush() noexcept {
    if (send_in_flight_ || fd_ < 0) return;
    if (large_out_ != nullptr) {
        sending_large_ = true;
        send_in_flight_ = true;
        send_progress_ = worker_.now();  // each send starts its own clock
        in_flight_len_ = large_response_.size() - large_sent_;
        worker_.send(*this, large_response_.data() + large_sent_, in_flight_len_);
        return;
    }
    if (output_pending()) {
        if (move_to_ != nullptr && !move_started_ && quiet()) begin_move();  // before the send
        sending_large_ = false;
        send_in_flight_ = true;
        send_progress_ = worker_.now();  // each send starts its own clock
        const unsigned ranges = out_count_ - out_first_;
        const iovec& first = out_[out_first_];
        if (ranges == 1) {
            in_flight_len_ = first.iov_len;
            worker_.send(*this, first.iov_base, first.iov_len);
        } else {
            in_flight_len_ = 0;
            for (unsigned i = out_first_; i < out_count_; ++i) in_flight_len_ += out_[i].iov_len;
            out_msg_ = msghdr{};
            out_msg_.msg_iov = &out_[out_first_];
            out_msg_.msg_iovlen = ranges;
            worker_.send_msg(*this, &out_msg_);
        }
        return;
    }
    if (state_ == State::Draining) {
        // Everything is sent: half-close, then read until the peer closes (or linger times out)
        // so that unread input does not turn our last response into a reset.
        ::shutdown(fd_, SHUT_WR);
        state_ = State::Lingering;
        linger_deadline_ = worker_.now() + config_.linger_timeout_s;
        if (peer_closed_)
            abort();
        else
            update_recv();
    }
}

void Connection::on_send(const io_uring_cqe& cqe) noexcept {
    send_in_flight_ = false;
    if (cqe.res < 0) {
        if (state_ != State::Closing) abort();  // EPIPE, ECONNRESET, ECANCELED
        release_if_idle();
        return;
    }
    last_activity_ = worker_.now();
    if (cqe.res > 0) send_progress_ = last_activity_;
    const auto sent = static_cast<std::size_t>(cqe.res);
    worker_.counters().sent_bytes += sent;
    if (sent < in_flight_len_) ++worker_.counters().short_sends;  // flush() sends the rest
    if (sending_large_) {
        large_sent_ += sent;
        if (large_sent_ == large_response_.size()) {
            release_large(large_out_);
            large_out_ = nullptr;
        }
    } else {
        output_sent(sent);  // all sent: the responses' bytes go back
        if (task_ && state_ == State::Open) part_sent();
    }
    after_event();
}

void Connection::begin_drain() noexcept {
    state_ = State::Draining;
    drop_held();
    flush();
}

// ---- receiving: arm, pause for back-pressure, resume ----------------------------------------

void Connection::update_recv() noexcept {
    if (recv_armed_ || waiting_for_buffers_ || peer_closed_ || fd_ < 0 || move_started_) return;
    const bool want = (state_ == State::Open && held_.count < worker_.hold_limit() / 2) ||
                      state_ == State::Lingering;
    if (!want) {
        // The recv ended at its byte budget with input still unparsed: paused like a cancel.
        if (state_ == State::Open && !recv_paused_) {
            recv_paused_ = true;
            ++worker_.counters().recv_pauses;
        }
        return;
    }
    recv_paused_ = false;
    recv_armed_ = true;
    worker_.arm_recv(*this);
}

void Connection::on_buffers_available() noexcept {
    if (!waiting_for_buffers_) return;
    waiting_for_buffers_ = false;
    update_recv();
}

void Connection::drop_held() noexcept { worker_.buffers().drop_all(held_); }

// ---- metrics ----------------------------------------------------------------------------------

// A response handed to the kernel (its send is submitted in this loop pass): by status class and
// method, and the time since its request's first byte arrived.
void Connection::count_response() noexcept {
    WorkerCounters& m = worker_.counters();
    const int cls = pending_response_.status / 100;
    const http::Request& req = parser_.request();
    // A request refused before its request line was read has no method yet: "other".
    const auto method =
        static_cast<std::size_t>(req.method_name.empty() ? http::Method::Other : req.method);
    if (cls >= 1 && cls <= 5 && method < kMethodCount) ++m.responses[cls - 1][method];
    const std::uint64_t took = worker_.loop_ns() - request_started_ns_;
    ++m.duration_buckets[duration_bucket(took)];
    m.duration_sum_ns += took;
    AccessLog& log = worker_.access_log();
    if (log.enabled()) {
        const bool json = log.format() == AccessLog::Format::Json;
        log.record(AccessLog::Entry{
            client_text(), json ? worker_.clock().iso_time() : worker_.clock().clf_time(),
            req.method_name.empty() ? nullptr : &req, pending_response_.status,
            pending_context_.head ? 0
            : stream_started_     ? stream_sent_
                                  : pending_response_.body.size(),
            took});
    }
}

// The peer's address as text, for the access log: looked up once per connection.
std::string_view Connection::client_text() noexcept {
    if (client_text_len_ == 0) {
        sockaddr_storage a{};
        socklen_t len = sizeof(a);
        const char* text = nullptr;
        if (fd_ >= 0 && ::getpeername(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
            if (a.ss_family == AF_INET)
                text = ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(a).sin_addr,
                                   client_text_, sizeof(client_text_));
            else if (a.ss_family == AF_INET6)
                text = ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(a).sin6_addr,
                                   client_text_, sizeof(client_text_));
        }
        if (text == nullptr) std::memcpy(client_text_, "-", 2);
        client_text_len_ = static_cast<std::uint8_t>(std::strlen(client_text_));
    }
    return {client_text_, client_text_len_};
}

void Connection::count_timeout(TimeoutKind kind) noexcept {
    ++worker_.counters().timeouts[static_cast<std::size_t>(kind)];
}

// The connection owns its views and the large buffers it borrows; the parser only uses them.
void Connection::next_request() noexcept {
    release_large(parser_.take_large());
    request_view_.reset();
    parser_.start();
}

// ---- large buffers: lent under the client's share, waited for briefly -------------------------

lake::LakeView* Connection::acquire_large() noexcept { return worker_.acquire_large(client_key()); }

void Connection::release_large(lake::LakeView* v) noexcept {
    if (v != nullptr) worker_.release_large(v, client_key());
}

// An IPv4 address, or the /64 of an IPv6 one (one host's share of addresses); looked up once per
// connection, only when it first takes a large buffer.
ClientKey Connection::client_key() noexcept {
    if (client_known_) return client_key_;
    sockaddr_storage a{};
    socklen_t len = sizeof(a);
    client_key_ = 0;
    if (fd_ >= 0 && ::getpeername(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
        if (a.ss_family == AF_INET) {
            client_key_ = reinterpret_cast<const sockaddr_in&>(a).sin_addr.s_addr;
        } else if (a.ss_family == AF_INET6) {
            const auto& six = reinterpret_cast<const sockaddr_in6&>(a).sin6_addr;
            std::memcpy(&client_key_, six.s6_addr, sizeof(client_key_));
            client_key_ ^= 0x6;  // never equal to an IPv4 key of the same bits
        }
    }
    client_known_ = true;
    return client_key_;
}

// A body that could not get a large buffer waits, unparsed, for one (its recv pauses once it
// holds its share of the ring); after kLargeBufferWaitTicks it is answered 503. With no pool at
// all there is nothing to wait for.
void Connection::wait_for_large_buffer() noexcept {
    if (!worker_.has_large_buffers()) {
        prepare_error(503, "no large buffer for this body");
        return;
    }
    if (waiting_large_since_ != 0) return;
    waiting_large_since_ = worker_.now() + 1;
    worker_.wait_for_large_buffer(*this);
}

void Connection::stop_waiting_for_large_buffer() noexcept {
    if (waiting_large_since_ == 0) return;
    waiting_large_since_ = 0;
    worker_.stop_waiting_for_large_buffer(*this);
}

void Connection::on_large_buffer_free() noexcept {
    if (state_ != State::Open) return;
    pump();
    finish_move_if_ready();
    release_if_idle();
}

// ---- timers and closing ---------------------------------------------------------------------

void Connection::on_tick(std::uint32_t now) noexcept {
    switch (state_) {
        case State::Open:
            if (task_ && !task_cancelled_ && !stream_started_ && !parser_.streaming_body() &&
                now - task_started_ > config_.handler_timeout_s) {  // at least that long
                count_timeout(TimeoutKind::Handler);
                task_timed_out_ = true;
                cancel_task();
                if (!task_) {  // nothing on the ring: answered now, else when its CQE is in
                    answer_handler_timeout();
                    pump();
                }
            } else if (task_ && parser_.streaming_body()) {
                // A streamed body must keep coming while its handler asks for it.
                if (reading_body() && now - last_activity_ >= config_.header_timeout_s) {
                    count_timeout(TimeoutKind::Body);
                    abort();
                }
            } else if (send_in_flight_ && now - send_progress_ >= config_.send_timeout_s &&
                       !send_moved_on(now)) {
                count_timeout(TimeoutKind::Send);
                abort();  // the client stopped reading

            } else if (parser_.in_progress() && !pending_) {
                if (waiting_for_large_buffer() &&
                    now + 1 - waiting_large_since_ >= kLargeBufferWaitTicks) {
                    stop_waiting_for_large_buffer();
                    prepare_error(503, "no large buffer free for this body");
                    pump();
                } else if (body_too_slow_for_a_large_buffer()) {
                    count_timeout(TimeoutKind::Body);
                    prepare_error(408, "request body too slow to hold a large buffer");
                    pump();
                } else if (now - request_started_ >= config_.header_timeout_s) {
                    count_timeout(TimeoutKind::Header);
                    if (send_in_flight_) {
                        abort();  // neither reading our response nor finishing its request
                    } else {
                        prepare_error(408, "request not received in time");
                        pump();
                    }
                }
            } else if (worker_.draining() && idle() && now - last_activity_ >= 1) {
                abort();  // answered before the drain began, and silent for a tick since
            } else if (!send_in_flight_ && held_.count == 0 && !pending_ && !task_ &&
                       response_view_.used() == 0) {
                if (no_byte_yet_ && now - request_started_ >= config_.header_timeout_s) {
                    count_timeout(TimeoutKind::FirstByte);
                    abort();  // connected and never sent a byte: bounded like any request
                } else if (now - last_activity_ >= config_.keepalive_timeout_s) {
                    count_timeout(TimeoutKind::Keepalive);
                    abort();  // idle too long
                } else if (now - last_activity_ >= config_.idle_release_s)
                    release_pages();
            }
            break;
        case State::Draining:
            if (now - send_progress_ >= config_.send_timeout_s && !send_moved_on(now)) {
                count_timeout(TimeoutKind::Send);
                abort();
            }
            break;
        case State::Lingering:
            if (now >= linger_deadline_) abort();
            break;
        default:
            break;
    }
    release_if_idle();
}

// A body in a large buffer holds one of the worker's few: it must keep arriving at a minimum
// rate (checked once a tick, two slow ticks in a row), or the buffer goes to someone else.
bool Connection::body_too_slow_for_a_large_buffer() noexcept {
    if (!parser_.holds_large_buffer()) return false;
    const std::size_t got = parser_.body_received();
    const bool slow = got - body_at_tick_ < kMinLargeBodyBytesPerTick;
    body_at_tick_ = got;
    slow_body_ticks_ = slow ? slow_body_ticks_ + 1 : 0;
    return slow_body_ticks_ >= 2;
}

// A send completes only once all its bytes are in the socket; a big response to a slow reader
// can take longer than the send timeout while making progress. Asked only at the deadline: did
// the peer acknowledge bytes since last time? Then the clock starts again.
bool Connection::send_moved_on(std::uint32_t now) noexcept {
    tcp_info info{};
    socklen_t len = sizeof(info);
    if (fd_ < 0 || ::getsockopt(fd_, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return false;
    if (info.tcpi_bytes_acked <= acked_seen_) return false;
    acked_seen_ = info.tcpi_bytes_acked;
    send_progress_ = now;
    return true;
}

void Connection::on_free_tick(std::uint32_t now) noexcept {
    if (now - freed_at_ >= config_.idle_release_s) release_pages();
}

// An idle keep-alive connection needs none of its arena: its pages go back to the kernel
// (once per idle period), so thousands of idle connections cost almost no memory. The next
// request faults in a fresh zero page or two.
void Connection::release_pages() noexcept {
    if (pages_released_) return;
    for (const lake::BasicArena* v : {static_cast<const lake::BasicArena*>(&request_view_),
                                      static_cast<const lake::BasicArena*>(&response_view_)}) {
        const std::span<std::byte> r = v->region();
        ::madvise(r.data(), r.size(), MADV_DONTNEED);
    }
    pages_released_ = true;
}

// Nothing begun and nothing owed: no partial request, no unparsed input, no response pending,
// queued or in flight.
bool Connection::idle() const noexcept {
    return state_ == State::Open && !parser_.in_progress() && held_.count == 0 && !pending_ &&
           !task_ && !output_pending() && large_out_ == nullptr && !send_in_flight_;
}

void Connection::on_drain() noexcept {
    if (idle()) abort();
}

void Connection::abort() noexcept {
    if (state_ == State::Free || state_ == State::Closing) return;
    move_to_ = nullptr;
    move_started_ = false;
    state_ = State::Closing;
    drop_held();
    // shutdown() ends the multishot recv (EOF) and any send; the cancel is a second guarantee.
    ::shutdown(fd_, SHUT_RDWR);
    if (recv_armed_) worker_.cancel_recv(*this);
    pending_ = false;
    cancel_task();
}

// ---- moving to another worker -----------------------------------------------------------------

void Connection::request_move(Worker& to) noexcept {
    if (state_ == State::Open && move_to_ == nullptr) move_to_ = &to;
}

// Nothing half-done: no partial request, no unparsed input, no pending or large response, and
// a live multishot recv whose cancellation will end it.
bool Connection::quiet() const noexcept {
    return state_ == State::Open && recv_armed_ && !recv_cancelling_ && !waiting_for_buffers_ &&
           !peer_closed_ && held_.count == 0 && !pending_ && !task_ && !parser_.in_progress() &&
           large_out_ == nullptr;
}

// Queued just before the send of the last response: a client that waits for its response
// before sending more cannot race it, and whatever it sends later stays in the socket.
void Connection::begin_move() noexcept {
    move_started_ = true;
    recv_cancelling_ = true;
    worker_.cancel_recv(*this);
}

// Input arrived before the recv ended: it is parsed here, and the recv re-armed.
void Connection::cancel_move() noexcept {
    move_to_ = nullptr;
    move_started_ = false;
}

// Once the recv has ended and every byte of the last response is sent, the socket goes to the
// new worker (which arms its own recv) and this slot is freed without closing it.
void Connection::finish_move_if_ready() noexcept {
    if (!move_started_ || state_ != State::Open) return;
    if (recv_armed_ || send_in_flight_ || output_pending() || held_.count != 0 || pending_ || task_)
        return;
    if (waiting_for_buffers_ || !move_to_->adopt(fd_)) {  // it filled up or stopped: stay
        cancel_move();
        update_recv();
        return;
    }
    ++worker_.counters().moved_out;
    fd_ = -1;
    move_to_ = nullptr;
    move_started_ = false;
    release_large(parser_.take_large());
    stop_waiting_for_large_buffer();
    response_view_.reset();
    request_view_.reset();
    state_ = State::Free;
    freed_at_ = worker_.now();
    worker_.release(*this);
}

// Frees the slot once the connection is closing and no operation can still complete on it.
void Connection::release_if_idle() noexcept {
    if (state_ != State::Closing || recv_armed_ || send_in_flight_ || io_on_ring_) return;
    end_task();  // before the views it lives in are reset
    ::close(fd_);
    fd_ = -1;
    release_large(large_out_);
    large_out_ = nullptr;
    release_large(parser_.take_large());
    stop_waiting_for_large_buffer();
    response_view_.reset();
    request_view_.reset();
    waiting_for_buffers_ = false;
    state_ = State::Free;
    freed_at_ = worker_.now();
    worker_.release(*this);
}

}  // namespace lake::server
