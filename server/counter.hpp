// server/counter.hpp — a counter written by one thread (its worker) and read by any (a metrics
// scrape, the stop summary). Increments are a plain load, add and store (relaxed atomics: no
// locked instruction on the request path); reads see some recent value, never a torn one.
#pragma once

#include <atomic>
#include <cstdint>

namespace lake::server {

class Counter {
  public:
    Counter() = default;
    Counter(const Counter& other) noexcept : v_(other.get()) {}
    Counter& operator=(const Counter& other) noexcept {
        set(other.get());
        return *this;
    }

    // Only the owning thread writes.
    Counter& operator++() noexcept {
        set(get() + 1);
        return *this;
    }
    Counter& operator+=(std::uint64_t n) noexcept {
        set(get() + n);
        return *this;
    }
    void set(std::uint64_t n) noexcept { v_.store(n, std::memory_order_relaxed); }

    std::uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }
    operator std::uint64_t() const noexcept { return get(); }  // NOLINT: reads like a number

  private:
    std::atomic<std::uint64_t> v_{0};
};

}  // namespace lake::server
