// proxy/upstream_pool.hpp — one worker's idle keep-alive connections to one upstream, and
// whether that upstream is marked down. Never shared between workers: no lock, no atomic.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lake::proxy {

class UpstreamPool {
  public:
    // Keeps at most `capacity` idle connections (the vector is reserved now: no allocation
    // afterwards).
    explicit UpstreamPool(std::size_t capacity) : limit_(capacity) { idle_.reserve(capacity); }
    UpstreamPool(UpstreamPool&& other) noexcept = default;
    UpstreamPool(const UpstreamPool&) = delete;
    UpstreamPool& operator=(const UpstreamPool&) = delete;
    ~UpstreamPool() {
        for (int fd : idle_) ::close(fd);
    }

    // The most recently used idle connection (the warmest), or -1.
    int take() noexcept {
        if (idle_.empty()) return -1;
        const int fd = idle_.back();
        idle_.pop_back();
        return fd;
    }
    // A connection in a clean state, for the next request; closed when the pool is full.
    void give_back(int fd) noexcept {
        if (idle_.size() < limit_)
            idle_.push_back(fd);
        else
            ::close(fd);
    }
    std::size_t idle() const noexcept { return idle_.size(); }

    // Whether it was ever marked down (only then is the clock worth reading).
    bool ever_down() const noexcept { return down_until_ns_ != 0; }
    bool down(std::uint64_t now_ns) const noexcept { return now_ns < down_until_ns_; }
    void mark_down(std::uint64_t until_ns) noexcept { down_until_ns_ = until_ns; }

  private:
    std::size_t limit_;
    std::vector<int> idle_;
    std::uint64_t down_until_ns_ = 0;
};

}  // namespace lake::proxy
