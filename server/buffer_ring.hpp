// server/buffer_ring.hpp — the receive buffers: with io_uring, the provided-buffer ring
// multishot recv reads into (liburing 2.3 has no io_uring_setup_buf_ring, so the ring is
// registered by hand); with epoll, the same buffers on a free list the backend takes from.
// Their memory comes from the worker's lake.
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include <lake/lake.hpp>

namespace lake::server {

// The received buffers one connection holds, oldest first. The queue is linked through the
// ring's per-buffer records, so a connection can hold any number of buffers with no allocation.
struct HeldQueue {
    std::uint16_t head = 0xFFFF;
    std::uint16_t tail = 0xFFFF;
    std::uint16_t count = 0;
};

class BufferRing {
  public:
    static constexpr std::uint16_t kGroup = 0;
    static constexpr std::uint16_t kNone = 0xFFFF;

    struct Record {
        std::uint32_t len = 0;   // bytes the kernel put in the buffer
        std::uint32_t used = 0;  // bytes already parsed
        std::uint16_t next = kNone;
    };

    // `count` must be a power of two (at most 32768). `ring`: the io_uring to register them
    // with, or null for a free list (take()). Returns 0 or -errno.
    int init(io_uring* ring, lake::BasicArena& lake, unsigned count, std::size_t size);

    // Without a ring: a free buffer to receive into (kNone when all are lent). It is given back
    // with recycle(), or hold() + pop() once received into (lent() in between, as with a ring).
    std::uint16_t take() noexcept { return free_count_ == 0 ? kNone : free_list_[--free_count_]; }
    // A taken buffer that received nothing.
    void untake(std::uint16_t bid) noexcept { free_list_[free_count_++] = bid; }

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
        if (ring_ != nullptr)
            io_uring_buf_ring_add(ring_, buffer(bid), static_cast<unsigned>(size_), bid,
                                  io_uring_buf_ring_mask(count_), pending_++);
        else
            free_list_[free_count_++] = bid;
        --lent_;
    }
    // Appends a buffer the kernel filled with `len` bytes to a connection's queue.
    void hold(HeldQueue& q, std::uint16_t bid, std::uint32_t len) noexcept {
        records_[bid] = Record{len, 0, kNone};
        if (q.tail == kNone)
            q.head = bid;
        else
            records_[q.tail].next = bid;
        q.tail = bid;
        ++q.count;
    }
    Record& record(std::uint16_t bid) noexcept { return records_[bid]; }
    // Recycles the oldest buffer of the queue.
    void pop(HeldQueue& q) noexcept { recycle(detach(q)); }
    // Takes the oldest buffer out of the queue without recycling it (the caller recycles it).
    std::uint16_t detach(HeldQueue& q) noexcept {
        const std::uint16_t bid = q.head;
        q.head = records_[bid].next;
        if (q.head == kNone) q.tail = kNone;
        --q.count;
        return bid;
    }
    void drop_all(HeldQueue& q) noexcept {
        while (q.count != 0) pop(q);
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
    std::vector<Record> records_;
    std::vector<std::uint16_t> free_list_;  // without a ring
    unsigned free_count_ = 0;
};

}  // namespace lake::server
