// server/buffer_ring.hpp — the provided-buffer ring multishot recv reads into. liburing 2.3
// has no io_uring_setup_buf_ring, so the ring is registered by hand; its memory comes from the
// worker's lake.
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>

#include <lake/lake.hpp>

namespace lake::server {

class BufferRing {
public:
    static constexpr std::uint16_t kGroup = 0;

    // `count` must be a power of two (at most 32768). Returns 0 or -errno.
    int init(io_uring* ring, lake::BasicArena& lake, unsigned count, std::size_t size);

    char* buffer(std::uint16_t bid) const noexcept { return base_ + std::size_t{bid} * size_; }
    std::size_t buffer_size() const noexcept { return size_; }
    unsigned count() const noexcept { return count_; }
    // Buffers the kernel can fill right now (approximately: returned but not yet published
    // buffers count as free).
    unsigned free() const noexcept { return count_ - lent_; }

    // A buffer the kernel filled; it is ours until recycled.
    void lent() noexcept { ++lent_; }
    // Gives a buffer back; it becomes visible to the kernel at the next publish().
    void recycle(std::uint16_t bid) noexcept {
        io_uring_buf_ring_add(ring_, buffer(bid), static_cast<unsigned>(size_), bid,
                              io_uring_buf_ring_mask(count_), pending_++);
        --lent_;
    }
    // Publishes every recycled buffer in one store (once per event-loop pass).
    void publish() noexcept {
        if (pending_ == 0) return;
        io_uring_buf_ring_advance(ring_, pending_);
        pending_ = 0;
    }

private:
    io_uring_buf_ring* ring_ = nullptr;
    char* base_ = nullptr;
    std::size_t size_ = 0;
    unsigned count_ = 0;
    unsigned lent_ = 0;
    int pending_ = 0;
};

}  // namespace lake::server
