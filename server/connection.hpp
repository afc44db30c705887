// server/connection.hpp — one client connection: the request path as a small state machine.
//
//   recv (multishot, provided buffers) → parse (llhttp, tokens copied into the request view)
//   → handle (router) → respond (serialized into the response view) → send (one in flight,
//   short sends resumed) → reset (the response view once its bytes are sent, the request view
//   when the next request starts).
//
// Pipelined requests that arrive in one read are all answered, in order, in one send. When the
// response view is full the connection stops parsing until the send completes.
//
// Its input side (the buffers it holds unparsed, its recv: server/receive_state.hpp) and its
// output side (what is queued for the client, the send in flight: server/output_queue.hpp) are
// each a small state machine of their own; the connection's State says where the conversation
// is. It sees its worker only through ConnectionEnv (server/connection_env.hpp).
//
// A waiting handler (handlers/task.hpp) stops the request path at "handle": its frame lives in
// the request view, its one operation at a time is started in start() (on the ring, or at once
// when it cannot wait) and every completion resumes it in complete_io(); parsing resumes when it
// returns (server/waiting_handlers.cpp).
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <span>

#include <lake/lake.hpp>

#include "../config/server_config.hpp"
#include "../handlers/io.hpp"
#include "../handlers/response.hpp"
#include "../handlers/task.hpp"
#include "buffer_ring.hpp"
#include "completion.hpp"
#include "connection_env.hpp"
#include "http/request_parser.hpp"
#include "http/response_writer.hpp"
#include "large_buffers.hpp"
#include "metrics.hpp"
#include "output_queue.hpp"
#include "receive_state.hpp"

namespace lake::server {

class HandOff;

class Connection : private http::BodyBuffers, private handlers::Io {
  public:
    enum class State : std::uint8_t {
        Free,       // slot unused
        Open,       // reading and answering requests
        Draining,   // the last response is written; sending it, input is discarded
        Lingering,  // all sent and write side shut; reading until EOF so the peer sees our reply
        Closing,    // shut down; waiting for in-flight operations before the slot is freed
    };

    // Carves its two views from `lake` (the worker's, at start-up).
    Connection(ConnectionEnv& env, lake::BasicArena& lake, std::uint32_t index);
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    // A waiting handler's frame lives in the request view and points into the parser's request:
    // it goes first (task_ is declared before both, with the hot fields, so it would go last).
    ~Connection() { task_.reset(); }

    void open(int fd) noexcept;
    void on_recv(const Completion& c) noexcept;
    void on_send(int result) noexcept;
    // The completion of a waiting handler's operation.
    void on_handler_io(int result) noexcept;
    void on_tick(std::uint32_t now) noexcept;
    // A free slot's arena pages go back to the kernel once it has been free for a while.
    void on_free_tick(std::uint32_t now) noexcept;
    // The buffer ring has buffers again: re-arm a recv that stopped with ENOBUFS.
    void on_buffers_available() noexcept;
    // A large buffer came back while this connection's body was waiting for one.
    void on_large_buffer_free() noexcept;
    bool waiting_for_large_buffer() const noexcept { return waiting_large_since_ != 0; }
    // Closes at once (server stopping, reset by peer, timeouts).
    void abort() noexcept;
    // The worker's receive buffers ran out: cut this connection if it holds some unparsed behind
    // a response its client has not read for [timeouts] send_under_pressure. true when cut.
    bool cut_if_stalled_holding_buffers(std::uint32_t now) noexcept;
    // The worker's receive buffers ran out: a body waiting for a large buffer that holds some
    // gives way now (503) instead of at the end of its wait, since what it holds may be what the
    // body holding the large buffer needs to finish and give it back. true when it gave way.
    bool give_way_to_starved_receivers() noexcept;
    // The worker drains: an idle connection closes now; a busy one finishes its request, and
    // its answer says `Connection: close`.
    void on_drain() noexcept;
    // Asks to move this connection to another worker (whose CPU its packets now arrive on). It
    // happens at the next quiet moment: when a response is about to go out and nothing else is
    // pending, the recv is cancelled before the send, so the client's next bytes wait in the
    // socket for the new owner. Any input arriving first calls the move off.
    void request_move(HandOff& to) noexcept;
    bool moving() const noexcept { return move_to_ != nullptr; }
    bool move_under_way() const noexcept { return move_started_; }
    // Forgets a requested move that has not begun (its packets may have come back).
    void forget_move() noexcept {
        if (!move_started_) move_to_ = nullptr;
    }
    // True for an open connection that served a request within the last tick.
    bool active(std::uint32_t now) const noexcept {
        return state_ == State::Open && now - last_activity_ <= 1;
    }

    State state() const noexcept { return state_; }
    // False when the worker's lake could not hold this slot's views (a sizing bug).
    bool has_memory() const noexcept { return request_view_ && response_view_; }
    std::uint32_t index() const noexcept { return index_; }
    int fd() const noexcept { return fd_; }
    bool waiting_for_buffers() const noexcept { return in_.waiting_for_buffers; }
    std::size_t arena_bytes_in_use() const noexcept {
        return request_view_.used() + response_view_.used();
    }

  private:
    // Back-pressure: a connection holding hold_limit() unparsed buffers stops its recv (TCP flow
    // control then slows the client) and resumes once it holds fewer than half that. A body
    // waiting for a large buffer holds one at most: the waiters must not take the receive
    // buffers the body holding the large buffer needs to finish (and give it back).
    unsigned hold_limit() const noexcept {
        return waiting_large_since_ != 0 ? 1u : env_.loop.hold_limit;
    }
    void pause_recv() noexcept;
    // The least a body held in a large buffer must grow per tick (second).
    static constexpr std::size_t kMinLargeBodyBytesPerTick = 16 * 1024;
    // The least a client holding receive buffers behind unread answers must take per tick while
    // other connections wait for buffers.
    static constexpr std::uint64_t kMinBytesPerTickUnderPressure = 16 * 1024;
    // How long (ticks) a body waits for a large buffer before it is answered 503.
    static constexpr std::uint32_t kLargeBufferWaitTicks = 3;

    // http::BodyBuffers: the parser's large buffers, lent under this client's share.
    lake::LakeView* acquire_body_buffer() noexcept override { return acquire_large(); }
    void release_body_buffer(lake::LakeView* v) noexcept override { release_large(v); }
    bool stream_body(const http::Request& request) noexcept override;
    lake::LakeView* acquire_large() noexcept;
    void release_large(lake::LakeView* v) noexcept;
    ClientKey client_key() noexcept;
    void wait_for_large_buffer() noexcept;
    void stop_waiting_for_large_buffer() noexcept;
    void give_up_waiting_for_large_buffer(TimeoutKind why, const char* reason) noexcept;

    // Waiting handlers (handlers::Io, on the worker's I/O backend).
    bool start(handlers::IoOp& op) noexcept override;
    std::string_view client_address() noexcept override { return client_text(); }
    std::uint64_t pass() noexcept override { return env_.loop.loop_ns; }
    bool start_send_part(handlers::IoOp& op) noexcept;
    bool queue_send_op() noexcept;
    bool try_without_waiting(handlers::IoOp& op) noexcept;
    void check_io_deadline() noexcept;
    void start_task() noexcept;
    void complete_io(int result) noexcept;
    void finish_task() noexcept;
    void cancel_task() noexcept;
    void end_task() noexcept;
    void answer_handler_timeout() noexcept;
    bool queue_part(bool last) noexcept;
    bool reading_body() const noexcept {
        return io_op_ != nullptr && !io_on_ring_ && io_op_->kind == handlers::IoOp::Kind::ReadBody;
    }
    void hand_body_part(std::string_view part) noexcept;
    void pop_consumed_buffer() noexcept;
    void part_sent() noexcept;
    void after_event() noexcept;

    void pump() noexcept;
    void respond() noexcept;
    void next_request() noexcept;
    void count_response() noexcept;
    [[gnu::noinline]] void log_response(std::uint64_t took) noexcept;
    void count_timeout(TimeoutKind kind) noexcept;
    std::string_view client_text() noexcept;
    void prepare_response() noexcept;
    void prepare_error(int status, const char* reason) noexcept;
    bool write_pending() noexcept;
    bool write_pending_in_place() noexcept;
    void write_continue() noexcept;
    void flush() noexcept;
    void begin_drain() noexcept;
    void update_recv() noexcept;
    void drop_held() noexcept;
    void buffer_parsed() noexcept;
    void release_borrowed_buffer() noexcept;
    void settle_borrowed_request() noexcept;
    void release_if_idle() noexcept;
    void release_pages() noexcept;
    bool send_moved_on(std::uint32_t now) noexcept;
    std::uint64_t bytes_acked() const noexcept;
    std::uint64_t time_for_request() const noexcept;
    bool body_too_slow_for_a_large_buffer() noexcept;
    void refuse_response(const char* problem) noexcept;
    bool quiet() const noexcept;
    bool idle() const noexcept;
    void begin_move() noexcept;
    void cancel_move() noexcept;
    void finish_move_if_ready() noexcept;

    // Layout: with thousands of connections, every cache line of its slot that a request
    // touches is a miss (loadtest/cache_misses counts them), so what every request reads or
    // writes comes first and packed, each big part starts on a line of its own, and what only
    // waiting handlers, large bodies, moves, timeouts or the access log use comes last.
    ConnectionEnv& env_;
    const config::ServerConfig& config_;
    std::uint32_t index_;
    State state_ = State::Free;
    bool pending_ = false;  // a response waits to be serialized (the response view had no room)
    // ... and found no room: the client has not read what went before. No receive is armed
    // until it has (its input waits in the kernel, not in the worker's shared buffers).
    bool output_blocked_ = false;
    bool pages_released_ = false;  // the arena's pages were handed back while idle
    int fd_ = -1;
    // Input: the buffers held unparsed and the recv's state (server/receive_state.hpp).
    ReceiveState in_;
    // The receive buffer the answered request's tokens point into, once parsed whole: set aside
    // (not in in_.held) until the request is answered.
    std::uint16_t borrowed_buffer_ = BufferRing::kNone;
    bool no_byte_yet_ = false;  // nothing received since the accept
    bool move_started_ = false;
    bool io_on_ring_ = false;  // io_op_ is with the backend: its completion is still due
    std::uint8_t slow_body_ticks_ = 0;
    // The tick (+1, so never 0) since which the body waits for a large buffer; 0: not waiting.
    std::uint32_t waiting_large_since_ = 0;
    // Timers, in worker ticks (seconds). The header timeout runs from a request's first byte
    // (or, for a connection's first request, from the accept) whatever arrives after it; the
    // send timeout from the last send that made progress, whatever the client sends meanwhile.
    std::uint32_t last_activity_ = 0;
    std::uint32_t request_started_ = 0;
    std::uint32_t send_progress_ = 0;
    std::uint64_t request_started_ns_ = 0;  // the loop pass that brought its first byte
    // Moving to another worker: requested (move_to_), then under way (move_started_).
    HandOff* move_to_ = nullptr;
    // A waiting handler: its frame (in the request view; destroyed first, by ~Connection) and
    // the one operation it waits for, on the ring or (a part of its response) in the output.
    handlers::Task task_;
    handlers::IoOp* io_op_ = nullptr;
    // A streamed request body: the part of the last BodyPart not yet copied to the handler (it
    // lies in the first held receive buffer, which stays held until it is).
    std::string_view body_rest_;
    http::ResponseContext pending_context_;
    std::size_t body_at_tick_ = 0;  // body bytes received at the last tick

    // Memory: the connection's arena, two views carved side by side from the worker's lake at
    // start-up (connection_arena bytes in all, page-aligned so their pages can be released).
    // The engine only resets them; 4 marks and 4 exact rewind levels leave handlers room for
    // their own scopes at 96 bytes of bookkeeping per view instead of the default 384.
    using View = lake::BasicLakeView<4, 4>;
    alignas(64) View request_view_;
    alignas(64) View response_view_;
    alignas(64) http::RequestParser parser_;
    // The response being built, then waiting to be serialized.
    alignas(64) http::Response pending_response_;
    // Output: what is queued for the client and the send in flight (server/output_queue.hpp).
    // A written body up to this size moves next to its head instead of taking a range.
    static constexpr std::size_t kMoveBodyBelow = 1024;
    alignas(64) OutputQueue out_;

    // Less often: waiting handlers, timeouts, large bodies, the access log.
    bool part_waiting_ = false;    // io_op_ is a part waiting for room in the output queue
    bool task_cancelled_ = false;  // the client left or the deadline passed: never resumed
    bool task_timed_out_ = false;
    bool stream_started_ = false;  // sent in parts: status and headers are fixed
    bool head_out_ = false;        // the head of a response sent in parts is queued
    bool io_timed_out_ = false;    // a socket operation was cancelled for passing its deadline
    std::uint32_t task_started_ = 0;
    std::uint64_t stream_sent_ = 0;  // body bytes of a response sent in parts
    std::uint32_t file_queued_ = 0;  // a send_file's bytes queued (its result once sent)
    // A socket operation's deadline (loop_ns; 0: none), checked once a tick.
    std::uint64_t io_deadline_ns_ = 0;
    std::uint64_t acked_seen_ = 0;  // TCP bytes the peer had acknowledged at the last look
    // Ticks under receive-buffer pressure that this connection held buffers behind unread
    // answers (see cut_if_stalled_holding_buffers), and what its peer had acknowledged then.
    std::uint32_t stalled_ticks_ = 0;
    std::uint32_t stalled_at_ = 0;  // the tick of the last look
    std::uint64_t stalled_acked_ = 0;
    std::uint32_t linger_deadline_ = 0;
    std::uint32_t freed_at_ = 0;
    // The client, for its share of the large buffers (looked up at the first one it takes).
    ClientKey client_key_ = 0;
    bool client_known_ = false;
    // Its address as text, for the access log (looked up at its first line).
    std::uint8_t client_text_len_ = 0;
    char client_text_[46];
};

}  // namespace lake::server
