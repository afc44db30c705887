// lake/pmr.hpp — standard-library adapters: a std::pmr::memory_resource and an allocator.
//
// The standard containers expect allocation failure to throw, so these adapters throw
// std::bad_alloc when the arena is full: the one place where this library throws after
// construction, because the standard interface demands it. Deallocation gives the bytes back
// only when they are the arena's most recent allocation; otherwise they return at the next
// rewind or reset. Containers must not outlive a rewind below their storage.
#pragma once

#include <cstddef>
#include <memory_resource>
#include <new>

#include "arena.hpp"

namespace lake {

// A memory_resource over a Lake or LakeView: `std::pmr::vector<int> v(&resource);`.
class MemoryResource final : public std::pmr::memory_resource {
  public:
    explicit MemoryResource(BasicArena& arena) noexcept : arena_(&arena) {}
    BasicArena& arena() const noexcept { return *arena_; }

  private:
    void* do_allocate(std::size_t bytes, std::size_t align) override {
        void* p = arena_->allocate(bytes, align);
        if (p == nullptr) throw std::bad_alloc();
        return p;
    }
    void do_deallocate(void* p, std::size_t bytes, std::size_t) noexcept override {
        (void)arena_->deallocate(p, bytes);
    }
    bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
#if defined(__cpp_rtti) || defined(__GXX_RTTI)
        auto* o = dynamic_cast<const MemoryResource*>(&other);
        return o != nullptr && o->arena_ == arena_;
#else
        // Without RTTI the other resource's type cannot be asked; only identity is certain.
        // (Two resources over one arena then compare unequal: containers copy instead of
        // adopting each other's storage, which is correct, only slower.)
        return this == &other;
#endif
    }

    BasicArena* arena_;
};

// A standard allocator over a Lake or LakeView, for containers without pmr:
// `std::vector<int, lake::Allocator<int>> v(lake::Allocator<int>(arena));`.
template <class T>
class Allocator {
  public:
    using value_type = T;

    explicit Allocator(BasicArena& arena) noexcept : arena_(&arena) {}
    template <class U>
    Allocator(const Allocator<U>& other) noexcept : arena_(&other.arena()) {}

    T* allocate(std::size_t n) {
        if (n > SIZE_MAX / sizeof(T)) throw std::bad_alloc();
        void* p = arena_->allocate(n * sizeof(T), alignof(T));
        if (p == nullptr) throw std::bad_alloc();
        return static_cast<T*>(p);
    }
    void deallocate(T* p, std::size_t n) noexcept { (void)arena_->deallocate(p, n * sizeof(T)); }

    BasicArena& arena() const noexcept { return *arena_; }
    template <class U>
    bool operator==(const Allocator<U>& other) const noexcept {
        return arena_ == &other.arena();
    }

  private:
    BasicArena* arena_;
};

}  // namespace lake
