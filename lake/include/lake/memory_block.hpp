// lake/memory_block.hpp — the one page-aligned buffer a Lake owns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>

#if __has_include(<sys/mman.h>) && __has_include(<unistd.h>)
#include <sys/mman.h>
#include <unistd.h>
#define LAKE_HAVE_MMAP 1
#else
#define LAKE_HAVE_MMAP 0
#endif

namespace lake {

struct LakeOptions {
    // Back the buffer with huge pages: MAP_HUGETLB if the system has reserved some, otherwise a
    // transparent-huge-page hint. Falls back to normal pages silently; see MemoryBlock::huge().
    bool huge_pages = false;
    // Touch every page at construction, so the first requests do not pay the page faults.
    bool prefault = false;
};

namespace detail {

// Allocates once (mmap where available, aligned operator new elsewhere) and frees in the
// destructor. The mapping is rounded up to whole pages; `size()` is what was asked for.
class MemoryBlock {
  public:
    static constexpr std::size_t kHugePage = std::size_t{2} << 20;
    // The largest buffer asked for: far beyond any address space, and small enough that rounding
    // it up and adding a huge page of slack for alignment cannot overflow.
    static constexpr std::size_t kMaxSize = PTRDIFF_MAX / 2;

    // Throws std::bad_alloc when the memory cannot be had (construction is never a hot path).
    // Sizes beyond kMaxSize throw before any arithmetic on them, so nothing can wrap.
    MemoryBlock(std::size_t size, LakeOptions opts) : size_(size) {
        if (size > kMaxSize) throw std::bad_alloc();
#if LAKE_HAVE_MMAP
        const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
        mapped_ = round_up(size == 0 ? 1 : size, opts.huge_pages ? kHugePage : page);
        const int flags = MAP_PRIVATE | MAP_ANONYMOUS | (opts.prefault ? MAP_POPULATE : 0);
        void* p = MAP_FAILED;
        if (opts.huge_pages) {
            p = ::mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, flags | MAP_HUGETLB, -1, 0);
            huge_ = p != MAP_FAILED;
        }
        if (p == MAP_FAILED) {
            p = map_aligned(mapped_, flags);
            if (p == MAP_FAILED) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
            if (opts.huge_pages) huge_ = ::madvise(p, mapped_, MADV_HUGEPAGE) == 0;
#endif
        }
        data_ = static_cast<std::byte*>(p);
#else
        mapped_ = round_up(size == 0 ? 1 : size, 4096);
        data_ = static_cast<std::byte*>(::operator new (mapped_, std::align_val_t{4096}));
        if (opts.prefault)
            for (std::size_t i = 0; i < mapped_; i += 4096) data_[i] = std::byte{0};
#endif
    }
    ~MemoryBlock() {
#if LAKE_HAVE_MMAP
        ::munmap(data_, mapped_);
#else
        ::operator delete (data_, std::align_val_t{4096});
#endif
    }
    MemoryBlock(const MemoryBlock&) = delete;
    MemoryBlock& operator=(const MemoryBlock&) = delete;

    std::byte* data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }
    // True when huge pages were obtained or requested from the kernel.
    bool huge() const noexcept { return huge_; }

  private:
#if LAKE_HAVE_MMAP
    // Buffers of 2 MiB or more start on a 2 MiB boundary: transparent huge pages can back them,
    // and two lakes of the same size sit identically in the caches (a fair, repeatable layout).
    static void* map_aligned(std::size_t len, int flags) {
        if (len < kHugePage) return ::mmap(nullptr, len, PROT_READ | PROT_WRITE, flags, -1, 0);
        void* raw = ::mmap(nullptr, len + kHugePage, PROT_READ | PROT_WRITE, flags, -1, 0);
        if (raw == MAP_FAILED) return raw;
        auto* first = static_cast<std::byte*>(raw);
        const auto addr = reinterpret_cast<std::uintptr_t>(raw);
        const std::size_t head = (kHugePage - addr % kHugePage) % kHugePage;
        std::byte* aligned = first + head;
        if (head > 0) ::munmap(first, head);
        if (kHugePage - head > 0) ::munmap(aligned + len, kHugePage - head);
        return aligned;
    }
#endif

    static std::size_t round_up(std::size_t v, std::size_t to) {
        if (v > SIZE_MAX - (to - 1)) throw std::bad_alloc();
        return (v + to - 1) / to * to;
    }

    std::byte* data_ = nullptr;
    std::size_t size_ = 0;
    std::size_t mapped_ = 0;
    bool huge_ = false;
};

}  // namespace detail
}  // namespace lake
