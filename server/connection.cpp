#include "connection.hpp"

#include <arpa/inet.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "log.hpp"
#include "op_tag.hpp"

namespace lake::server {

namespace {
http::ParseLimits limits_of(const config::ServerConfig& c) {
    return {c.max_target, c.max_header_bytes, c.max_headers, c.max_body};
}
}  // namespace

Connection::Connection(ConnectionEnv& env, lake::BasicArena& lake, std::uint32_t index)
    : env_(env),
      config_(env.config),
      index_(index),
      request_view_(lake, env.config.request_view, 4096),
      response_view_(lake, env.config.connection_arena - env.config.request_view, 4096),
      parser_(request_view_, *this, limits_of(env.config)) {}

// ---- the request path ---------------------------------------------------------------------

void Connection::open(int fd) noexcept {
    assert(borrowed_buffer_ == BufferRing::kNone);
    fd_ = fd;
    state_ = State::Open;
    request_view_.reset();
    parser_.reset_connection();
    response_view_.reset();
    in_.clear();
    pages_released_ = false;
    pending_ = output_blocked_ = false;
    out_.clear();
    move_to_ = nullptr;
    move_started_ = false;
    last_activity_ = request_started_ = send_progress_ = env_.loop.now;
    acked_seen_ = stalled_acked_ = 0;  // a new socket: its peer has acknowledged nothing yet
    stalled_ticks_ = stalled_at_ = 0;
    client_known_ = false;
    client_text_len_ = 0;
    waiting_large_since_ = 0;
    no_byte_yet_ = true;
    io_op_ = nullptr;
    io_on_ring_ = part_waiting_ = task_cancelled_ = task_timed_out_ = stream_started_ = head_out_ =
        false;
    if (!env_.io.attach(*this)) {  // the backend cannot watch it: closed at once
        abort();
        release_if_idle();
        return;
    }
    update_recv();
}

LAKE_HOT void Connection::on_recv(const Completion& c) noexcept {
    in_.completed(c);
    const int res = c.result;
    if (move_started_ && res >= 0) cancel_move();  // input (or EOF) came first: it stays here
    if (res > 0) {
        const std::uint16_t bid = c.buffer;
        env_.buffers.lent();
        env_.counters.received_bytes += static_cast<std::uint64_t>(res);
        last_activity_ = env_.loop.now;
        no_byte_yet_ = false;
        pages_released_ = false;
        if (state_ != State::Open) {
            env_.buffers.recycle(bid);  // input after our last response is dropped
        } else {
            env_.buffers.hold(in_.held, bid, static_cast<std::uint32_t>(res));
            if (in_.held.count >= hold_limit()) pause_recv();
        }
    } else if (res == 0) {
        in_.peer_closed = true;
    } else if (res == -ENOBUFS) {
        ++env_.counters.enobufs;
        env_.owner.wait_for_buffers(*this);
        in_.waiting_for_buffers = true;
    } else if (res == -ECANCELED) {
        // our own back-pressure pause (or close); update_recv() re-arms when due
    } else if (res == -EINVAL && env_.io.drop_recv_byte_budget()) {
        // an older kernel: re-armed below without the byte budget
    } else if (state_ != State::Closing) {
        abort();  // ECONNRESET and the like
    }

    switch (state_) {
        case State::Open:
            pump();
            break;
        case State::Lingering:
            if (in_.peer_closed)
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
LAKE_HOT void Connection::pump() noexcept {
    while (state_ == State::Open) {
        // A handler waits: the requests behind it wait their turn; only the body of its own
        // request is parsed, while it asks for it.
        if (task_ && !reading_body()) break;
        if (pending_) {
            if (!write_pending()) {
                // No room: resume when the send completes. Until then no more receive buffers:
                // a client that does not read must not take the ones others need.
                output_blocked_ = true;
                pause_recv();
                break;
            }
            output_blocked_ = false;
            pending_ = false;
            count_response();
            if (!pending_context_.keep_alive) {
                begin_drain();
                break;
            }
            next_request();
            continue;
        }
        if (in_.held.count == 0) break;
        BufferRing::Record& h = env_.buffers.record(in_.held.head);
        if (!parser_.in_progress()) {
            request_started_ = env_.loop.now;
            request_started_ns_ = env_.loop.loop_ns;
            body_at_tick_ = 0;
            slow_body_ticks_ = 0;
        }
        const char* data = env_.buffers.buffer(in_.held.head) + h.used;
        // Borrowable: a request that lies whole in this buffer points into it (no token copied),
        // and the buffer is kept until the request is answered (buffer_parsed()).
        const http::ParseStep step = parser_.feed(data, h.len - h.used, true);
        h.used += static_cast<std::uint32_t>(step.consumed);
        if (step.event == http::ParseEvent::BodyPart) {
            hand_body_part(parser_.body_part());  // from this buffer: popped once copied
            continue;
        }
        if (h.used == h.len) buffer_parsed();
        if (step.event == http::ParseEvent::NeedBodyBuffer) {
            wait_for_large_buffer();
            if (pending_) continue;  // refused at once (no large buffers at all): answered now
            break;
        }
        stop_waiting_for_large_buffer();
        if (step.event == http::ParseEvent::Error) {
            prepare_error(parser_.error_status(), parser_.error_reason());
        } else if (step.event == http::ParseEvent::Complete && task_) {
            // The end of a streamed body: its handler reads 0; its deadline starts now.
            task_started_ = env_.loop.now;
            if (reading_body()) complete_io(0);
        } else {
            if (parser_.wants_continue()) write_continue();  // before a handler writes a body
            if (step.event == http::ParseEvent::Complete || step.event == http::ParseEvent::Headers)
                prepare_response();
        }
    }
    if (state_ == State::Open && in_.peer_closed && task_) {
        abort();  // the client left while its handler waits: cancelled, nothing to answer
        return;
    }
    if (state_ == State::Open && in_.peer_closed && in_.held.count == 0 && !pending_) {
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
LAKE_HOT void Connection::prepare_response() noexcept {
    http::Request& req = parser_.request();
    pending_response_.reset();
    pending_response_.bind(&request_view_, &response_view_);
    req.io = this;
    ++env_.counters.requests;
    task_ = env_.router.dispatch(req, pending_response_);  // frames: in request.arena
    if (task_) {
        settle_borrowed_request();
        start_task();
    } else {
        respond();
    }
}

// A handler that waits must not keep a receive buffer for as long as it waits: the request's
// bytes move into the request view first, and the views the router and the before-hooks took
// of them (path parameters, response headers) follow. (The handler has not run yet: its
// coroutine starts suspended.) No room in the request view: the buffer stays held instead.
void Connection::settle_borrowed_request() noexcept {
    if (!parser_.borrowing()) return;
    const std::uint16_t bid =
        borrowed_buffer_ != BufferRing::kNone ? borrowed_buffer_ : in_.held.head;
    http::Relocation moved;
    if (!parser_.settle_borrowed(env_.buffers.buffer(bid), env_.buffers.buffer_size(), moved))
        return;
    http::Request& req = parser_.request();
    auto* params = const_cast<http::PathParam*>(req.params.data());  // in the request arena
    for (std::size_t i = 0; i < req.params.size(); ++i)
        params[i] = http::PathParam{moved(params[i].name), moved(params[i].value)};
    pending_response_.relocate(moved);
    release_borrowed_buffer();
}

LAKE_HOT void Connection::respond() noexcept {
    const http::Request& req = parser_.request();
    if (const char* problem = http::response_problem(pending_response_)) refuse_response(problem);
    pending_context_ = http::ResponseContext{
        env_.clock.line(), env_.server_line, req.method == http::Method::Head,
        req.keep_alive && !pending_response_.close && !parser_.must_close() &&
            !env_.loop.draining && !parser_.streaming_body(),  // a body not read: framing lost
        req.version_minor == 0};
    pending_ = true;
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

// A handler's response that must not go onto the wire becomes a 500. Logged when the count is a
// power of two: a client that triggers it on every request cannot flood the log.
void Connection::refuse_response(const char* problem) noexcept {
    const int status = pending_response_.status;
    pending_response_.reset();
    pending_response_.status = 500;
    const std::uint64_t n = ++env_.counters.bad_responses;
    if ((n & (n - 1)) == 0) {
        const std::string_view path = parser_.request().path;
        log::error(
            "a handler's response to {} was refused ({}; status {}) and answered 500 ({} "
            "so far)",
            path.substr(0, 200), problem, status, n);
    }
}

void Connection::prepare_error(int status, const char* reason) noexcept {
    ++env_.counters.parse_errors[parse_error_index(status)];
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
        http::ResponseContext{env_.clock.line(), env_.server_line, false, false, false};
    pending_ = true;
    drop_held();  // framing is lost: nothing after this point can be trusted
}

// Serializes the pending response into the response view, or into a large buffer when it is
// bigger than the whole view. false when it must wait for the queued output to be sent.
LAKE_HOT bool Connection::write_pending() noexcept {
    http::Response& r = pending_response_;
    if (r.body_in_response_arena()) return write_pending_in_place();
    if (out_.free_ranges() == 0) return false;
    const std::size_t size = http::response_size(r, pending_context_);
    if (size <= response_view_.remaining()) {
        std::span<std::byte> bytes =
            http::write_response(response_view_, r, pending_context_, size);
        (void)out_.queue(bytes);
        release_large(parser_.take_large());
        return true;
    }
    if (response_view_.used() != 0 || out_.large() != nullptr) return false;

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
        (void)out_.queue(http::write_response(response_view_, r, pending_context_));
        return true;
    }
    out_.set_large(target, bytes);
    return true;
}

namespace {

// A written body moved down to the end of its head: up to 32 bytes (a JSON object of an id or
// two, a short text) as two pairs of 16-byte words, every load before any store (the two places
// may overlap), with no call; longer ones by memmove.
[[gnu::always_inline]] inline void move_body_down(std::byte* to, const char* from,
                                                  std::size_t n) noexcept {
    struct Block16 {
        std::uint64_t low, high;
    };
    if (n >= 16 && n <= 32) {
        Block16 first, last;
        std::memcpy(&first, from, 16);
        std::memcpy(&last, from + n - 16, 16);
        std::memcpy(to, &first, 16);
        std::memcpy(to + n - 16, &last, 16);
    } else if (n >= 8 && n < 16) {
        std::uint64_t first, last;
        std::memcpy(&first, from, 8);
        std::memcpy(&last, from + n - 8, 8);
        std::memcpy(to, &first, 8);
        std::memcpy(to + n - 8, &last, 8);
    } else if (n != 0) {
        std::memmove(to, from, n);
    }
}

}  // namespace

// A body the handler wrote into the response view: its head goes into the room kept before it
// (head and body then go out as one range, no byte copied), or after it when longer (two
// ranges). A small body instead moves up to the head at the room's start, so that the response
// joins the previous one's range: a pipelined batch then stays one send, and moving a few hundred
// bytes costs less than a range of its own. When the head fits nowhere, the answer is a bare
// 500 in the room: the response view cannot be reset under a body not yet sent.
LAKE_HOT bool Connection::write_pending_in_place() noexcept {
    http::Response& r = pending_response_;
    if (out_.free_ranges() < 2) return false;  // wait for the queued output to go
    std::byte* room = r.head_room();
    const bool with_body = http::sends_body(r, pending_context_);
    const std::string_view body = r.body;
    if (http::head_size_at_most(r, pending_context_) <= http::Response::kHeadRoom &&
        (!with_body || body.size() <= kMoveBodyBelow)) {
        const std::span<std::byte> head = http::write_head_at(room, r, pending_context_);
        std::size_t kept = head.size();
        if (with_body) {
            move_body_down(room + kept, body.data(), body.size());
            kept += body.size();
        }
        // The room's unused part, the body's old place and the writer's spare are the view's
        // last bytes: back, in one give-back.
        (void)response_view_.deallocate(room + kept,
                                        http::Response::kHeadRoom + body.size() + r.spare() - kept);
        (void)out_.queue({room, kept});
        release_large(parser_.take_large());
        return true;
    }
    r.release_spare();  // before a head may go after the body
    std::span<std::byte> head =
        http::write_head_before(room, http::Response::kHeadRoom, r, pending_context_);
    if (!head.empty()) {
        (void)out_.queue({head.data(), head.size() + (with_body ? body.size() : 0)});
    } else if (!(head = http::write_head(response_view_, r, pending_context_)).empty()) {
        (void)out_.queue(head);
        if (with_body)
            (void)out_.queue(
                {reinterpret_cast<std::byte*>(const_cast<char*>(body.data())), body.size()});
    } else {
        refuse_response("its head did not fit the response arena");
        pending_context_.keep_alive = false;
        (void)out_.queue(
            http::write_head_before(room, http::Response::kHeadRoom, r, pending_context_));
    }
    release_large(parser_.take_large());
    return true;
}

void Connection::write_continue() noexcept {
    parser_.continue_answered();
    lake::DropletDyn d = response_view_.alloc_dyn(http::kContinueLine.size());
    if (!d) return;  // no room: the client sends its body after its own timeout anyway
    std::memcpy(d.data(), http::kContinueLine.data(), http::kContinueLine.size());
    (void)out_.queue(d.leak());
}

// Starts a send of what is queued, if nothing is in flight: the large response first.
LAKE_HOT void Connection::flush() noexcept {
    if (out_.in_flight() || fd_ < 0) return;
    if (out_.large() == nullptr && out_.pending() && move_to_ != nullptr && !move_started_ &&
        quiet())
        begin_move();  // before the send
    OutputQueue::Send send;
    if (out_.start_send(send)) {
        send_progress_ = env_.loop.now;  // each send starts its own clock
        if (send.msg != nullptr)
            env_.io.send_msg(*this, send.msg, send.more);
        else if (send.file_fd < 0)
            env_.io.send(*this, send.data, send.len, send.more);
        else
            env_.io.send_file(*this, send.file_fd, send.file_offset, send.len);
        return;
    }
    if (state_ == State::Draining) {
        // Everything is sent. A client that asked for the close (Connection: close, HTTP/1.0)
        // and sent nothing after its request will send nothing more (RFC 9112 9.6): closed now,
        // as nginx does, without waiting a round trip for its FIN.
        if (!parser_.request().keep_alive && parser_.error_status() == 0 &&
            !parser_.in_progress() && !parser_.must_close() && in_.held.count == 0 && !moving()) {
            abort();
            return;
        }
        // Otherwise half-close, then read until the peer closes (or linger times out) so that
        // unread input does not turn our last response into a reset.
        ::shutdown(fd_, SHUT_WR);
        state_ = State::Lingering;
        linger_deadline_ = env_.loop.now + config_.linger_timeout_s;
        if (in_.peer_closed)
            abort();
        else
            update_recv();
    }
}

void Connection::on_send(int result) noexcept {
    if (result < 0) {
        out_.send_failed();
        if (state_ != State::Closing) abort();  // EPIPE, ECONNRESET, ECANCELED
        release_if_idle();
        return;
    }
    last_activity_ = env_.loop.now;
    if (result > 0) send_progress_ = last_activity_;
    const auto sent = static_cast<std::size_t>(result);
    env_.counters.sent_bytes += sent;
    const OutputQueue::Sent done = out_.on_sent(sent);
    if (done.short_send) ++env_.counters.short_sends;  // flush() sends the rest
    release_large(done.large_done);
    // All sent: the responses' bytes go back, unless a pending response's written body lives in
    // the response view, or a waiting handler's (part_sent() resets it then).
    if (done.ranges_drained && !(pending_ && pending_response_.body_in_response_arena()) && !task_)
        response_view_.reset();
    if (task_ && state_ == State::Open) part_sent();
    after_event();
}

void Connection::begin_drain() noexcept {
    state_ = State::Draining;
    drop_held();
    flush();
}

// ---- receiving: arm, pause for back-pressure, resume ----------------------------------------

void Connection::update_recv() noexcept {
    if (!in_.can_arm() || fd_ < 0 || move_started_) return;
    const bool want =
        (state_ == State::Open && in_.held.count < hold_limit() / 2 && !output_blocked_) ||
        state_ == State::Lingering;
    if (!want) {
        // The recv ended at its byte budget with input still unparsed: paused like a cancel.
        if (state_ == State::Open && !in_.paused) {
            in_.paused = true;
            ++env_.counters.recv_pauses;
        }
        return;
    }
    in_.paused = false;
    in_.armed = true;
    env_.io.arm_recv(*this);
}

// Stops the receive for back-pressure; what is in flight still arrives, and is held too.
void Connection::pause_recv() noexcept {
    if (!in_.armed || in_.cancelling) return;
    in_.cancelling = in_.paused = true;
    ++env_.counters.recv_pauses;
    env_.io.cancel_recv(*this);
}

void Connection::on_buffers_available() noexcept {
    if (!in_.waiting_for_buffers) return;
    in_.waiting_for_buffers = false;
    update_recv();
}

// The oldest held buffer is parsed whole: straight back to the ring, unless the request being
// handled points into it (the parser borrows only from the buffer last fed, which is the oldest
// held until it is set aside here); then it is kept until that request is answered
// (release_borrowed_buffer(), from next_request() or when the slot is freed).
void Connection::buffer_parsed() noexcept {
    if (parser_.borrowing() && borrowed_buffer_ == BufferRing::kNone) {
        borrowed_buffer_ = env_.buffers.detach(in_.held);
        return;
    }
    env_.buffers.pop(in_.held);
}

LAKE_HOT void Connection::release_borrowed_buffer() noexcept {
    if (borrowed_buffer_ == BufferRing::kNone) return;
    env_.buffers.recycle(borrowed_buffer_);
    borrowed_buffer_ = BufferRing::kNone;
}

// Unparsed input is dropped; the buffer the request's tokens point into stays until it is
// answered (its access-log line, or a waiting handler cancelled, may still read them).
void Connection::drop_held() noexcept {
    while (in_.held.count != 0) buffer_parsed();
}

// ---- metrics ----------------------------------------------------------------------------------

// A response handed to the kernel (its send is submitted in this loop pass): by status class and
// method, and the time since its request's first byte arrived.
LAKE_HOT void Connection::count_response() noexcept {
    WorkerCounters& m = env_.counters;
    const int cls = pending_response_.status / 100;
    const http::Request& req = parser_.request();
    // A request refused before its request line was read has no method yet: "other".
    const auto method =
        static_cast<std::size_t>(req.method_name.empty() ? http::Method::Other : req.method);
    if (cls >= 1 && cls <= 5 && method < kMethodCount) ++m.responses[cls - 1][method];
    const std::uint64_t took = env_.loop.loop_ns - request_started_ns_;
    ++m.duration_buckets[duration_bucket(took)];
    m.duration_sum_ns += took;
    if (env_.access_log.enabled()) log_response(took);
}

// Out of count_response(), which every request runs: the access log is off by default, and its
// line's code would take room in the hot run (LAKE_HOT) that the request path needs.
void Connection::log_response(std::uint64_t took) noexcept {
    AccessLog& log = env_.access_log;
    const http::Request& req = parser_.request();
    const bool json = log.format() == AccessLog::Format::Json;
    log.record(AccessLog::Entry{client_text(), json ? env_.clock.iso_time() : env_.clock.clf_time(),
                                req.method_name.empty() ? nullptr : &req, pending_response_.status,
                                pending_context_.head ? 0
                                : stream_started_     ? stream_sent_
                                                      : pending_response_.body.size(),
                                took});
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
    ++env_.counters.timeouts[static_cast<std::size_t>(kind)];
}

// The connection owns its views and the large buffers it borrows; the parser only uses them.
LAKE_HOT void Connection::next_request() noexcept {
    release_large(parser_.take_large());
    release_borrowed_buffer();
    request_view_.reset();
    parser_.start();
}

// ---- large buffers: lent under the client's share, waited for briefly -------------------------

lake::LakeView* Connection::acquire_large() noexcept { return env_.large.acquire(client_key()); }

LAKE_HOT void Connection::release_large(lake::LakeView* v) noexcept {
    if (v != nullptr) env_.large.release(v, client_key());
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
    if (!(env_.large.size() != 0)) {
        prepare_error(503, "no large buffer for this body");
        return;
    }
    if (waiting_large_since_ != 0) return;
    waiting_large_since_ = env_.loop.now + 1;
    env_.owner.wait_for_large_buffer(*this);
    if (in_.held.count >= hold_limit()) pause_recv();
}

LAKE_HOT void Connection::stop_waiting_for_large_buffer() noexcept {
    if (waiting_large_since_ == 0) return;
    waiting_large_since_ = 0;
    env_.owner.stop_waiting_for_large_buffer(*this);
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
            if (task_) check_io_deadline();
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
            } else if (out_.in_flight() && now - send_progress_ >= config_.send_timeout_s &&
                       !send_moved_on(now)) {
                count_timeout(TimeoutKind::Send);
                abort();  // the client stopped reading

            } else if (parser_.in_progress() && !pending_) {
                if (waiting_for_large_buffer() &&
                    now + 1 - waiting_large_since_ >= kLargeBufferWaitTicks) {
                    give_up_waiting_for_large_buffer(TimeoutKind::LargeBufferWait,
                                                     "no large buffer free for this body");
                } else if (body_too_slow_for_a_large_buffer()) {
                    count_timeout(TimeoutKind::Body);
                    prepare_error(408, "request body too slow to hold a large buffer");
                    pump();
                } else if (now - request_started_ > time_for_request()) {
                    // ">": the clock counts whole ticks, and a request begun just before one
                    // must still get its full time (it gets up to a tick more instead)
                    const bool in_body = parser_.body_received() != 0;
                    count_timeout(in_body ? TimeoutKind::Body : TimeoutKind::Header);
                    if (out_.in_flight()) {
                        abort();  // neither reading our response nor finishing its request
                    } else {
                        prepare_error(408, in_body ? "request body not received in time"
                                                   : "request not received in time");
                        pump();
                    }
                }
            } else if (env_.loop.draining && idle() && now - last_activity_ >= 2) {
                // Answered before the drain began, and silent for a whole tick since. (The
                // clock counts whole ticks: a difference of 1 may be a millisecond, and a
                // request then on its way met a closed socket — a handover dropped it.)
                abort();
            } else if (!out_.in_flight() && in_.held.count == 0 && !pending_ && !task_ &&
                       response_view_.used() == 0) {
                if (no_byte_yet_ && now - request_started_ > config_.header_timeout_s) {
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

bool Connection::give_way_to_starved_receivers() noexcept {
    if (state_ != State::Open || !waiting_for_large_buffer() || in_.held.count == 0 || pending_)
        return false;
    give_up_waiting_for_large_buffer(TimeoutKind::LargeBufferWaitUnderPressure,
                                     "no large buffer free for this body, and the receive "
                                     "buffers it held were needed by others");
    release_if_idle();
    return true;
}

// A body that waited for a large buffer is answered 503 (its held input dropped), counted by why.
void Connection::give_up_waiting_for_large_buffer(TimeoutKind why, const char* reason) noexcept {
    count_timeout(why);
    stop_waiting_for_large_buffer();
    prepare_error(503, reason);
    pump();
}

// Seconds a request (head and a body its handler gets whole) may take: [timeouts] header, and a
// second more for each body_min_rate bytes of body received. A body that keeps up that rate is
// never cut however large (max_body bounds it), one that falls behind is cut soon after: a slow
// uploader is not told 408 for a size it was allowed to send, a trickle cannot hold the slot.
std::uint64_t Connection::time_for_request() const noexcept {
    const std::size_t rate = config_.body_min_rate;
    return config_.header_timeout_s + (rate == 0 ? 0 : parser_.body_received() / rate);
}

// A body in a large buffer holds one of the worker's few: it must keep arriving at a minimum
// rate (checked once a tick, two slow ticks in a row), or the buffer goes to someone else.
bool Connection::body_too_slow_for_a_large_buffer() noexcept {
    if (!parser_.holds_large_buffer()) return false;
    const std::size_t got = parser_.body_received();
    if (in_.waiting_for_buffers) {  // the ring is dry: the server's holdup, not the client's
        body_at_tick_ = got;
        slow_body_ticks_ = 0;
        return false;
    }
    const bool slow = got - body_at_tick_ < kMinLargeBodyBytesPerTick;
    body_at_tick_ = got;
    slow_body_ticks_ = slow ? slow_body_ticks_ + 1 : 0;
    return slow_body_ticks_ >= 2;
}

// A send completes only once all its bytes are in the socket; a big response to a slow reader
// can take longer than the send timeout while making progress. Asked only at the deadline: did
// the peer acknowledge bytes since last time? Then the clock starts again.
bool Connection::send_moved_on(std::uint32_t now) noexcept {
    const std::uint64_t acked = bytes_acked();
    if (acked <= acked_seen_) return false;
    acked_seen_ = acked;
    send_progress_ = now;
    return true;
}

// Receive buffers are shared by the worker's connections, and one whose client does not read
// keeps what it holds until the send timeout: enough such clients starve every other. So while
// some wait for buffers, one that holds input behind a response its client takes less than
// kMinBytesPerTickUnderPressure of a tick for [timeouts] send_under_pressure ticks is cut (the
// first tick under pressure only notes where its client stands).
bool Connection::cut_if_stalled_holding_buffers(std::uint32_t now) noexcept {
    const bool in_a_row = stalled_at_ + 1 == now;  // the pressure began anew: start again
    stalled_at_ = now;
    const bool holds = in_.held.count != 0 || borrowed_buffer_ != BufferRing::kNone;
    if (state_ != State::Open || !holds || !output_blocked_ || !out_.in_flight()) {
        stalled_ticks_ = 0;
        return false;
    }
    const std::uint64_t acked = bytes_acked();
    const bool reading = acked - stalled_acked_ >= kMinBytesPerTickUnderPressure;
    stalled_acked_ = acked;
    if (stalled_ticks_ == 0 || !in_a_row || reading) {
        stalled_ticks_ = 1;
        return false;
    }
    if (stalled_ticks_++ < config_.send_under_pressure_s) return false;
    count_timeout(TimeoutKind::SendUnderPressure);
    abort();
    return true;
}

// The bytes of ours the peer has acknowledged on this socket (0 when the kernel does not say).
std::uint64_t Connection::bytes_acked() const noexcept {
    tcp_info info{};
    socklen_t len = sizeof(info);
    if (fd_ < 0 || ::getsockopt(fd_, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return 0;
    return info.tcpi_bytes_acked;
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
    return state_ == State::Open && !parser_.in_progress() && in_.held.count == 0 && !pending_ &&
           !task_ && !out_.pending() && out_.large() == nullptr && !out_.in_flight();
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
    // (Not through the ring: io_uring hands a shutdown to a worker thread, which may run it after
    // the close, on a descriptor number already reused.)
    ::shutdown(fd_, SHUT_RDWR);
    env_.io.shut_down(*this);
    if (in_.armed) env_.io.cancel_recv(*this);
    pending_ = output_blocked_ = false;
    cancel_task();
}

// ---- moving to another worker -----------------------------------------------------------------

void Connection::request_move(HandOff& to) noexcept {
    if (state_ == State::Open && move_to_ == nullptr) move_to_ = &to;
}

// Nothing half-done: no partial request, no unparsed input, no pending or large response, and
// a live multishot recv whose cancellation will end it.
bool Connection::quiet() const noexcept {
    return state_ == State::Open && in_.armed && !in_.cancelling && !in_.waiting_for_buffers &&
           !in_.peer_closed && in_.held.count == 0 && !pending_ && !task_ &&
           !parser_.in_progress() && out_.large() == nullptr;
}

// Queued just before the send of the last response: a client that waits for its response
// before sending more cannot race it, and whatever it sends later stays in the socket.
void Connection::begin_move() noexcept {
    move_started_ = true;
    in_.cancelling = true;
    env_.io.cancel_recv(*this);
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
    if (in_.armed || out_.in_flight() || out_.pending() || in_.held.count != 0 || pending_ || task_)
        return;
    // The socket leaves this loop before another worker may see it: no event of this
    // worker's can name it once it is theirs.
    env_.io.detach(*this);
    if (in_.waiting_for_buffers ||
        !env_.owner.hand_over(*move_to_, fd_)) {  // it filled up or stopped: stay
        cancel_move();
        if (!env_.io.attach(*this)) {
            abort();  // the caller frees the slot (release_if_idle)
            return;
        }
        update_recv();
        return;
    }
    ++env_.counters.moved_out;
    fd_ = -1;
    move_to_ = nullptr;
    move_started_ = false;
    release_large(parser_.take_large());
    stop_waiting_for_large_buffer();
    response_view_.reset();
    request_view_.reset();
    state_ = State::Free;
    freed_at_ = env_.loop.now;
    env_.owner.release(*this);
}

// Frees the slot once the connection is closing and no operation can still complete on it.
void Connection::release_if_idle() noexcept {
    if (state_ != State::Closing || in_.armed || out_.in_flight() || io_on_ring_) return;
    end_task();                 // before the views it lives in are reset
    release_borrowed_buffer();  // after: the task's frame may point into it
    ::close(fd_);
    fd_ = -1;
    release_large(out_.take_large());
    release_large(parser_.take_large());
    stop_waiting_for_large_buffer();
    response_view_.reset();
    request_view_.reset();
    in_.waiting_for_buffers = false;
    state_ = State::Free;
    freed_at_ = env_.loop.now;
    env_.owner.release(*this);
}

}  // namespace lake::server
