// tests/server/pinned_thread.hpp — runs the calling thread on one CPU for a scope. On loopback
// the kernel processes a connection's SYN on the connecting thread's CPU, so this decides which
// worker a steered connection lands on.
#pragma once

#include <sched.h>

namespace lake::test {

class PinnedThread {
  public:
    explicit PinnedThread(int cpu) {
        ::sched_getaffinity(0, sizeof(saved_), &saved_);
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        ok_ = ::sched_setaffinity(0, sizeof(one), &one) == 0;
    }
    ~PinnedThread() { ::sched_setaffinity(0, sizeof(saved_), &saved_); }
    PinnedThread(const PinnedThread&) = delete;
    PinnedThread& operator=(const PinnedThread&) = delete;
    bool ok() const { return ok_; }

  private:
    cpu_set_t saved_;
    bool ok_ = false;
};

}  // namespace lake::test
