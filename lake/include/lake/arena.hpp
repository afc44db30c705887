// lake/arena.hpp — the allocation API shared by Lake and LakeView.
//
// Error style, everywhere in this library: a failure you can expect at run time (the arena is
// full, a snapshot is stale, the mark stack is full, the view's parent freed its bytes, an
// allocation from inside a process() writer) is a value — an allocation tests false, a refused
// operation returns false. Nothing on these paths throws or allocates from the heap, in any
// build. Broken contracts (using a droplet's bytes after a rewind, an index out of range) are
// debug assertions.
//
// Lifetimes: a droplet, a view, a sandbox or a container using the pmr adapters must not outlive
// the arena it came from (their destructors read it). Moving an arena keeps its bytes, offset,
// marks and snapshots; droplets and views taken from it before the move report invalid after it.
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
#include "sandbox.hpp"
#include "slice.hpp"

namespace lake {

template <std::size_t MaxMarks, std::size_t RewindLevels>
class BasicLakeView;
// A view with the default bookkeeping: 16 marks, 16 exact rewind levels (see view.hpp).
using LakeView = BasicLakeView<16, 16>;

namespace detail {
// Closes a process() writer's free space as "nothing kept" if the writer throws.
class FreeSpaceGuard {
  public:
    FreeSpaceGuard(ArenaCore& core, std::byte* p, std::size_t room) noexcept
        : core_(&core), p_(p), room_(room) {}
    FreeSpaceGuard(const FreeSpaceGuard&) = delete;
    FreeSpaceGuard& operator=(const FreeSpaceGuard&) = delete;
    ~FreeSpaceGuard() {
        if (core_ != nullptr) core_->abandon_free_space(p_, room_);
    }
    bool close(std::size_t used) noexcept {
        ArenaCore* core = core_;
        core_ = nullptr;
        return core->close_free_space(p_, room_, used);
    }

  private:
    ArenaCore* core_;
    std::byte* p_;
    std::size_t room_;
};
}  // namespace detail

class BasicArena {
  public:
    BasicArena(const BasicArena&) = delete;
    BasicArena& operator=(const BasicArena&) = delete;

    // ---- allocation ------------------------------------------------------------------------

    // N bytes aligned to Align (a power of two); an empty droplet when the arena is full.
    template <std::size_t N, std::size_t Align = 1>
    [[nodiscard]] Droplet<N> alloc() noexcept {
        static_assert(is_power_of_two(Align), "alloc<N, Align>: Align must be a power of two");
        std::byte* p = core_.bump(N, Align);
        if (p == nullptr) return {};
        return Droplet<N>(&core_, p);
    }

    // n bytes aligned to `align` (a power of two); an empty droplet when full or misaligned.
    [[nodiscard]] DropletDyn alloc_dyn(std::size_t n, std::size_t align = 1) noexcept {
        std::byte* p = core_.bump(n, align);
        if (p == nullptr) return {};
        return DropletDyn(&core_, p, n);
    }

    // Lets `write` fill the free space in place and keeps what it wrote, with no copy.
    // `write(std::span<std::byte> free)` returns how many bytes it used; a count larger than
    // free.size() means "it did not fit": nothing is kept and the droplet is empty. (That matches
    // snprintf, which returns the length it needed.)
    //
    // While `write` runs it holds every free byte, so the arena is closed to everything else:
    // allocating from it (or from a view split inside the writer) fails and counts as an
    // overflow, a nested process() fails, and rewinds, give-backs and resets are refused or
    // ignored. If `write` throws, nothing is kept and the exception propagates. With zeroing on,
    // the bytes the writer could have written but did not keep are wiped (O(free space)).
    template <class F>
    [[nodiscard]] DropletDyn process(F&& write, std::size_t align = 1) noexcept(
        noexcept(write(std::span<std::byte>{}))) {
        std::size_t room = 0;
        std::byte* p = core_.open_free_space(align, room);
        if (p == nullptr) return {};
        detail::FreeSpaceGuard guard(core_, p, room);
        const std::size_t used = static_cast<std::size_t>(write(std::span<std::byte>(p, room)));
        if (!guard.close(used)) return {};
        return DropletDyn(&core_, p, used);
    }

    // Constructs a T in place, aligned for T (over-aligned types too). nullptr when full.
    // T must be trivially destructible: the arena never runs destructors.
    template <class T, class... Args>
    [[nodiscard]] T* alloc_struct(Args&&... args) noexcept(
        std::is_nothrow_constructible_v<T, Args...>) {
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
    [[nodiscard]] Slice<T> alloc_slice(std::size_t n) noexcept(
        std::is_nothrow_default_constructible_v<T>) {
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
    [[nodiscard]] void* allocate(std::size_t size, std::size_t align) noexcept {
        return core_.bump(size, align);
    }

    // Gives [p, p+size) back if it is the most recent allocation and lies at or above the
    // innermost mark or open sandbox; otherwise does nothing (the bytes come back at the next
    // rewind). Returns whether it gave them back. A raw block carries no birth epoch: the caller
    // vouches that it is still allocated (droplets check that themselves).
    bool deallocate(void* p, std::size_t size) noexcept {
        return core_.give_back(static_cast<std::byte*>(p), size, core_.epoch());
    }

    // ---- marks: a stack of saved offsets ---------------------------------------------------

    // Pushes the current offset. false when max_marks() marks are already pushed.
    [[nodiscard]] bool mark() noexcept { return core_.push_mark(); }
    // Pops the top mark and rewinds to it. false when there is no mark (or inside a process()
    // writer). If the arena is already below the mark, only the pop happens.
    bool reset_to_mark() noexcept { return core_.pop_mark_and_rewind(); }
    // Moves the top mark up (or down) to the current offset. false when there is no mark.
    bool move_mark() noexcept { return core_.move_top_mark(); }
    std::size_t mark_depth() const noexcept { return core_.mark_depth(); }
    // How many marks this arena can hold (a Lake: kMaxMarks; a view: its template argument).
    std::size_t max_marks() const noexcept { return core_.max_marks(); }
    // How many distinct rewind levels is_valid() tracks exactly (see staircase.hpp).
    std::size_t rewind_levels() const noexcept { return core_.rewind_levels(); }
    // The default mark-stack depth and exact rewind levels of a Lake and a LakeView.
    static constexpr std::size_t kMaxMarks = 16;
    static constexpr std::size_t kRewindLevels = 16;

    // ---- snapshots: positions as values ----------------------------------------------------

    [[nodiscard]] Snapshot snapshot() const noexcept { return core_.snapshot(); }
    // Restores a snapshot. Refused (false, nothing changes) for a snapshot of another arena, of
    // an earlier generation (a reset happened since), above the current offset, or inside a
    // process() writer.
    [[nodiscard]] bool rewind(const Snapshot& s) noexcept { return core_.rewind(s); }

    // Rewinds to offset 0, drops every mark and starts a new generation: every droplet, view and
    // snapshot taken before becomes invalid. Ignored inside a process() writer.
    void reset() noexcept { core_.reset(); }
    // reset(), and also wipes every byte ever writable through this arena (whatever
    // set_zeroing says), process() writers' scratch included.
    void clear() noexcept { core_.clear(); }

    // ---- sub-arenas and scopes -------------------------------------------------------------

    // Carves `len` bytes (aligned to `align`) into a view with its own offset, marks and
    // generation, inheriting this arena's zeroing setting. The view tests false when the arena
    // has no room. `View` picks the view's bookkeeping size, e.g. split<BasicLakeView<1, 2>>(n)
    // (defined in view.hpp, which <lake/lake.hpp> includes).
    template <class View = LakeView>
    [[nodiscard]] View split(std::size_t len,
                             std::size_t align = alignof(std::max_align_t)) noexcept {
        return View(*this, len, align);
    }
    // Opens a sandbox: what is allocated until commit() is kept, otherwise rolled back.
    [[nodiscard]] Sandbox sandbox() noexcept { return Sandbox(core_); }

    // ---- settings and counters -------------------------------------------------------------

    // With zeroing on, bytes freed by reset, rewinds, give-backs, a view's destruction, and the
    // unkept scratch of process() writers are wiped with zeros.
    void set_zeroing(bool on) noexcept { core_.set_zeroing(on); }
    bool zeroing() const noexcept { return core_.zeroing(); }

    std::size_t used() const noexcept { return core_.offset(); }
    std::size_t remaining() const noexcept { return core_.remaining(); }
    std::size_t capacity() const noexcept { return core_.capacity(); }
    Stats stats() const noexcept { return core_.stats(); }

    // The arena's whole buffer, allocated or not: for system calls on its pages (madvise,
    // mlock). Writing past used() through it is writing into memory the arena does not own.
    std::span<std::byte> region() const noexcept { return {core_.base(), core_.capacity()}; }

    // True when `p` points into this arena's buffer (allocated or not).
    bool owns(const void* p) const noexcept {
        const auto at = reinterpret_cast<std::uintptr_t>(p);
        const auto first = reinterpret_cast<std::uintptr_t>(core_.base());
        return core_.base() != nullptr && at >= first && at - first < core_.capacity();
    }

  protected:
    template <std::size_t, std::size_t>
    friend class BasicLakeView;

    // An empty arena with the owner's bookkeeping storage.
    template <std::size_t M, std::size_t L>
    explicit BasicArena(detail::Bookkeeping<M, L>& book) noexcept : BasicArena(nullptr, 0, book) {}
    template <std::size_t M, std::size_t L>
    BasicArena(std::byte* base, std::size_t capacity, detail::Bookkeeping<M, L>& book) noexcept
        : core_(base, capacity, book.mark_storage(), M, book.step_storage(), L) {}
    ~BasicArena() = default;

    detail::ArenaCore core_;
};

}  // namespace lake
