#include "hand_off.hpp"

#include <unistd.h>

#include <algorithm>

namespace lake::server {

void HandOff::open(std::uint32_t slots, int wake_fd) {
    std::lock_guard lock(mutex_);
    inbox_.reserve(slots);
    taken_.reserve(slots);
    wake_fd_ = wake_fd;
    free_.store(slots, std::memory_order_relaxed);
    closed_ = false;
}

bool HandOff::offer(int fd) noexcept {
    {
        std::lock_guard lock(mutex_);
        // Promise no more sockets than there are free slots (and room in the reserved inbox).
        if (closed_ || inbox_.size() >= free_slots() || inbox_.size() == inbox_.capacity())
            return false;
        inbox_.push_back(fd);
    }
    const std::uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof(one));
    return true;
}

std::span<const int> HandOff::take() noexcept {
    taken_.clear();
    std::lock_guard lock(mutex_);
    taken_.swap(inbox_);
    return taken_;
}

void HandOff::close(bool close_waiting) noexcept {
    std::lock_guard lock(mutex_);
    closed_ = true;
    free_.store(0, std::memory_order_relaxed);  // siblings stop choosing it
    if (!close_waiting) return;
    for (int fd : inbox_) ::close(fd);
    inbox_.clear();
}

HandOff* HandOff::roomiest(std::span<HandOff* const> all, const HandOff* self) noexcept {
    HandOff* best = nullptr;
    std::uint32_t most = 0;
    for (HandOff* h : all) {
        if (h == self) continue;
        const std::uint32_t free = h->free_slots();
        if (free > most) {
            most = free;
            best = h;
        }
    }
    return best;
}

void MovePlan::begin(const HandOff& self, std::span<HandOff* const> all,
                     std::uint32_t open) noexcept {
    self_ = &self;
    all_ = all;
    if (planned_.size() != all.size()) planned_.resize(all.size());  // once, at the first tick
    std::fill(planned_.begin(), planned_.end(), 0);
    std::int64_t total = 0;
    for (const HandOff* h : all) total += h->open_connections();
    slack_ = std::max<std::int64_t>(16, total / 4);
    open_ = open;
    out_ = 0;
}

HandOff* MovePlan::target(int cpu) noexcept {
    for (std::size_t i = 0; i < all_.size(); ++i) {
        HandOff& h = *all_[i];
        if (h.cpu != cpu || &h == self_) continue;
        const std::int64_t theirs = h.open_connections() + planned_[i];
        if (theirs + 1 <= open_ - out_ - 1 + slack_ && h.free_slots() > planned_[i]) {
            ++planned_[i];
            ++out_;
            return &h;
        }
        return nullptr;
    }
    return nullptr;
}

}  // namespace lake::server
