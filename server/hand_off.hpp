// server/hand_off.hpp — what crosses workers, and nothing else does: accepted sockets handed to
// a sibling with room when a worker is full, open connections moved to the worker on whose CPU
// their packets arrive, and the rules that keep both balanced. One HandOff per worker: its inbox
// (the only lock between workers), the hints its siblings read, and its CPU.
//
// A full worker gives a socket to the sibling with the most free slots rather than refusing it:
// with connections steered by CPU (or an unlucky hash) one worker can fill up while others have
// room. The socket's packets may then be handled on another CPU: a lost locality, not a lost
// connection.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

namespace lake::server {

class HandOff {
  public:
    // The owning worker, at the end of its set-up: sockets may be offered from now on, and
    // `wake_fd` (an eventfd its loop watches) is written after each. Reserves the inbox: offers
    // never allocate.
    void open(std::uint32_t slots, int wake_fd);
    // Thread-safe: a sibling offers a socket. False (the caller keeps it) when this worker has
    // no free slot left to promise, or takes no more (draining, stopped).
    bool offer(int fd) noexcept;
    // The owning worker: the sockets offered since the last call (valid until the next).
    std::span<const int> take() noexcept;
    // The owning worker: no more offers (a drain, the end); `close_waiting`: the sockets offered
    // and not taken are closed.
    void close(bool close_waiting) noexcept;

    // Approximate, read by siblings: free connection slots, open connections (updated by the
    // owning worker; 0 free once closed).
    void set_free_slots(std::uint32_t n) noexcept { free_.store(n, std::memory_order_relaxed); }
    std::uint32_t free_slots() const noexcept { return free_.load(std::memory_order_relaxed); }
    void set_open(std::uint32_t n) noexcept { open_.store(n, std::memory_order_relaxed); }
    std::uint32_t open_connections() const noexcept {
        return open_.load(std::memory_order_relaxed);
    }
    // The CPU its worker is pinned to, or -1; set before any worker runs.
    int cpu = -1;

    // Among `all`, not `self`: the one with the most free slots, or null when none has any.
    static HandOff* roomiest(std::span<HandOff* const> all, const HandOff* self) noexcept;

  private:
    std::mutex mutex_;
    std::vector<int> inbox_;
    std::vector<int> taken_;  // swapped with inbox_ under the lock, read outside it
    bool closed_ = true;      // opened by open(), under mutex_
    int wake_fd_ = -1;
    std::atomic<std::uint32_t> free_{0};
    std::atomic<std::uint32_t> open_{0};
};

// Connections follow their packets. Steering places a connection by the CPU of its SYN; the
// client may run elsewhere later (on loopback the scheduler moves it; all of a client's
// connections can even start on one worker). Once a tick, every active connection whose packets
// now arrive on another worker's CPU may be asked to move there, as long as that keeps the two
// workers within a slack of each other: locality without piling everything onto one worker.
class MovePlan {
  public:
    // At set-up: room for `workers` counts, so that no tick allocates.
    void prepare(std::size_t workers) { planned_.assign(workers, 0); }
    // Once a tick, before target(): `open` connections on `self`, among `all`.
    void begin(const HandOff& self, std::span<HandOff* const> all, std::uint32_t open) noexcept;
    // Where a connection whose packets arrive on `cpu` should go: a sibling, or null (stay).
    // A non-null answer counts as planned.
    HandOff* target(int cpu) noexcept;

  private:
    const HandOff* self_ = nullptr;
    std::span<HandOff* const> all_;
    std::vector<std::uint32_t> planned_;  // per worker, this tick (sized once, then reused)
    std::int64_t open_ = 0;
    std::int64_t out_ = 0;
    std::int64_t slack_ = 0;
};

}  // namespace lake::server
