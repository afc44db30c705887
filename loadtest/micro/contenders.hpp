// loadtest/micro/contenders.hpp — every allocator behind one tiny interface, so that each
// workload is written once and run identically against all of them.
//
//   alloc(n, align) -> void*   take n bytes
//   mark() / release_to_mark()   nested scope (arenas rewind; heaps free what the scope took)
//   reset()                       end of a round: free everything
//
// No contender zeroes memory on allocation or on reset: the same policy for all.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <memory_resource>
#include <vector>

#include <lake/lake.hpp>

namespace micro {

inline constexpr std::size_t kCapacity = std::size_t{256} << 20;  // room for the seed workload
inline constexpr std::size_t kBufferAlign = std::size_t{2} << 20;
// Every preallocated buffer starts on a 2 MiB boundary, as Lake's do: the seed workload touches
// 2,000 lines spread over 128 MB, and where a buffer starts decides how they share the caches.
inline char* buffer() { return static_cast<char*>(std::aligned_alloc(kBufferAlign, kCapacity)); }

// The limit nothing can beat: an aligned pointer bump with a bounds check, written here.
class RawBump {
  public:
    RawBump() : base_(buffer()) {}
    ~RawBump() { std::free(base_); }
    static constexpr const char* name() { return "raw bump"; }
    void* alloc(std::size_t n, std::size_t align) {
        const std::size_t at = (off_ + align - 1) & ~(align - 1);
        if (at + n > kCapacity) return nullptr;
        off_ = at + n;
        return base_ + at;
    }
    void mark() { marks_[depth_++] = off_; }
    void release_to_mark() { off_ = marks_[--depth_]; }
    void reset() { off_ = 0; }

  private:
    char* base_;
    std::size_t off_ = 0;
    std::size_t marks_[16] = {};
    std::size_t depth_ = 0;
};

// lake::Lake through its raw API (allocate / mark / reset_to_mark / reset).
class LakeRaw {
  public:
    static constexpr const char* name() { return "lake"; }
    void* alloc(std::size_t n, std::size_t align) { return lake_.allocate(n, align); }
    void mark() { (void)lake_.mark(); }
    void release_to_mark() { lake_.reset_to_mark(); }
    void reset() { lake_.reset(); }

  protected:
    lake::Lake lake_{kCapacity};
};

// lake::LakeView: the same API on a view split from a lake (what lake-server uses).
class LakeViewRaw {
  public:
    static constexpr const char* name() { return "lake view"; }
    void* alloc(std::size_t n, std::size_t align) { return view_.allocate(n, align); }
    void mark() { (void)view_.mark(); }
    void release_to_mark() { view_.reset_to_mark(); }
    void reset() { view_.reset(); }

  private:
    lake::Lake lake_{kCapacity + kBufferAlign};
    lake::LakeView view_{lake_, kCapacity, kBufferAlign};
};

// lake::Lake handing out DropletDyn handles (generation-guarded; leaked so they survive).
class LakeDroplet : public LakeRaw {
  public:
    static constexpr const char* name() { return "lake droplet"; }
    void* alloc(std::size_t n, std::size_t align) {
        lake::DropletDyn d = lake_.alloc_dyn(n, align);
        return d.leak().data();
    }
};

// std::pmr::monotonic_buffer_resource over a preallocated buffer (no upstream).
class PmrMonotonic {
  public:
    static constexpr const char* name() { return "std::pmr::monotonic"; }
    void* alloc(std::size_t n, std::size_t align) { return res_.allocate(n, align); }
    void mark() {}  // monotonic: no nested release
    void release_to_mark() {}
    void reset() { res_.release(); }

  private:
    std::unique_ptr<char, decltype(&std::free)> buffer_{buffer(), &std::free};
    std::pmr::monotonic_buffer_resource res_{buffer_.get(), kCapacity,
                                             std::pmr::null_memory_resource()};
};

// The process heap (glibc, or mimalloc/jemalloc/tcmalloc when the binary links one): every
// allocation is remembered and freed, LIFO, at the mark or the reset.
class Heap {
  public:
    Heap() { live_.reserve(1 << 16); }
    static const char* name();
    void* alloc(std::size_t n, std::size_t align) {
        void* p = align <= alignof(std::max_align_t)
                      ? std::malloc(n)
                      : std::aligned_alloc(align, (n + align - 1) & ~(align - 1));
        live_.push_back(p);
        return p;
    }
    void mark() { marks_[depth_++] = live_.size(); }
    void release_to_mark() { free_down_to(marks_[--depth_]); }
    void reset() { free_down_to(0); }

  private:
    void free_down_to(std::size_t keep) {
        while (live_.size() > keep) {
            std::free(live_.back());
            live_.pop_back();
        }
    }
    std::vector<void*> live_;
    std::size_t marks_[16] = {};
    std::size_t depth_ = 0;
};

}  // namespace micro
