// server/ring.hpp — one worker's io_uring: set-up with the best flags the kernel takes, and an
// SQE getter that never returns null.
#pragma once

#include <liburing.h>

#include <string>

namespace lake::server {

class Ring {
  public:
    Ring() = default;
    Ring(const Ring&) = delete;
    Ring& operator=(const Ring&) = delete;
    ~Ring() { close(); }
    // Tears the ring down (and with it every operation still in flight). Idempotent.
    void close() noexcept;

    // Must run on the thread that will submit (SINGLE_ISSUER). Tries DEFER_TASKRUN|SINGLE_ISSUER,
    // then SINGLE_ISSUER, then COOP_TASKRUN, then no flags. Returns 0 or -errno.
    int init(unsigned entries, unsigned cq_entries);

    io_uring* get() noexcept { return &ring_; }
    // A free SQE; submits what is queued first when the SQ is full.
    io_uring_sqe* sqe() noexcept;

    // "defer_taskrun single_issuer coop_taskrun" — the set-up flags that were accepted.
    const std::string& features() const noexcept { return features_; }

  private:
    io_uring ring_{};
    bool live_ = false;
    std::string features_;
};

// 0 when this process may set up a ring and register a provided-buffer ring (what the engine
// needs), else -errno: EPERM under a seccomp profile that refuses io_uring or with
// kernel.io_uring_disabled, ENOSYS without io_uring, EINVAL before Linux 5.19.
int probe_io_uring() noexcept;

// The message lake-server prints when io_uring cannot be set up, naming the likely cause.
std::string explain_ring_failure(int err);

}  // namespace lake::server
