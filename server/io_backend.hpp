// server/io_backend.hpp — what a worker's loop needs from the kernel, behind one narrow
// interface with two implementations: io_uring (server/uring_backend.hpp, the default) and epoll
// (server/epoll_backend.hpp, where io_uring is refused: container seccomp profiles,
// kernel.io_uring_disabled). Everything above it — connections, parser, handlers, views, resets,
// timeouts, hand-offs — is the same code for both.
//
// A backend runs one loop pass at a time (run_pass): it waits for something to happen, then
// reports every completion to the worker through LoopEvents, in the worker's thread, never from
// inside a call that started an operation.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "buffer_ring.hpp"
#include "completion.hpp"
#include "connection_env.hpp"

namespace lake::server {

// What a backend reports to its worker.
class LoopEvents {
  public:
    // The wait is over and this pass's completions follow: the moment to read the clock.
    virtual void on_pass() noexcept = 0;
    // An accepted socket (result >= 0) or -errno; `more`: accepting goes on by itself.
    virtual void on_accept(int result, bool more) noexcept = 0;
    virtual void on_recv(std::uint32_t slot, const Completion& c) noexcept = 0;
    virtual void on_send(std::uint32_t slot, int result) noexcept = 0;
    virtual void on_handler_io(std::uint32_t slot, int result) noexcept = 0;
    virtual void on_tick() noexcept = 0;  // a second passed since arm_tick()
    virtual void on_wake() noexcept = 0;  // the wake descriptor was written (after arm_wake())
    virtual void on_log_written(int result) noexcept = 0;

  protected:
    ~LoopEvents() = default;
};

class IoBackend : public ConnectionIo {
  public:
    virtual ~IoBackend() = default;

    // For the start line: "io_uring: defer_taskrun single_issuer, multishot accept, multishot
    // recv, provided buffers", "epoll: edge-triggered, receive buffers" (the sizes follow).
    virtual std::string describe() const = 0;
    // The receive buffers connections hold (registered with the kernel, or handed out by the
    // backend itself).
    virtual BufferRing& buffers() noexcept = 0;

    // One pass: waits until at least one thing happened, reports everything that did. Returns
    // an empty string, or why the loop cannot go on.
    virtual std::string run_pass(LoopEvents& events) noexcept = 0;

    // Accepts on the listening socket until stopped (or until an accept fails: on_accept with
    // more == false, then arm again when it makes sense).
    virtual void arm_accept(int listen_fd) noexcept = 0;
    virtual void cancel_accept() noexcept = 0;
    // on_tick() in one second.
    virtual void arm_tick() noexcept = 0;
    // on_wake() the next time `fd` (an eventfd) is written; once per arm.
    virtual void arm_wake(int fd) noexcept = 0;
    // Writes `bytes` at the end of `fd` (an O_APPEND file); on_log_written() with the result.
    virtual void write_log(int fd, std::span<const char> bytes) noexcept = 0;
    // Tears down what the kernel still does for this loop, before the memory it points into.
    virtual void close() noexcept = 0;
};

}  // namespace lake::server
