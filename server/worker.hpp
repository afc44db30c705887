// server/worker.hpp — one thread, one core, one loop, one lake: everything a worker touches on
// the request path is its own.
#pragma once

#include <fcntl.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <lake/lake.hpp>

#include "../config/server_config.hpp"
#include "../handlers/router.hpp"
#include "access_log.hpp"
#include "connection.hpp"
#include "connection_env.hpp"
#include "counter.hpp"
#include "date_clock.hpp"
#include "hand_off.hpp"
#include "http/response_writer.hpp"
#include "io_backend.hpp"
#include "large_buffers.hpp"
#include "metrics.hpp"
#include "worker_counters.hpp"

namespace lake::server {

// The loop, its I/O backend and its slots. Its connections see it only through ConnectionEnv:
// the shared pieces, the loop's clock, the backend (ConnectionIo) and the worker's wait lists
// (ConnectionOwner, which it implements). The backend reports to it through LoopEvents.
class Worker final : private ConnectionOwner, private LoopEvents {
  public:
    Worker(unsigned index, int listen_fd, const config::ServerConfig& config,
           const handlers::Router& router);
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;
    ~Worker();

    // Sets up the I/O backend (config.io_backend: "io_uring" or "epoll"), the lake and the
    // connection slots on the calling thread (which must be the worker's own). Returns an empty
    // string or what went wrong.
    std::string setup();
    // The event loop. Returns an empty string after request_stop(), or why it had to stop
    // (an io_uring or epoll error); the caller then takes the worker's listener out of service.
    std::string run();
    // Ends the backend (the kernel lets go of every buffer and frame it was given) and then the
    // connections, with the frames of handlers still waiting when run() returned: on the
    // worker's own thread, after run() and before plugins tear their per-thread state down
    // (a frame's locals may still use it as they are destroyed).
    void close_connections() noexcept;
    // What close_connections() does if it has not been done, then releases the thread's lake:
    // on the worker's own thread, after run() (or a failed setup()).
    void teardown() noexcept;
    // Thread-safe: wakes the loop and makes run() return.
    void request_stop() noexcept;
    // Thread-safe: stop accepting and taking hand-offs, close idle connections, answer the rest
    // with `Connection: close`; run() returns once the last connection is gone.
    // `handover` (a restart): idle keep-alive connections are not closed at once, which races
    // with a client sending its next request on them; they are answered `Connection: close` on
    // that request, or closed after a tick of silence.
    void request_drain(bool handover = false) noexcept;
    // Thread-safe: the access log file is reopened (after logrotate moved it).
    void request_log_reopen() noexcept;
    // Thread-safe, for tests: makes run() return as if its backend had failed.
    void inject_failure() noexcept;

    // What crosses workers (server/hand_off.hpp): this worker's inbox and hints, and every
    // worker's (itself included), for handing over sockets it has no slot for and moving
    // connections. Set by Server once every worker exists and before any runs; the span's
    // storage outlives the workers' threads.
    HandOff& hand_off() noexcept { return hand_off_; }
    void set_siblings(std::span<HandOff* const> all) noexcept { siblings_ = all; }
    // Where this worker runs (-1: not pinned) and whether new connections are steered to the
    // worker on their CPU; with steering, open connections follow their packets too (see
    // MovePlan). Set by Server before the worker runs.
    void set_placement(int cpu, bool steered) noexcept {
        hand_off_.cpu = cpu;
        steered_ = steered;
    }

    // Its backend, in words (IoBackend::describe; after setup()).
    std::string backend() const { return io_ ? io_->describe() : std::string(); }
    const WorkerCounters& counters() const noexcept { return counters_; }
    const AccessLog& access_log() const noexcept { return access_log_; }

    const config::ServerConfig& config() const noexcept { return config_; }
    std::uint32_t now() const noexcept { return loop_.now; }
    bool draining() const noexcept { return loop_.draining; }
    WorkerCounters& counters() noexcept { return counters_; }
    AccessLog& access_log() noexcept { return access_log_; }

  private:
    // ConnectionOwner: the wait lists and the slots, for the connections.
    void wait_for_buffers(Connection& c) noexcept override;
    void wait_for_large_buffer(Connection& c) noexcept override;
    void stop_waiting_for_large_buffer(Connection& c) noexcept override;
    bool hand_over(HandOff& to, int fd) noexcept override { return to.offer(fd); }
    void release(Connection& c) noexcept override;

    // LoopEvents: what the backend reports.
    void on_pass() noexcept override;
    void on_accept(int result, bool more) noexcept override;
    void on_recv(std::uint32_t slot, const Completion& c) noexcept override {
        connections_[slot].on_recv(c);
    }
    void on_send(std::uint32_t slot, int result) noexcept override {
        connections_[slot].on_send(result);
    }
    void on_handler_io(std::uint32_t slot, int result) noexcept override {
        connections_[slot].on_handler_io(result);
    }
    void on_tick() noexcept override;
    void on_wake() noexcept override;
    void on_log_written(int result) noexcept override { access_log_.written(result); }

    void arm_accept() noexcept;
    void refuse(int fd) noexcept;
    void shed_backlog() noexcept;
    bool give_away(int fd) noexcept;
    void open_connection(int fd) noexcept;
    void take_handed_over() noexcept;
    void plan_moves() noexcept;
    void rearm_waiting() noexcept;
    void begin_drain() noexcept;
    void sample_gauges() noexcept;
    void write_access_log(bool all) noexcept;
    void finish_access_log_write() noexcept;
    bool all_connections_gone() const noexcept { return free_slots_.size() == connections_.size(); }
    bool has_large_buffers() const noexcept { return large_->size() != 0; }
    void wake_large_waiters() noexcept;

    unsigned index_;
    int listen_fd_;
    // A descriptor held in reserve: at the file limit it is closed to make room to accept a
    // waiting client and answer it 503, instead of leaving it hanging in the backlog.
    int reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    const config::ServerConfig& config_;
    const handlers::Router& router_;
    std::string server_line_;

    // The 503 refuse() writes, with the response writer like every other answer.
    http::Response refusal_;
    std::unique_ptr<lake::LakeView> refusal_view_;
    std::unique_ptr<IoBackend> io_;  // torn down first in teardown(): it may point into the lake
    std::unique_ptr<LargeBufferPool> large_;
    LoopState loop_;
    std::unique_ptr<ConnectionEnv> env_;  // made in setup(), once the pool exists
    std::deque<Connection> connections_;
    std::vector<std::uint32_t> free_slots_;
    std::vector<std::uint32_t> waiting_for_buffers_;
    // Connections waiting for a large buffer: a FIFO linked through their slot indices, so that
    // one leaves it in O(1) when it closes or gives up.
    static constexpr std::uint32_t kNoSlot = UINT32_MAX;
    struct LargeWait {
        std::uint32_t prev = kNoSlot, next = kNoSlot;
        bool linked = false;
    };
    std::vector<LargeWait> large_wait_;
    std::uint32_t large_wait_head_ = kNoSlot, large_wait_tail_ = kNoSlot;
    DateClock date_;
    WorkerCounters counters_;
    AccessLog access_log_;

    HandOff hand_off_;
    std::span<HandOff* const> siblings_;
    MovePlan moves_;
    bool steered_ = false;

    int wake_fd_ = -1;
    bool accept_armed_ = false;
    bool stopping_ = false;
    bool connections_closed_ = false;  // close_connections() ran: the backend is gone
    std::uint64_t open_at_drain_ = 0;
    std::atomic<bool> stop_requested_{false};
    std::atomic<bool> drain_requested_{false};
    std::atomic<bool> handover_{false};
    std::atomic<bool> reopen_requested_{false};
    std::atomic<bool> failure_injected_{false};
};

}  // namespace lake::server
