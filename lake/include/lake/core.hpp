// lake/core.hpp — the state every arena shares: the bump, marks, floors, generation, lineage.
//
// Lake (owns its memory) and LakeView (borrows a block of a parent arena) both wrap one
// ArenaCore, so the bump, the mark stack and the rules for rewinding exist exactly once. Which
// handles a rewind killed is the Staircase's business (staircase.hpp); the storage for the mark
// stack and the staircase belongs to the arena object, sized by it (see Bookkeeping).
//
// Rules the core keeps in every build, not only with debug checks:
// - A view is alive only while every ancestor still holds its bytes. Each arena keeps its live
//   child views in a list ordered by address (a split always lands above every live child), so
//   a rewind kills the children above its target from the tail, a reset or a move kills them
//   all, and each death passes down to grandchildren at once. A dead view's limit is null: it
//   hands out nothing at no cost to the bump, and never writes (wipes) or poisons memory, which
//   may belong to someone else now.
// - While a process() writer runs, the arena is closed: allocations, rewinds and give-backs
//   from inside the writer fail (the writer holds every free byte).
// - Marks and open sandboxes are floors: a give-back never moves the offset below the innermost.
// - With zeroing on, no byte ever writable through the arena survives its release.
//
// Not thread-safe: an arena and everything allocated from it belong to one thread at a time.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "align.hpp"
#include "config.hpp"
#include "staircase.hpp"

namespace lake {

namespace detail {
class ArenaCore;
}

// Counters describing an arena. `overflows` counts every refused allocation (no room, a bad
// alignment, a dead view, or an allocation from inside a process() writer); `generation` counts
// resets. `allocations` counts successful ones where kCountAllocations is on (debug builds, or
// LAKE_COUNT_ALLOCATIONS=1), and stays 0 elsewhere: the increment was the one memory write the
// bump makes beyond its offset.
struct Stats {
    std::size_t used = 0;
    std::size_t remaining = 0;
    std::size_t capacity = 0;
    std::size_t high_water = 0;
    std::uint64_t generation = 0;
    std::uint64_t allocations = 0;
    std::uint64_t overflows = 0;
};

// A saved arena position. Cheap to copy; rewind(snapshot) restores it if it is still meaningful.
// It names its arena by a number unique to the process, not by address, so a snapshot of a
// destroyed arena is never accepted by another one built at the same address.
class Snapshot {
  public:
    Snapshot() = default;
    std::size_t offset() const noexcept { return offset_; }
    std::uint64_t generation() const noexcept { return generation_; }

  private:
    friend class detail::ArenaCore;
    std::uint64_t arena_id_ = 0;  // 0: no arena
    std::size_t offset_ = 0;
    std::uint64_t generation_ = 0;
};

namespace detail {

// Storage for an arena's mark stack and staircase, sized at compile time by its owner.
template <std::size_t MaxMarks, std::size_t RewindLevels>
struct Bookkeeping {
    static_assert(RewindLevels >= 1, "an arena needs at least one rewind level");
    // Left uninitialized on purpose: only entries below the counts are ever read.
    std::array<std::size_t, MaxMarks> marks;
    std::array<KillStep, RewindLevels> steps;

    std::size_t* mark_storage() noexcept { return marks.data(); }
    KillStep* step_storage() noexcept { return steps.data(); }
};

// A number no other arena of this process has had (0 is never used).
inline std::uint64_t next_arena_id() noexcept {
    static std::atomic<std::uint64_t> last{0};
    return last.fetch_add(1, std::memory_order_relaxed) + 1;
}

class ArenaCore {
  public:
    // An empty arena (capacity 0) with no storage for marks or steps.
    ArenaCore() noexcept = default;
    // An arena over [base, base + capacity), with the owner's bookkeeping storage.
    ArenaCore(std::byte* base, std::size_t capacity, std::size_t* marks, std::size_t max_marks,
              KillStep* steps, std::size_t levels) noexcept
        : cur_(base),
          limit_(base != nullptr ? base + capacity : nullptr),
          base_(base),
          staircase_(steps, levels),
          marks_(marks),
          end_(limit_),
          id_(next_arena_id()),
          max_marks_(max_marks < UINT32_MAX ? max_marks : UINT32_MAX) {
        poison(base_, capacity);
    }
    ArenaCore(const ArenaCore&) = delete;
    ArenaCore& operator=(const ArenaCore&) = delete;
    // Children still alive die (a view that outlives its parent is dead, not dangling) and a
    // view still linked leaves its parent's list.
    ~ArenaCore() {
        kill_children();
        detach();
    }

    // Takes over `from` (a moved arena): its bytes, offset, marks, snapshots, floors, lineage and
    // counters, with the used part of its bookkeeping copied into this object's storage. `from`
    // becomes empty: droplets and views that pointed at it report invalid and are refused.
    void adopt(ArenaCore& from) noexcept {
        LAKE_ASSERT(!from.in_process_, "an arena moved while its process() writer runs");
        LAKE_ASSERT(max_marks_ >= from.mark_count_, "an arena moved into a smaller mark stack");
        kill_children();  // this object's own earlier life ends here
        if (from.mark_count_ != 0)
            std::memcpy(marks_, from.marks_, from.mark_count_ * sizeof *marks_);
        staircase_.adopt(from.staircase_);
        from.kill_children();  // views taken before the move end, like droplets
        cur_ = from.cur_;
        limit_ = from.limit_;
        allocations_ = from.allocations_;
        overflows_ = from.overflows_;
        base_ = from.base_;
        end_ = from.end_;
        take_place_of(from);
        high_water_ = from.high_water_;
        exposed_ = from.exposed_;
        id_ = from.id_;
        generation_ = from.generation_;
        mark_count_ = from.mark_count_;
        sandbox_floor_ = from.sandbox_floor_;
        zeroing_ = from.zeroing_;
        from.become_empty();
    }

    std::byte* base() const noexcept { return base_; }
    std::size_t offset() const noexcept { return static_cast<std::size_t>(cur_ - base_); }
    std::size_t capacity() const noexcept { return static_cast<std::size_t>(end_ - base_); }
    // capacity() - offset(), from the limit when it is the end (end_ lies in a colder line).
    std::size_t remaining() const noexcept {
        return static_cast<std::size_t>((limit_ != nullptr ? limit_ : end_) - cur_);
    }
    std::uint64_t epoch() const noexcept { return staircase_.epoch(); }
    std::uint64_t generation() const noexcept { return generation_; }
    std::size_t max_marks() const noexcept { return max_marks_; }
    std::size_t rewind_levels() const noexcept { return staircase_.capacity(); }

    // ---- lineage: a view's block in its parent ---------------------------------------------

    // Makes this arena (a new view) the last child of `parent`, its block ending at `end`.
    void attach_to(ArenaCore& parent, std::size_t end) noexcept {
        parent_ = &parent;
        parent_end_ = end;
        prev_ = parent.last_child_;
        next_ = nullptr;
        (prev_ != nullptr ? prev_->next_ : parent.first_child_) = this;
        parent.last_child_ = this;
    }
    // False once an ancestor freed (rewound below, reset or moved) this view's bytes, or was
    // destroyed.
    bool origin_alive() const noexcept { return !dead_; }
    // True when this arena may touch its bytes: it has some, and every ancestor still holds them.
    bool holds_memory() const noexcept { return base_ != nullptr && !dead_; }
    // Leaves the parent: a live view's block goes back to it (if it is the parent's most recent
    // allocation and no floor is in the way), and the link is cut. A block that stays allocated
    // in the parent belongs to no one from here on: poisoned for ASan, so that a pointer that
    // outlived its view is reported even then.
    void leave_parent() noexcept {
        if (parent_ == nullptr) return;
        ArenaCore* parent = parent_;
        detach();
        if (base_ != nullptr && !parent->give_back(base_, capacity(), parent->epoch()) && !dead_)
            poison(base_, capacity());
    }

    // ---- allocation ------------------------------------------------------------------------

    // The hot path: aligns the current address, bumps the offset, returns the block or nullptr.
    // `limit_` is the end of the buffer, or null while a process() writer holds the free space
    // or once the view is dead, which makes those allocations fail here with no extra test.
    std::byte* bump(std::size_t size, std::size_t align) noexcept {
        // Pointer arithmetic on the current and end addresses: two compares and two stores.
        const auto cur = reinterpret_cast<std::uintptr_t>(cur_);
        const auto end = reinterpret_cast<std::uintptr_t>(limit_);
        const std::uintptr_t at = (cur + (align - 1)) & ~static_cast<std::uintptr_t>(align - 1);
        if (at > end || size > end - at || !is_power_of_two(align)) [[unlikely]] {
            ++overflows_;
            return nullptr;
        }
        std::byte* p = cur_ + (at - cur);
        cur_ = p + size;
        if constexpr (kCountAllocations) ++allocations_;
        unpoison(p, size);
        return p;
    }

    // Gives back the block [p, p+size) born in epoch `born`: only when it is the most recent
    // allocation, still alive, at or above the innermost floor (mark or open sandbox), and no
    // process() writer runs. The one give-back path: droplets, deallocate() and views use it.
    bool give_back(const std::byte* p, std::size_t size, std::uint64_t born) noexcept {
        if (base_ == nullptr || in_process_) return false;
        const auto at = reinterpret_cast<std::uintptr_t>(p);
        const auto first = reinterpret_cast<std::uintptr_t>(base_);
        const auto cur = reinterpret_cast<std::uintptr_t>(cur_);
        if (at < first || at > cur || cur - at != size) return false;
        const std::size_t begin = at - first;
        if (begin < floor() || dead_ || !staircase_.alive(begin + size, born)) return false;
        rewind_to(begin);
        return true;
    }

    // True when the block [p, p+size), born in epoch `born`, still belongs to its holder: the
    // arena is not empty (moved from), no rewind of it went below the block's end and every
    // ancestor still holds the arena's bytes.
    bool holds(const std::byte* p, std::size_t size, std::uint64_t born) const noexcept {
        if (base_ == nullptr || dead_) return false;
        const std::size_t end = static_cast<std::size_t>(p - base_) + size;
        return staircase_.alive(end, born);
    }

    // A droplet or view now points into this arena: rewinds must record what they kill.
    void track() noexcept { staircase_.track(); }

    // ---- rewinds ---------------------------------------------------------------------------

    // Moves the offset down to `target` (no-op when target >= offset). Frees (with zeroing,
    // wipes) the bytes above it and kills every handle that ended above it. Refused while a
    // process() writer runs.
    bool rewind_to(std::size_t target) noexcept {
        if (in_process_) return false;
        rewind_unchecked(target);
        return true;
    }

    // Offset 0, no marks, a new generation: every handle and snapshot taken before is dead.
    // Ignored while a process() writer runs.
    void reset() noexcept {
        if (in_process_) return;
        note_high_water();
        kill_children();
        release(0, offset());
        cur_ = base_;
        ++generation_;
        mark_count_ = 0;
        staircase_.kill_all();
    }

    // reset(), then wipes every byte ever writable through this arena, whatever the zeroing
    // setting. Ignored while a process() writer runs.
    void clear() noexcept {
        if (in_process_) return;
        note_high_water();
        wipe(0, touched());
        reset();
    }

    // ---- marks and floors ------------------------------------------------------------------

    bool push_mark() noexcept {
        if (mark_count_ == max_marks_) return false;
        marks_[mark_count_++] = offset();
        return true;
    }
    bool pop_mark_and_rewind() noexcept {
        if (mark_count_ == 0 || in_process_) return false;
        rewind_unchecked(marks_[--mark_count_]);
        return true;
    }
    bool move_top_mark() noexcept {
        if (mark_count_ == 0) return false;
        marks_[mark_count_ - 1] = offset();
        return true;
    }
    std::size_t mark_depth() const noexcept { return mark_count_; }

    // Opens a sandbox floor at the current offset; returns the floor it replaces.
    std::size_t open_sandbox_floor() noexcept {
        const std::size_t previous = sandbox_floor_;
        sandbox_floor_ = offset();
        return previous;
    }
    void close_sandbox_floor(std::size_t previous) noexcept { sandbox_floor_ = previous; }

    // The innermost floor a give-back may not cross.
    std::size_t floor() const noexcept {
        const std::size_t mark = mark_count_ != 0 ? marks_[mark_count_ - 1] : 0;
        return mark > sandbox_floor_ ? mark : sandbox_floor_;
    }

    // ---- snapshots -------------------------------------------------------------------------

    Snapshot snapshot() const noexcept {
        Snapshot s;
        s.arena_id_ = id_;
        s.offset_ = offset();
        s.generation_ = generation_;
        return s;
    }
    // Refuses snapshots of another arena, of an earlier generation, above the current offset, or
    // while a process() writer runs.
    bool rewind(const Snapshot& s) noexcept {
        if (s.arena_id_ != id_ || id_ == 0 || s.generation_ != generation_ || s.offset_ > offset())
            return false;
        return rewind_to(s.offset_);
    }

    // ---- process(): the writer holds the free space ----------------------------------------

    // Opens every free byte (aligned to `align`) for a writer: unpoisons it and closes the arena
    // to everything else until close_free_space(). nullptr (counted as an overflow) when the
    // alignment is bad, the view is dead, or a writer already runs.
    std::byte* open_free_space(std::size_t align, std::size_t& room) noexcept {
        room = 0;
        if (in_process_ || !is_power_of_two(align) || !holds_memory()) {
            ++overflows_;
            return nullptr;
        }
        const auto cur = reinterpret_cast<std::uintptr_t>(cur_);
        const std::size_t pad = static_cast<std::size_t>(-cur) & (align - 1);
        const std::size_t free = static_cast<std::size_t>(end_ - cur_);
        if (pad > free) {
            ++overflows_;
            return nullptr;
        }
        room = free - pad;
        unpoison(cur_ + pad, room);
        exposed_ = capacity();  // the writer may have written anywhere up to the end
        in_process_ = true;
        limit_ = nullptr;
        return cur_ + pad;
    }
    // Keeps `used` bytes of the block opened by open_free_space, wipes the rest when zeroing is
    // on, and poisons it. A `used` larger than `room` means the writer ran out of space: nothing
    // is kept, and it counts as an overflow.
    bool close_free_space(std::byte* p, std::size_t room, std::size_t used) noexcept {
        if (used > room) {
            abandon_free_space(p, room);
            return false;
        }
        finish_free_space(p + used, room - used);
        cur_ = p + used;
        if constexpr (kCountAllocations) ++allocations_;
        return true;
    }
    // Closes the block opened by open_free_space keeping nothing (the writer threw or did not
    // fit); counts as an overflow.
    void abandon_free_space(std::byte* p, std::size_t room) noexcept {
        ++overflows_;
        finish_free_space(p, room);
    }

    // ---- settings and counters -------------------------------------------------------------

    void set_zeroing(bool on) noexcept { zeroing_ = on; }
    bool zeroing() const noexcept { return zeroing_; }
    bool in_process() const noexcept { return in_process_; }

    Stats stats() const noexcept {
        Stats s;
        s.used = offset();
        s.remaining = capacity() - s.used;
        s.capacity = capacity();
        s.high_water = high_water_ > s.used ? high_water_ : s.used;
        s.generation = generation_;
        s.allocations = allocations_;
        s.overflows = overflows_;
        return s;
    }
    void count_overflow() noexcept { ++overflows_; }

    // How far bytes were ever writable through this arena: handed out, or opened to a writer.
    std::size_t touched() const noexcept {
        std::size_t t = high_water_ > offset() ? high_water_ : offset();
        return exposed_ > t ? exposed_ : t;
    }
    // Zeroes [from, from + len) if this arena still holds its memory (ASan poisoning kept).
    void wipe(std::size_t from, std::size_t len) noexcept {
        if (len == 0 || !holds_memory()) return;
        unpoison(base_ + from, len);  // a child view may have poisoned part of it
        std::memset(base_ + from, 0, len);
        poison(base_ + from, len);
    }

  private:
    void note_high_water() noexcept {
        if (offset() > high_water_) high_water_ = offset();
    }

    // Frees [from, from + len): wiped when zeroing, poisoned for ASan — only while this arena
    // still holds its memory; a dead view's bytes belong to someone else now.
    void release(std::size_t from, std::size_t len) noexcept {
        if constexpr (!kAsanPoisoning) {
            if (!zeroing_) return;  // nothing to do to the bytes themselves
        }
        if (len == 0 || !holds_memory()) return;
        if (zeroing_) {
            unpoison(base_ + from, len);  // a child view may have poisoned part of it
            std::memset(base_ + from, 0, len);
        }
        poison(base_ + from, len);
    }

    // Ends a process() writer's hold: the arena opens again (unless it died meanwhile, killed by
    // a parent's reset from inside the writer) and the unkept scratch is wiped and poisoned.
    void finish_free_space(std::byte* scratch, std::size_t len) noexcept {
        in_process_ = false;
        limit_ = dead_ ? nullptr : end_;
        if (len > static_cast<std::size_t>(PTRDIFF_MAX)) return;  // never: a pointer difference
        if (zeroing_ && len != 0) std::memset(scratch, 0, len);
        poison(scratch, len);
    }

    // rewind_to() once a process() writer is known not to run.
    // The common case, a give-back of the last block with no view above it and no handle to
    // track, stays a few compares and a store; the rest is out of line.
    void rewind_unchecked(std::size_t target) noexcept {
        const std::size_t offset = this->offset();
        if (target >= offset) return;
        note_high_water();
        if (last_child_ != nullptr && last_child_->parent_end_ > target) [[unlikely]]
            kill_children_above(target);
        release(target, offset - target);
        staircase_.record_kill(target + 1);
        cur_ = base_ + target;
    }
    LAKE_COLD void kill_children_above(std::size_t target) noexcept {
        while (last_child_ != nullptr && last_child_->parent_end_ > target) last_child_->die();
    }

    // ---- lineage internals ----

    // This view's bytes are gone: no more allocations, no more writes; its children die too.
    void die() noexcept {
        detach();
        dead_ = true;
        limit_ = nullptr;
        kill_children();
    }
    void kill_children() noexcept {
        while (last_child_ != nullptr) last_child_->die();
    }
    // Unlinks this view from its parent's child list.
    void detach() noexcept {
        if (parent_ == nullptr) return;
        (prev_ != nullptr ? prev_->next_ : parent_->first_child_) = next_;
        (next_ != nullptr ? next_->prev_ : parent_->last_child_) = prev_;
        parent_ = prev_ = next_ = nullptr;
    }
    // A moved view takes `from`'s place among its parent's children (or its death).
    void take_place_of(ArenaCore& from) noexcept {
        detach();
        dead_ = from.dead_;
        parent_end_ = from.parent_end_;
        parent_ = from.parent_;
        prev_ = from.prev_;
        next_ = from.next_;
        if (parent_ != nullptr) {
            (prev_ != nullptr ? prev_->next_ : parent_->first_child_) = this;
            (next_ != nullptr ? next_->prev_ : parent_->last_child_) = this;
        }
        from.parent_ = from.prev_ = from.next_ = nullptr;
    }
    void become_empty() noexcept {
        base_ = cur_ = limit_ = end_ = nullptr;
        parent_ = prev_ = next_ = nullptr;
        dead_ = false;
        id_ = 0;
        mark_count_ = 0;
        sandbox_floor_ = 0;
        high_water_ = exposed_ = 0;
        zeroing_ = false;
    }

    // What a request's worth of bump, give-back and reset touches comes first, in the first 64
    // bytes (one cache line when the arena object is aligned to one, as a server's per-connection
    // views are): a server cycling through thousands of connections misses on every line of
    // their arenas' bookkeeping that it touches. A give-back also reads the floor and the epoch
    // in the second line; the rest is lineage, bookkeeping storage and counters.
    std::byte* cur_ = nullptr;    // the next free byte
    std::byte* limit_ = nullptr;  // end_, or null while a process() writer runs or once dead
    std::byte* base_ = nullptr;
    std::size_t high_water_ = 0;
    ArenaCore* last_child_ = nullptr;
    std::uint64_t generation_ = 0;
    std::uint32_t mark_count_ = 0;  // at most max_marks_, which the constructor caps to fit
    bool zeroing_ = false;
    bool in_process_ = false;
    bool dead_ = false;
    Staircase staircase_;  // starts with its tracking flag, which a reset reads
    std::size_t sandbox_floor_ = 0;
    std::size_t* marks_ = nullptr;
    std::byte* end_ = nullptr;
    // Lineage: a view's parent, its siblings in address order, and this arena's own children.
    ArenaCore* parent_ = nullptr;
    ArenaCore* prev_ = nullptr;
    ArenaCore* next_ = nullptr;
    ArenaCore* first_child_ = nullptr;
    std::size_t parent_end_ = 0;  // where this view's block ends in its parent
    std::size_t exposed_ = 0;     // how far process() writers could write
    std::uint64_t id_ = 0;
    std::size_t max_marks_ = 0;
    std::uint64_t allocations_ = 0;
    std::uint64_t overflows_ = 0;
};

}  // namespace detail
}  // namespace lake
