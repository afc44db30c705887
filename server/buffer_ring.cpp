#include "buffer_ring.hpp"

#include <cerrno>
#include <cstring>

namespace lake::server {

int BufferRing::init(io_uring* ring, lake::BasicArena& lake, unsigned count, std::size_t size) {
    if (!lake::is_power_of_two(count) || count > 32768) return -EINVAL;
    base_ = static_cast<char*>(lake.allocate(count * size, 4096));
    if (base_ == nullptr) return -ENOMEM;
    size_ = size;
    count_ = count;
    records_.assign(count, Record{});
    // Fault the buffers in now: the ring cycles through all of them under load anyway, and this
    // keeps page faults off the request path and the worker's footprint flat from the start.
    std::memset(base_, 0, count * size);
    if (ring == nullptr) {
        free_list_.resize(count);
        for (unsigned i = 0; i < count; ++i)
            free_list_[i] = static_cast<std::uint16_t>(count - 1 - i);
        free_count_ = count;
        return 0;
    }

    ring_ = static_cast<io_uring_buf_ring*>(lake.allocate(count * sizeof(io_uring_buf), 4096));
    if (ring_ == nullptr) return -ENOMEM;
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uint64_t>(ring_);
    reg.ring_entries = count;
    reg.bgid = kGroup;
    if (int err = io_uring_register_buf_ring(ring, &reg, 0); err != 0) return err;
    io_uring_buf_ring_init(ring_);
    for (unsigned i = 0; i < count; ++i)
        io_uring_buf_ring_add(ring_, buffer(static_cast<std::uint16_t>(i)),
                              static_cast<unsigned>(size), static_cast<unsigned short>(i),
                              io_uring_buf_ring_mask(count), static_cast<int>(i));
    io_uring_buf_ring_advance(ring_, static_cast<int>(count));
    return 0;
}

}  // namespace lake::server
