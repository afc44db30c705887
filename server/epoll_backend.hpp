// server/epoll_backend.hpp — the epoll backend, for where io_uring is refused (the default
// seccomp profiles of Docker 25+, containerd 2, Podman and Kubernetes' RuntimeDefault;
// kernel.io_uring_disabled). It keeps io_uring's completion model, so that nothing above it
// changes: a receive stays armed and reports one receive buffer per completion, a send reports
// how much went, a handler's socket operation completes when its socket is ready.
//
// Sockets are edge-triggered (EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET, registered once): a receive
// reads until the socket is drained (a short read says so, as in nginx) or the connection has
// taken its share of buffers for this pass; a send goes out at once and waits for EPOLLOUT only
// when the socket is full. Completions that happen inside a call from a connection (a send, a
// cancellation) are queued and reported later in the same pass, never re-entrantly. File
// operations of waiting handlers run at once, blocking, as nginx does without thread pools (the
// page cache serves the common case); socket operations wait for readiness. Timers (the tick,
// sleeps) are the epoll_wait timeout, to the millisecond.
#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <string>
#include <vector>

#include <lake/lake.hpp>

#include "../config/server_config.hpp"
#include "io_backend.hpp"
#include "op_tag.hpp"

namespace lake::server {

class EpollBackend final : public IoBackend {
  public:
    EpollBackend() = default;
    EpollBackend(const EpollBackend&) = delete;
    EpollBackend& operator=(const EpollBackend&) = delete;
    ~EpollBackend() override { close(); }

    std::string setup(const config::ServerConfig& config, lake::BasicArena& lake,
                      unsigned hold_limit);

    std::string describe() const override { return "epoll: edge-triggered, receive buffers"; }
    BufferRing& buffers() noexcept override { return buffers_; }
    std::string run_pass(LoopEvents& events) noexcept override;
    void arm_accept(int listen_fd) noexcept override;
    void cancel_accept() noexcept override;
    void arm_tick() noexcept override { next_tick_ns_ = now_ns() + 1'000'000'000u; }
    void arm_wake(int fd) noexcept override;
    void write_log(int fd, std::span<const char> bytes) noexcept override;
    void close() noexcept override;

    bool attach(Connection& c) noexcept override;
    void detach(Connection& c) noexcept override;
    void arm_recv(Connection& c) noexcept override;
    void cancel_recv(Connection& c) noexcept override;
    void send(Connection& c, const void* data, std::size_t len, bool more) noexcept override;
    void send_msg(Connection& c, const msghdr* msg, bool more) noexcept override;
    void send_file(Connection& c, int file_fd, std::uint64_t offset,
                   std::size_t len) noexcept override;
    void shut_down(Connection& c) noexcept override;
    bool start_handler_io(Connection& c, handlers::IoOp& op) noexcept override;
    void cancel_handler_io(Connection& c) noexcept override;
    bool drop_recv_byte_budget() noexcept override { return false; }

  private:
    // One connection slot's operations.
    struct Slot {
        int fd = -1;
        bool recv_armed = false;
        bool read_queued = false;   // in to_read_: read at the next pass
        bool send_waiting = false;  // the socket was full: sent again on EPOLLOUT
        // The peer's FIN (or a hang-up) was reported: a short read no longer means "wait for the
        // next edge" (there will be none), so reads go on to the end of input.
        bool peer_hup = false;
        bool send_more = false;  // MSG_MORE: a file's range follows
        const void* send_data = nullptr;
        std::size_t send_len = 0;
        const msghdr* send_msg = nullptr;
        int send_file = -1;  // the send is a file's range: send_len bytes from send_offset
        std::uint64_t send_offset = 0;
        handlers::IoOp* op = nullptr;  // a handler's operation waiting for its socket or timer
        std::uint32_t op_events = 0;   // EPOLLIN or EPOLLOUT: op->fd is registered
        std::uint32_t sleep_seq = 0;   // the live sleep's entry in sleeps_
    };
    // A completion found inside a call from a connection, reported later in the pass.
    struct Deferred {
        Op op;
        std::uint32_t slot;
        Completion completion;
    };
    struct Sleep {
        std::uint64_t deadline_ns;
        std::uint32_t slot;
        std::uint32_t seq;
        bool operator>(const Sleep& o) const noexcept { return deadline_ns > o.deadline_ns; }
    };

    static std::uint64_t now_ns() noexcept;
    int wait_timeout_ms() const noexcept;
    void defer(Op op, std::uint32_t slot, int result, bool more = false) noexcept;
    void report_deferred(LoopEvents& events) noexcept;
    void read_armed(LoopEvents& events) noexcept;
    void read_socket(std::uint32_t slot, LoopEvents& events) noexcept;
    void try_send(std::uint32_t slot) noexcept;
    void accept_ready(LoopEvents& events) noexcept;
    void handler_ready(std::uint32_t slot, LoopEvents& events) noexcept;
    void wait_handler_fd(std::uint32_t slot, handlers::IoOp& op, std::uint32_t what) noexcept;
    void forget_handler_fd(Slot& s) noexcept;
    void expire_sleeps(std::uint64_t now, LoopEvents& events) noexcept;
    void purge_stale_sleeps() noexcept;

    int epoll_fd_ = -1;
    BufferRing buffers_;
    unsigned reads_per_pass_ = 8;
    std::vector<Slot> slots_;
    std::vector<std::uint32_t> to_read_;
    std::vector<std::uint32_t> reading_;  // swapped with to_read_ each pass
    std::vector<Deferred> deferred_;
    std::vector<Deferred> reporting_;  // swapped with deferred_
    std::vector<Sleep> sleeps_;        // a min-heap on deadline; cancelled entries go stale
    static constexpr int kMaxEvents = 256;
    epoll_event events_[kMaxEvents];

    int listen_fd_ = -1;
    bool listen_registered_ = false;
    bool accept_armed_ = false;
    int wake_fd_ = -1;
    std::uint64_t next_tick_ns_ = 0;  // 0: no tick armed
    std::uint64_t attach_failures_ = 0;
};

}  // namespace lake::server
