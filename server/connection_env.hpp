// server/connection_env.hpp — what a connection may use of its worker, and nothing more: the
// worker's shared pieces by reference, the few values its loop keeps current, and a small I/O
// interface onto its ring. connection.cpp does not know the Worker (worker.hpp includes
// connection.hpp, never the reverse), and a connection could be driven by another loop.
#pragma once

#include <liburing.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "../config/server_config.hpp"
#include "../handlers/router.hpp"
#include "access_log.hpp"
#include "buffer_ring.hpp"
#include "date_clock.hpp"
#include "large_buffers.hpp"
#include "worker_counters.hpp"

namespace lake::server {

class Connection;
class Worker;

// What the worker's loop keeps current for its connections.
struct LoopState {
    std::uint32_t now = 0;      // ticks (seconds) since the worker started
    std::uint64_t loop_ns = 0;  // CLOCK_MONOTONIC, read once per loop pass
    bool draining = false;      // a graceful stop has begun
    // The most unparsed receive buffers a connection may hold before its recv pauses.
    unsigned hold_limit = 8;
};

// The ring as a connection sees it: operations tagged with its slot, and the worker's wait lists.
class ConnectionIo {
  public:
    virtual void arm_recv(Connection& c) noexcept = 0;
    virtual void cancel_recv(Connection& c) noexcept = 0;
    virtual void send(Connection& c, const void* data, std::size_t len) noexcept = 0;
    virtual void send_msg(Connection& c, const msghdr* msg) noexcept = 0;
    // A waiting handler's operation: an SQE the connection prepares and tags (Op::Handler), and
    // its cancellation.
    virtual io_uring_sqe* handler_sqe() noexcept = 0;
    virtual void cancel_handler_io(Connection& c) noexcept = 0;
    // The recv stopped for lack of receive buffers: on_buffers_available() once there are.
    virtual void wait_for_buffers(Connection& c) noexcept = 0;
    // A body waits for a large buffer: on_large_buffer_free() once one came back, in turn.
    virtual void wait_for_large_buffer(Connection& c) noexcept = 0;
    virtual void stop_waiting_for_large_buffer(Connection& c) noexcept = 0;
    // A recv refused with EINVAL: the kernel does not know the recv byte budget (false when
    // there was none to drop).
    virtual bool drop_recv_byte_budget() noexcept = 0;
    // The socket moves to worker `to`; false when it cannot take it now.
    virtual bool hand_over(Worker& to, int fd) noexcept = 0;
    // The slot is free again.
    virtual void release(Connection& c) noexcept = 0;

  protected:
    ~ConnectionIo() = default;
};

struct ConnectionEnv {
    ConnectionIo& io;
    const config::ServerConfig& config;
    const handlers::Router& router;
    const LoopState& loop;
    BufferRing& buffers;
    LargeBufferPool& large;
    WorkerCounters& counters;
    AccessLog& access_log;
    const DateClock& clock;
    std::string_view server_line;  // "Server: lake\r\n"
};

}  // namespace lake::server
