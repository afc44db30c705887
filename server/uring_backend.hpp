// server/uring_backend.hpp — the io_uring backend: one ring per worker, multishot accept and
// receive into a provided-buffer ring, every operation an SQE tagged with its kind and slot
// (server/op_tag.hpp), every CQE reported to the worker.
#pragma once

#include <liburing.h>
#include <linux/openat2.h>

#include <string>
#include <vector>

#include <lake/lake.hpp>

#include "../config/server_config.hpp"
#include "io_backend.hpp"
#include "ring.hpp"
#include "worker_counters.hpp"

namespace lake::server {

class UringBackend final : public IoBackend {
  public:
    explicit UringBackend(WorkerCounters& counters) : counters_(counters) {}

    // Must run on the worker's thread (SINGLE_ISSUER). Returns an empty string or what went
    // wrong (explain_ring_failure's words for the ring itself).
    std::string setup(const config::ServerConfig& config, lake::BasicArena& lake,
                      unsigned hold_limit);

    std::string describe() const override {
        return "io_uring: " + ring_.features() +
               ", multishot accept, multishot recv, provided buffers";
    }
    BufferRing& buffers() noexcept override { return buffers_; }
    std::string run_pass(LoopEvents& events) noexcept override;
    void arm_accept(int listen_fd) noexcept override;
    void cancel_accept() noexcept override;
    void arm_tick() noexcept override;
    void arm_wake(int fd) noexcept override;
    void write_log(int fd, std::span<const char> bytes) noexcept override;
    void close() noexcept override { ring_.close(); }

    bool attach(Connection&) noexcept override { return true; }
    void detach(Connection&) noexcept override {}
    void arm_recv(Connection& c) noexcept override;
    void cancel_recv(Connection& c) noexcept override;
    void send(Connection& c, const void* data, std::size_t len, bool more) noexcept override;
    void send_msg(Connection& c, const msghdr* msg, bool more) noexcept override;
    void send_file(Connection& c, int file_fd, std::uint64_t offset,
                   std::size_t len) noexcept override;
    void shut_down(Connection&) noexcept override {}  // the shutdown itself ends the send
    bool start_handler_io(Connection& c, handlers::IoOp& op) noexcept override;
    void cancel_handler_io(Connection& c) noexcept override;
    bool drop_recv_byte_budget() noexcept override {
        if (recv_byte_budget_ == 0) return false;
        recv_byte_budget_ = 0;
        return true;
    }

  private:
    void dispatch(const io_uring_cqe& cqe, LoopEvents& events) noexcept;
    void arm_file_ready(std::uint32_t slot) noexcept;
    void file_ready(std::uint32_t slot, int result, LoopEvents& events) noexcept;

    WorkerCounters& counters_;
    Ring ring_;
    BufferRing buffers_;
    std::uint32_t recv_byte_budget_ = 0;
    __kernel_timespec tick_{};
    std::uint64_t wake_value_ = 0;
    // What a handler's SQE points to until its CQE is in, one per connection slot.
    struct HandlerArgs {
        __kernel_timespec sleep{};
        open_how how{};
        // A file's range waiting for room in the socket (send_file).
        int socket = -1;
        int file = -1;
        std::uint64_t offset = 0;
        std::size_t len = 0;
    };
    std::vector<HandlerArgs> handler_args_;
};

}  // namespace lake::server
