// lake/arena.hpp — the allocation API shared by Lake and LakeView.
//
// Error style, everywhere in this library: a failure you can expect at run time (the arena is
// full, a snapshot is stale, the mark stack is full) is a value — an allocation tests false, a
// refused operation returns false. Nothing on these paths throws or allocates from the heap.
// Broken contracts (using a droplet after a rewind, an index out of range) are debug assertions.
//
// Not thread-safe: an arena and everything allocated from it belong to one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <new>
#include <span>
#include <type_traits>
#include <utility>

#include "core.hpp"
#include "droplet.hpp"
#include "slice.hpp"

namespace lake {

class LakeView;
class Sandbox;

class BasicArena {
  public:
    BasicArena(const BasicArena&) = delete;
    BasicArena& operator=(const BasicArena&) = delete;

    // ---- allocation ------------------------------------------------------------------------

    // N bytes aligned to Align (a power of two); an empty droplet when the arena is full.
    template <std::size_t N, std::size_t Align = 1>
    Droplet<N> alloc() noexcept {
        static_assert(is_power_of_two(Align), "alloc<N, Align>: Align must be a power of two");
        std::byte* p = core_.bump(N, Align);
        if (p == nullptr) return {};
        return Droplet<N>(&core_, p);
    }

    // n bytes aligned to `align` (a power of two); an empty droplet when full or misaligned.
    DropletDyn alloc_dyn(std::size_t n, std::size_t align = 1) noexcept {
        std::byte* p = core_.bump(n, align);
        if (p == nullptr) return {};
        return DropletDyn(&core_, p, n);
    }

    // Lets `write` fill the free space in place and keeps what it wrote, with no copy.
    // `write(std::span<std::byte> free)` returns how many bytes it used; a count larger than
    // free.size() means "it did not fit": nothing is kept and the droplet is empty. (That matches
    // snprintf, which returns the length it needed.)
    template <class F>
    DropletDyn process(F&& write,
                       std::size_t align = 1) noexcept(noexcept(write(std::span<std::byte>{}))) {
        std::size_t room = 0;
        std::byte* p = core_.open_free_space(align, room);
        if (p == nullptr) return {};
        const std::size_t used = static_cast<std::size_t>(write(std::span<std::byte>(p, room)));
        if (!core_.close_free_space(p, room, used)) return {};
        return DropletDyn(&core_, p, used);
    }

    // Constructs a T in place, aligned for T (over-aligned types too). nullptr when full.
    // T must be trivially destructible: the arena never runs destructors.
    template <class T, class... Args>
    T* alloc_struct(Args&&... args) noexcept(std::is_nothrow_constructible_v<T, Args...>) {
        static_assert(std::is_trivially_destructible_v<T>,
                      "alloc_struct<T>: the arena never runs destructors; use a trivially "
                      "destructible T, or allocate() and manage the lifetime yourself");
        void* p = core_.bump(sizeof(T), alignof(T));
        if (p == nullptr) return nullptr;
        return ::new (p) T(std::forward<Args>(args)...);
    }

    // n default-initialized T, aligned for T. An empty Slice when full or when n * sizeof(T)
    // overflows. T must be trivially destructible.
    template <class T>
    Slice<T> alloc_slice(std::size_t n) noexcept(std::is_nothrow_default_constructible_v<T>) {
        static_assert(std::is_trivially_destructible_v<T>,
                      "alloc_slice<T>: the arena never runs destructors");
        if (n > std::numeric_limits<std::size_t>::max() / sizeof(T)) {
            core_.count_overflow();
            return {};
        }
        void* p = core_.bump(n * sizeof(T), alignof(T));
        if (p == nullptr) return {};
        T* first = static_cast<T*>(p);
        std::uninitialized_default_construct_n(first, n);
        return Slice<T>(first, n);
    }

    // Raw bytes with no droplet: nullptr when full or `align` is not a power of two.
    void* allocate(std::size_t size, std::size_t align) noexcept { return core_.bump(size, align); }

    // Gives [p, p+size) back if it is the most recent allocation; otherwise does nothing
    // (the bytes come back at the next rewind). Returns whether it gave them back.
    bool deallocate(void* p, std::size_t size) noexcept {
        auto* b = static_cast<std::byte*>(p);
        if (b < core_.base() || b + size != core_.base() + core_.offset()) return false;
        core_.rewind_to(static_cast<std::size_t>(b - core_.base()));
        return true;
    }

    // ---- marks: a stack of saved offsets ---------------------------------------------------

    // Pushes the current offset. false when kMaxMarks marks are already pushed.
    [[nodiscard]] bool mark() noexcept { return core_.push_mark(); }
    // Pops the top mark and rewinds to it. false when there is no mark. If the arena is
    // already below the mark, only the pop happens.
    bool reset_to_mark() noexcept { return core_.pop_mark_and_rewind(); }
    // Moves the top mark up (or down) to the current offset. false when there is no mark.
    bool move_mark() noexcept { return core_.move_top_mark(); }
    std::size_t mark_depth() const noexcept { return core_.mark_depth(); }
    static constexpr std::size_t kMaxMarks = detail::ArenaCore::kMaxMarks;

    // ---- snapshots: positions as values ----------------------------------------------------

    Snapshot snapshot() const noexcept { return core_.snapshot(); }
    // Restores a snapshot. Refused (false, nothing changes) for a snapshot of another arena, of
    // an earlier generation (a reset happened since) or above the current offset.
    [[nodiscard]] bool rewind(const Snapshot& s) noexcept { return core_.rewind(s); }

    // Rewinds to offset 0, drops every mark and starts a new generation: every droplet and
    // snapshot taken before becomes invalid.
    void reset() noexcept { core_.reset(); }
    // reset(), and also wipes every byte ever handed out (whatever set_zeroing says).
    void clear() noexcept { core_.clear(); }

    // ---- sub-arenas and scopes (defined in view.hpp and sandbox.hpp) -----------------------

    // Carves `len` bytes (aligned to `align`) into a LakeView with its own offset, marks and
    // generation. The view tests false when the arena has no room.
    LakeView split(std::size_t len, std::size_t align = alignof(std::max_align_t)) noexcept;
    // Opens a sandbox: what is allocated until commit() is kept, otherwise rolled back.
    Sandbox sandbox() noexcept;

    // ---- settings and counters -------------------------------------------------------------

    // With zeroing on, bytes freed by reset, rewinds and give-backs are wiped with zeros.
    void set_zeroing(bool on) noexcept { core_.set_zeroing(on); }
    bool zeroing() const noexcept { return core_.zeroing(); }

    std::size_t used() const noexcept { return core_.offset(); }
    std::size_t remaining() const noexcept { return core_.capacity() - core_.offset(); }
    std::size_t capacity() const noexcept { return core_.capacity(); }
    Stats stats() const noexcept { return core_.stats(); }

    // The arena's whole buffer, allocated or not: for system calls on its pages (madvise,
    // mlock). Writing past used() through it is writing into memory the arena does not own.
    std::span<std::byte> region() const noexcept { return {core_.base(), core_.capacity()}; }

    // True when `p` points into this arena's buffer (allocated or not).
    bool owns(const void* p) const noexcept {
        auto* b = static_cast<const std::byte*>(p);
        return b >= core_.base() && b < core_.base() + core_.capacity();
    }

  protected:
    friend class LakeView;
    friend class Sandbox;

    BasicArena() noexcept = default;
    BasicArena(std::byte* base, std::size_t capacity) noexcept : core_(base, capacity) {}
    ~BasicArena() = default;

    detail::ArenaCore core_;
};

}  // namespace lake

#include "sandbox.hpp"
#include "view.hpp"
