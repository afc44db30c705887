// server/connection_env.hpp — what a connection may use of its worker, and nothing more: the
// worker's shared pieces by reference, the few values its loop keeps current, a small I/O
// interface onto its I/O backend and one onto the worker's wait lists. connection.cpp does not
// know the Worker (worker.hpp includes connection.hpp, never the reverse), nor which backend
// runs its operations.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "../config/server_config.hpp"
#include "../handlers/io.hpp"
#include "../handlers/router.hpp"
#include "access_log.hpp"
#include "buffer_ring.hpp"
#include "date_clock.hpp"
#include "large_buffers.hpp"
#include "worker_counters.hpp"

namespace lake::server {

class Connection;
class HandOff;

// What the worker's loop keeps current for its connections.
struct LoopState {
    std::uint32_t now = 0;      // ticks (seconds) since the worker started
    std::uint64_t loop_ns = 0;  // CLOCK_MONOTONIC, read once per loop pass
    bool draining = false;      // a graceful stop has begun
    // The most unparsed receive buffers a connection may hold before its recv pauses.
    unsigned hold_limit = 8;
};

// The I/O backend as a connection sees it (server/io_backend.hpp: io_uring or epoll): its
// socket's operations, each completing later into Connection::on_recv / on_send /
// on_handler_io, never from inside the call that started it.
class ConnectionIo {
  public:
    // The socket joins the backend (at open, or when a moved connection arrives) and leaves it
    // (before it is closed or handed to another worker). false: the backend cannot watch it
    // (epoll: no memory, or fs.epoll.max_user_watches reached); the connection closes.
    virtual bool attach(Connection& c) noexcept = 0;
    virtual void detach(Connection& c) noexcept = 0;
    // A receive that stays armed (completions with `more`) until EOF, an error, a cancellation
    // or the backend's own budget ends it (a last completion without `more`).
    virtual void arm_recv(Connection& c) noexcept = 0;
    virtual void cancel_recv(Connection& c) noexcept = 0;
    // One send in flight per connection; it may complete short.
    // `more`: bytes follow at once (a file's range after its head): the kernel holds a partial
    // segment back for them (MSG_MORE) instead of sending the head as a packet of its own.
    virtual void send(Connection& c, const void* data, std::size_t len, bool more) noexcept = 0;
    virtual void send_msg(Connection& c, const msghdr* msg, bool more) noexcept = 0;
    // Up to `len` bytes of the file `file_fd` from `offset`, from the page cache (sendfile, once
    // the socket has room): on_send with the count like any send, or -ENODATA when the file
    // ended first. The socket is non-blocking (accepted so), the file's pages cached (the caller
    // checked): the worker's thread waits on neither.
    virtual void send_file(Connection& c, int file_fd, std::uint64_t offset,
                           std::size_t len) noexcept = 0;
    // The connection shut its socket down (it is closing): a send still waiting for room ends.
    virtual void shut_down(Connection& c) noexcept = 0;
    // A waiting handler's operation (handlers/io.hpp): true when it completes later (then
    // on_handler_io), false when op.result is already set. Cancelling one that has not
    // completed makes it complete with -ECANCELED.
    virtual bool start_handler_io(Connection& c, handlers::IoOp& op) noexcept = 0;
    virtual void cancel_handler_io(Connection& c) noexcept = 0;
    // A receive refused with EINVAL: the kernel does not know the receive byte budget (false
    // when there was none to drop).
    virtual bool drop_recv_byte_budget() noexcept = 0;

  protected:
    ~ConnectionIo() = default;
};

// The worker as a connection sees it: its wait lists, the hand-over to a sibling, the slot.
class ConnectionOwner {
  public:
    // The receive stopped for lack of receive buffers: on_buffers_available() once there are.
    virtual void wait_for_buffers(Connection& c) noexcept = 0;
    // A body waits for a large buffer: on_large_buffer_free() once one came back, in turn.
    virtual void wait_for_large_buffer(Connection& c) noexcept = 0;
    virtual void stop_waiting_for_large_buffer(Connection& c) noexcept = 0;
    // The socket moves to the worker behind `to`; false when it cannot take it now.
    virtual bool hand_over(HandOff& to, int fd) noexcept = 0;
    // The slot is free again.
    virtual void release(Connection& c) noexcept = 0;

  protected:
    ~ConnectionOwner() = default;
};

struct ConnectionEnv {
    ConnectionIo& io;
    ConnectionOwner& owner;
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
